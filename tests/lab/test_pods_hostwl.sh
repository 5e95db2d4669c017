#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_pods_hostwl.sh - a hostNetwork workload identified by cgroup, with
# the daemon: pod "agent" has cgroup = "/sluice-lab-ID.slice/docker-*.scope"
# (the way docker's systemd driver names a container's cgroup) and an
# ingress policy that allows UDP 5353 only.  The cgroup is made after the
# daemon started (a container starting), and a listener runs inside it in
# the node's network namespace, on the node's own address.  From the
# client: UDP to the agent's port is delivered and counted as the agent's,
# exactly; TCP to the agent's listener is dropped by its policy; traffic to
# a listener outside the cgroup, on the same address, is "host" and never
# the agent's.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$here/lab.sh"

# shellcheck source=tests/lab/report.sh
source "$here/report.sh"

SOCK="$LAB_TMP/ctl.sock"
CONF="$LAB_TMP/hostwl.conf"
LOG="$LAB_TMP/daemon.log"
CG_ROOT=
SLICE=
SCOPE=

test_cleanup() {
	local pid
	if [[ -n $SCOPE && -e $SCOPE/cgroup.procs ]]; then
		while read -r pid; do
			kill "$pid" 2>/dev/null
			echo "$pid" >"$CG_ROOT/cgroup.procs" 2>/dev/null
		done <"$SCOPE/cgroup.procs"
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$SCOPE" 2>/dev/null && break
			sleep 0.1
		done
	fi
	[[ -n $SLICE ]] && rmdir "$SLICE" 2>/dev/null
	lab_down
	return 0
}
report_traps test_pods_hostwl

node() { nsenter --net="/run/netns/$LAB_NS_NODE" "$@"; }
sluicectl() { node "$LAB_SLUICE" --socket "$SOCK" "$@"; }

CG_ROOT=$(lab_cgroup2_root)
if [[ -z $CG_ROOT ]]; then
	bail "cgroup2" "no cgroup2 mount: hostNetwork workloads need one"
fi
setup_or_bail "lab-up" lab_up
cat >"$CONF" <<CONF
interfaces = ( { name = "$LAB_IF_NODE"; } );
pods = (
  { name = "agent"; cgroup = "/sluice-lab-$LAB_ID.slice/docker-*.scope";
    labels = { app = "agent"; };
    ingress = { default = "deny"; allow = ( { protocol = "udp"; ports = 5353; } ); }; }
);
stats = { listen = ""; };
control = { socket = "$SOCK"; pin_dir = "$LAB_PIN_DIR"; };
CONF
chmod 0644 "$CONF"

check_daemon_start "daemon-runs" "$CONF" "$LOG" --socket "$SOCK"

# a container starts: its cgroup appears while the daemon runs
SLICE="$CG_ROOT/sluice-lab-$LAB_ID.slice"
SCOPE="$SLICE/docker-$(printf '%016x' $$ $RANDOM $LAB_ID $$ | head -c 64).scope"
mkdir -p "$SCOPE"
matched=0
for ((k = 0; k < 30; k++)); do
	if grep -q "hostNetwork workloads: 1 cgroup matched" "$LOG"; then
		matched=1
		break
	fi
	sleep 0.1
done
if ((matched)); then ok "workload-cgroup-matched"; else
	fail "workload-cgroup-matched" "$(grep -i workload "$LOG" | tail -n 2 | tr '\n' ' ')"
fi

# the agent: a listener inside its cgroup, on the node's own address
rm -f "$LAB_TMP/agent.ready" "$LAB_TMP/host.ready"
: >"$LAB_TMP/agent.log"
: >"$LAB_TMP/host.log"
# shellcheck disable=SC2016 # $$ and $1 belong to the inner shell
bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$SCOPE" \
	nsenter --net="/run/netns/$LAB_NS_NODE" -- python3 "$LAB_NET_PY" sink \
	--log "$LAB_TMP/agent.log" --ready "$LAB_TMP/agent.ready" --udp-port 5353 --tcp-port 8080 \
	"$LAB_NODE_V4" >>"$LAB_TMP/agent.err" 2>&1 &
# plain host software on the same address, outside any workload's cgroup
lab_bg "$LAB_NS_NODE" "$LAB_TMP/host.err" python3 "$LAB_NET_PY" sink --log "$LAB_TMP/host.log" \
	--ready "$LAB_TMP/host.ready" --udp-port 9091 --tcp-port 9090 "$LAB_NODE_V4"
for ((k = 0; k < 50; k++)); do
	[[ -s $LAB_TMP/agent.ready && -s $LAB_TMP/host.ready ]] && break
	sleep 0.1
done
if [[ -s $LAB_TMP/agent.ready && -s $LAB_TMP/host.ready ]]; then ok "listeners-up"; else
	fail "listeners-up" "$(cat "$LAB_TMP/agent.err" "$LAB_TMP/host.err" 2>/dev/null | tail -n 2)"
fi

snap() { sluicectl pods --json; }
field() { python3 -c '
import json, sys
for p in json.loads(sys.argv[1])["pods"]:
    if p["name"] == "agent":
        print(p[sys.argv[2]])' "$1" "$2"; }
s0=$(snap)

# to the agent (udp 5353 allowed, tcp 8080 denied), then to the host's
# listeners outside its cgroup (udp 9091, tcp 9090)
lab_udp_send "$LAB_CLIENT_V4" 4 --port 5353 --interval 0.01 >/dev/null
tcp_agent=0 tcp_host=0
lab_tcp_connect "$LAB_CLIENT_V4" 1 8080 >/dev/null && tcp_agent=1
lab_udp_send "$LAB_CLIENT_V4" 5 --port 9091 --interval 0.01 >/dev/null
lab_tcp_connect "$LAB_CLIENT_V4" 2 9090 >/dev/null && tcp_host=1
sleep 0.3
s1=$(snap)

got=$(python3 "$LAB_NET_PY" count "$LAB_TMP/agent.log" udp "$LAB_CLIENT_V4")
if [[ $got == 4 ]]; then ok "agent-udp-allowed-and-delivered (4/4)"; else
	fail "agent-udp-allowed-and-delivered" "the agent's sink got $got of 4 datagrams"
fi
rx=$(($(field "$s1" rx_packets) - $(field "$s0" rx_packets)))
if ((rx == 4)); then ok "agent-rx-counted-exactly (4)"; else
	fail "agent-rx-counted-exactly" "agent rx_packets moved by $rx, want 4 (host traffic must not count)"
fi
den=$(($(field "$s1" ingress_denied) - $(field "$s0" ingress_denied)))
if ((tcp_agent == 0 && den >= 1)); then ok "agent-tcp-denied-by-its-policy ($den SYNs dropped)"; else
	fail "agent-tcp-denied-by-its-policy" "tcp to the agent connected=$tcp_agent, ingress_denied +$den"
fi
tx=$(($(field "$s1" tx_packets) - $(field "$s0" tx_packets)))
if ((tx == 0)); then ok "agent-tx-nothing-sent (0)"; else
	fail "agent-tx-nothing-sent" "the agent sent nothing (UDP sink, TCP denied) but tx moved by $tx"
fi
hgot=$(python3 "$LAB_NET_PY" count "$LAB_TMP/host.log" udp "$LAB_CLIENT_V4")
if [[ $hgot == 5 && $tcp_host == 1 ]]; then ok "host-listener-unaffected (5/5 udp, tcp ok)"; else
	fail "host-listener-unaffected" "host sink got $hgot of 5 datagrams, tcp connected=$tcp_host"
fi
match=$(field "$s1" match)
if [[ $match == cgroup ]]; then ok "pods-shows-match-cgroup"; else
	fail "pods-shows-match-cgroup" "match is '$match'"
fi

sluicectl stop >/dev/null 2>&1 && ok "daemon-stops" || fail "daemon-stops" "sluice stop failed"
summary
