#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_daemon_pods.sh - the daemon's TC side: `sluice run` with pods in its
# config puts the uplink program on the uplink and the pod programs on every
# pod veth, and its netlink watcher picks up a re-created pod veth within
# one second, without a restart.  (tests/lab/test_pods.sh covers the policy
# and the counters with the foreground watcher; this is the daemon's part.)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$here/lab.sh"

# shellcheck source=tests/lab/report.sh
source "$here/report.sh"

report_traps test_daemon_pods

SOCK="$LAB_TMP/ctl.sock"
CONF="$LAB_TMP/pods-daemon.conf"
LOG="$LAB_TMP/daemon.log"

setup_or_bail "lab-up" lab_up
setup_or_bail "lab-up" lab_pods_up
{
	echo "interfaces = ( { name = \"$LAB_IF_NODE\"; } );"
	echo "pods = ("
	for i in "${!LAB_POD_NS[@]}"; do
		sep=","
		((i == ${#LAB_POD_NS[@]} - 1)) && sep=""
		echo "  { name = \"${LAB_POD_NAME[i]}\"; addresses = [ \"${LAB_POD_V4[i]}\" ];"
		echo "    veth = \"${LAB_POD_VETH_PATTERN[i]}\"; ingress = { default = \"allow\"; }; }$sep"
	done
	echo ");"
	echo "stats = { listen = \"\"; };"
	echo "control = { socket = \"$SOCK\"; pin_dir = \"$LAB_PIN_DIR\"; };"
} >"$CONF"
chmod 0644 "$CONF"

check_daemon_start "daemon-runs" "$CONF" "$LOG" --socket "$SOCK"

if tc -n "$LAB_NS_NODE" filter show dev "$LAB_IF_NODE" ingress | grep -q 'sluice_tc_uplin'; then
	ok "uplink-tc-attached"
else
	fail "uplink-tc-attached" "no sluice filter on $LAB_IF_NODE ingress"
fi
for i in "${!LAB_POD_NS[@]}"; do
	v=${LAB_POD_VETH_NOW[i]}
	idx=$(lab_ifindex "$LAB_NS_NODE" "$v")
	if lab_pod_tc_attached "$v" && [[ -n $(lab_pod_ifindex_lookup "$idx") ]]; then
		ok "pod-${LAB_POD_NAME[i]}-attached"
	else
		fail "pod-${LAB_POD_NAME[i]}-attached" "veth $v (ifindex $idx) not served"
	fi
done

# re-create pod 1 with a new veth: the running daemon must pick it up
lab_pod_del 1
lab_pod_add 1 "${LAB_POD_VETH_PATTERN[1]%\*}9" >/dev/null 2>&1 || lab_pod_add 1
v=${LAB_POD_VETH_NOW[1]}
t0=$(date +%s%3N)
served=0
while (($(date +%s%3N) - t0 < 1000)); do
	idx=$(lab_ifindex "$LAB_NS_NODE" "$v")
	if [[ -n $idx ]] && lab_pod_tc_attached "$v" && [[ -n $(lab_pod_ifindex_lookup "$idx") ]]; then
		served=1
		break
	fi
	sleep 0.05
done
if ((served)); then
	ok "recreated-pod-picked-up-within-1s ($(($(date +%s%3N) - t0)) ms, veth $v)"
else
	fail "recreated-pod-picked-up-within-1s" "veth $v not served after 1 s; log: $(tail -n 2 "$LOG")"
fi
if grep -q "veth $v" "$LOG"; then ok "watcher-logged"; else fail "watcher-logged" "no log line for $v"; fi

nsenter --net="/run/netns/$LAB_NS_NODE" "$LAB_SLUICE" --socket "$SOCK" stop >/dev/null 2>&1 &&
	ok "daemon-stops" || fail "daemon-stops" "sluice stop failed"
summary
