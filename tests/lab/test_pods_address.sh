#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_pods_address.sh - pods found by address, and pod labels, with the
# daemon: pod-a by its veth name pattern, pod-b with match = "address" and
# pod-c with no veth at all.  The daemon finds pod-b's and pod-c's
# host-side veths from the routes to their addresses; pod-b is re-created
# behind a veth whose name matches nothing and must be served again within
# one second (route events, no restart); counters follow it.  pod-a's
# egress policy allows only pods labelled tier=back (from_labels): pod-b
# yes, pod-c no.  Labels show in `sluice pods` (text and JSON).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$here/lab.sh"

# shellcheck source=tests/lab/report.sh
source "$here/report.sh"

report_traps test_pods_address

SOCK="$LAB_TMP/ctl.sock"
CONF="$LAB_TMP/pods-address.conf"
LOG="$LAB_TMP/daemon.log"
METRICS=127.0.0.1:9541 # inside the node's own network namespace
node() { nsenter --net="/run/netns/$LAB_NS_NODE" "$@"; }

setup_or_bail "lab-up" lab_up
setup_or_bail "lab-up" lab_pods_up
cat >"$CONF" <<CONF
interfaces = ( { name = "$LAB_IF_NODE"; } );
pods = (
  { name = "${LAB_POD_NAME[0]}"; addresses = [ "${LAB_POD_V4[0]}" ]; veth = "${LAB_POD_VETH_PATTERN[0]}";
    labels = { app = "web"; tier = "front"; };
    egress = { default = "deny"; allow = ( { from_labels = { tier = "back"; }; } ); }; },
  { name = "${LAB_POD_NAME[1]}"; addresses = [ "${LAB_POD_V4[1]}", "${LAB_POD_V6[1]}" ];
    match = "address"; labels = { app = "api"; tier = "back"; }; },
  { name = "${LAB_POD_NAME[2]}"; addresses = [ "${LAB_POD_V4[2]}" ]; labels = { app = "batch"; }; }
);
stats = { listen = "$METRICS"; };
control = { socket = "$SOCK"; pin_dir = "$LAB_PIN_DIR"; };
CONF
chmod 0644 "$CONF"

check_daemon_start "daemon-runs" "$CONF" "$LOG" --socket "$SOCK"

# served VETH NAME [ID]: VETH is attached and pod_ifindex maps it to pod
# NAME's id (ID saves looking it up: cheap enough to poll)
served() {
	local v=$1 name=$2 want=${3:-} idx
	idx=$(lab_ifindex "$LAB_NS_NODE" "$v")
	[[ -n $want ]] || want=$(lab_pod_id "$name")
	[[ -n $idx && -n $want ]] && lab_pod_tc_attached "$v" &&
		[[ $(lab_pod_ifindex_lookup "$idx") == "$want" ]]
}
for i in 0 1 2; do
	if served "${LAB_POD_VETH_NOW[i]}" "${LAB_POD_NAME[i]}"; then
		ok "pod-${LAB_POD_NAME[i]}-served ($([[ $i == 0 ]] && echo by name || echo by address))"
	else
		fail "pod-${LAB_POD_NAME[i]}-served" "veth ${LAB_POD_VETH_NOW[i]} not served; log: $(tail -n 3 "$LOG" | tr '\n' ' ')"
	fi
done
if grep -q "veth ${LAB_POD_VETH_NOW[1]} .*route to the pod's address" "$LOG"; then
	ok "logged-found-by-route"
else
	fail "logged-found-by-route" "$(grep "${LAB_POD_VETH_NOW[1]}" "$LOG" | head -n 2)"
fi

# pod-b's counters see traffic to it through its route-found veth
lab_pod_snapshot "$LAB_TMP/s0.json"
lab_exec_client ping -n -q -c 3 -i 0.05 -W 1 "${LAB_POD_V4[1]}" >/dev/null 2>&1
lab_pod_snapshot "$LAB_TMP/s1.json"
rx=$(lab_pod_delta "$LAB_TMP/s0.json" "$LAB_TMP/s1.json" | awk -v p="pod/${LAB_POD_NAME[1]}/rx_packets" '$1 == p {print $2}')
if [[ ${rx:-0} -ge 3 ]]; then ok "address-pod-counted (rx +$rx)"; else
	fail "address-pod-counted" "rx_packets of ${LAB_POD_NAME[1]} moved by '${rx:-0}', want >= 3"
fi

# pod-a may only reach pods labelled tier=back (pod-b), not pod-c
if lab_exec_pod 0 ping -n -q -c 1 -W 1 "${LAB_POD_V4[1]}" >/dev/null 2>&1; then
	ok "from-labels-egress-allows-selected-pod"
else
	fail "from-labels-egress-allows-selected-pod" "pod-a cannot ping pod-b (tier=back)"
fi
if lab_exec_pod 0 ping -n -q -c 1 -W 1 "${LAB_POD_V4[2]}" >/dev/null 2>&1; then
	fail "from-labels-egress-denies-others" "pod-a reached pod-c (no tier=back label)"
else
	ok "from-labels-egress-denies-others"
fi

# re-create pod-b behind a veth whose name matches no pattern
old_idx=$(lab_ifindex "$LAB_NS_NODE" "${LAB_POD_VETH_NOW[1]}")
id_b=$(lab_pod_id "${LAB_POD_NAME[1]}")
lab_pod_del 1
# the clock starts once the pod's routes are in (lab_pod_add's last step):
# before that there is nothing to find
lab_pod_add 1 "xq$((RANDOM % 90 + 10))" >/dev/null 2>&1
t0=$(date +%s%3N)
v=${LAB_POD_VETH_NOW[1]}
ok_new=0
while true; do
	t1=$(date +%s%3N)
	((t1 - t0 < 1000)) || break
	if served "$v" "${LAB_POD_NAME[1]}" "$id_b"; then
		ok_new=1
		break
	fi
	sleep 0.02
done
if ((ok_new)); then
	ok "recreated-address-pod-picked-up-within-1s (seen served by the check started at +$((t1 - t0)) ms, veth $v)"
else
	fail "recreated-address-pod-picked-up-within-1s" "veth $v not served after 1 s; log: $(tail -n 2 "$LOG" | tr '\n' ' ')"
fi
if [[ -z $(lab_pod_ifindex_lookup "$old_idx") ]]; then ok "old-veth-forgotten"; else
	fail "old-veth-forgotten" "pod_ifindex still has the old veth's ifindex $old_idx"
fi

# labels over the control socket
out=$(node "$LAB_SLUICE" --socket "$SOCK" pods 2>&1)
if grep -q "${LAB_POD_NAME[1]}.*app=api,tier=back" <<<"$out" && grep -q "veth $v" <<<"$out"; then
	ok "pods-shows-labels-and-veth"
else
	fail "pods-shows-labels-and-veth" "$(head -n 5 <<<"$out" | tr '\n' '|')"
fi
json=$(node "$LAB_SLUICE" --socket "$SOCK" pods --json 2>&1)
if python3 -c '
import json, sys
pods = {p["name"]: p for p in json.loads(sys.argv[1])["pods"]}
b = pods[sys.argv[2]]
assert b["labels"] == {"app": "api", "tier": "back"}, b
assert b["match"] == "address" and b["veths"] == [sys.argv[3]], b
' "$json" "${LAB_POD_NAME[1]}" "$v" 2>"$LAB_TMP/json.err"; then
	ok "pods-json-has-labels"
else
	fail "pods-json-has-labels" "$(tail -n 1 "$LAB_TMP/json.err") in: ${json:0:200}"
fi

# selectors are resolved again on reload: pod-c joins tier=back
sed -i 's/labels = { app = "batch"; };/labels = { app = "batch"; tier = "back"; };/' "$CONF"
if out=$(node "$LAB_SLUICE" --socket "$SOCK" reload 2>&1) &&
	lab_exec_pod 0 ping -n -q -c 1 -W 1 "${LAB_POD_V4[2]}" >/dev/null 2>&1; then
	ok "from-labels-recompiled-on-reload"
else
	fail "from-labels-recompiled-on-reload" "after relabelling pod-c: ${out:0:120}; pod-a still cannot reach it"
fi

# labels as Prometheus labels, joinable with the counters on pod
m=$(lab_exec_node curl -s -m 5 "http://$METRICS/metrics")
if grep -q "^sluice_pod_info{pod=\"${LAB_POD_NAME[1]}\",match=\"address\",label_app=\"api\",label_tier=\"back\"} 1$" <<<"$m" &&
	grep -q "^sluice_pod_packets_total{pod=\"${LAB_POD_NAME[1]}\",direction=\"rx\"}" <<<"$m"; then
	ok "metrics-pod-info-labels"
else
	fail "metrics-pod-info-labels" "$(grep sluice_pod_info <<<"$m" | head -n 3 | tr '\n' '|')"
fi

node "$LAB_SLUICE" --socket "$SOCK" stop >/dev/null 2>&1 &&
	ok "daemon-stops" || fail "daemon-stops" "sluice stop failed"
summary
