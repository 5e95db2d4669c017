#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_pods.sh - pod policy, pod accounting and the pod veth watcher, end to
# end, with real traffic (issue #5's lab acceptance).
#
# In the pods lab (tests/lab/lab.sh: lab_up, then lab_pods_up): a client
# namespace outside, the node with sluice (XDP + the uplink TC program) on
# up0, and three pod namespaces behind veths whose node-side names match
# the config's patterns:
#
#   pod-a  198.51.100.150 2001:db8:b0d::a  veth vpa*  ingress: deny, but
#          tcp 8080 from identity "partner"               (TCP sink :8080)
#   pod-b  198.51.100.151 2001:db8:b0d::b  veth vpb*  ingress: allow
#                                                         (UDP echo :9000)
#   pod-c  198.51.100.152 (IPv4 only)      veth vpc*  ingress: deny, but
#          udp 9000 from 198.51.100.192/26; egress: deny, but udp 53 to
#          203.0.113.0/24                                  (UDP sink :9000)
#
# Identities: internet (id 1) = everything, partner (id 2) = 203.0.113.10
# and 2001:db8:c1ea::/48.  `sluice pods watch` runs in the background for
# the whole test, started before the pods exist.  Checks that
#   - the watcher attaches the pod TC programs to each pod veth as it
#     appears, and maps its ifindex to the right pod;
#   - traffic to the node's own addresses carries skb->mark
#     0xA000_8000 | flags << 8 | identity (host flag 0x80), as read by a
#     socket in the node (SO_RCVMARK);
#   - every pod gets exactly what its policy allows, from the right
#     identities / CIDRs / protocols / ports, IPv4 and IPv6, and what it
#     sends is let out only as its egress policy says (what the sockets
#     actually receive, not just what sluice counts);
#   - pod_stats moves by exactly what was sent, packets and bytes, both
#     directions (UDP: computed from the datagram sizes; TCP: equal to the
#     pod interface's own counters), denials counted per packet, the TC
#     reason counters agree, and nothing else moves;
#   - pod-b's namespace deleted and re-created with a new veth (vpb1) is
#     picked up within 1 s by the same, never restarted watcher, and its
#     traffic is counted again;
#   - a watcher started after a pod veth already exists serves it too.
#
# Prints "ok NAME" / "FAIL NAME: why" per check and ends with the line
# "N passed, N failed" (tests/run.sh parses it); exits non-zero on failure.
# Run as root from anywhere; needs build/sluice (make), bpftool and tc;
# nft (optional) adds a check of the mark on forwarded pod traffic.
set -euo pipefail

# shellcheck source=tests/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

N=${POD_UDP_N:-10}     # datagrams per UDP check
SIZE=32                # UDP payload bytes
REPLY=5                # pod-b's echo reply: its name, "pod-b"
# Frame sizes as TC sees them (Ethernet header included).
UDP4=$((14 + 20 + 8 + SIZE))
UDP6=$((14 + 40 + 8 + SIZE))
REPLY4=$((14 + 20 + 8 + REPLY))
REPLY6=$((14 + 40 + 8 + REPLY))
ID_INTERNET=1
ID_PARTNER=2
PICKUP_MS=1000         # how fast a new pod veth must be served
# A freshly started watcher first loads and verifies the TC object and
# scans: its pickup includes process start, so it gets a start-up budget
# (the time taken is printed either way).
START_PICKUP_MS=5000

# shellcheck source=tests/lab/report.sh
source "$(dirname "${BASH_SOURCE[0]}")/report.sh"

report_traps test_pods

CONF="$LAB_TMP/sluice.conf"
PARTNER_V4=$LAB_CLEAN_V4   # 203.0.113.10: identity partner
PARTNER_V6=$LAB_CLEAN_V6   # 2001:db8:c1ea::10: identity partner
NET_V4=$LAB_EDGE_V4        # 198.51.100.200: internet, inside pod-c's CIDR
NET_V4B=$LAB_CLIENT_V4     # 192.0.2.2: internet
NET_V6=$LAB_BLOCKED_V6     # 2001:db8:bad::10: internet (no blocklist here)
POD_A=0 POD_B=1 POD_C=2

one_line() { tr '\n' ' ' <<<"$1" | head -c 400; }
ms_now() { date +%s%3N; }

# ---- config ------------------------------------------------------------------

write_config() {
	local a=$POD_A b=$POD_B c=$POD_C
	cat >"$CONF" <<EOF
# sluice pods lab config (tests/lab/test_pods.sh)
interfaces = ( { name = "$LAB_IF_NODE"; allow_generic = false; } );
identities = (
	{ name = "internet"; prefixes = [ "0.0.0.0/0", "::/0" ]; },
	{ name = "partner"; prefixes = [ "$PARTNER_V4/32", "2001:db8:c1ea::/48" ]; }
);
pods = (
	{
		name = "${LAB_POD_NAME[a]}"; addresses = [ "${LAB_POD_V4[a]}", "${LAB_POD_V6[a]}" ];
		veth = "${LAB_POD_VETH_PATTERN[a]}";
		ingress = { default = "deny";
			allow = ( { identity = "partner"; protocol = "tcp"; ports = "8080"; } ); };
	},
	{
		name = "${LAB_POD_NAME[b]}"; addresses = [ "${LAB_POD_V4[b]}", "${LAB_POD_V6[b]}" ];
		veth = "${LAB_POD_VETH_PATTERN[b]}";
		ingress = { default = "allow"; };
	},
	{
		name = "${LAB_POD_NAME[c]}"; addresses = [ "${LAB_POD_V4[c]}" ];
		veth = "${LAB_POD_VETH_PATTERN[c]}";
		ingress = { default = "deny";
			allow = ( { cidr = "198.51.100.192/26"; protocol = "udp"; ports = "9000"; } ); };
		egress = { default = "deny";
			allow = ( { cidr = "203.0.113.0/24"; protocol = "udp"; ports = "53"; } ); };
	}
);
EOF
	chmod 0644 "$CONF"
}

# ---- counters ----------------------------------------------------------------

snap_before() { lab_pod_snapshot "$LAB_TMP/before.json"; }
# What moved since snap_before (sorted lines).  The short sleep lets the
# last packets of an exchange (a UDP send returns once queued, the end of a
# TCP connection) get through first.
delta_since() {
	sleep 0.3
	lab_pod_snapshot "$LAB_TMP/after.json"
	lab_pod_delta "$LAB_TMP/before.json" "$LAB_TMP/after.json" | LC_ALL=C sort
}
# expect LINE...: the expected delta text, in the same order.
expect() { printf '%s\n' "$@" | sed '/^$/d' | LC_ALL=C sort; }

# Interface counters of the client's c0 (what the client put on the wire),
# "tx_packets tx_bytes".
client_tx() {
	ip -n "$LAB_NS_CLIENT" -j -s link show dev "$LAB_IF_CLIENT" | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats64"]["tx"]
print(s["packets"], s["bytes"])'
}

# pod_if_delta BEFORE AFTER: difference of two lab_pod_ifstats lines.
pod_if_delta() {
	local -a b a
	read -r -a b <<<"$1"
	read -r -a a <<<"$2"
	echo "$((a[0] - b[0])) $((a[1] - b[1])) $((a[2] - b[2])) $((a[3] - b[3]))"
}

# ---- traffic -------------------------------------------------------------------

udp_send() { # SRC DST PORT COUNT: from the client
	lab_exec_client python3 "$LAB_NET_PY" udp-send --src "$1" --dst "$2" --port "$3" \
		--count "$4" --size "$SIZE"
}
echo_ask() { # SRC DST PORT COUNT: from the client, one reply awaited each
	lab_exec_client python3 "$LAB_NET_PY" udp-echo-ask --src "$1" --dst "$2" --port "$3" \
		--count "$4" --size "$SIZE" --timeout 1
}
tcp_connect() { # SRC DST PORT TIMEOUT: from the client, banner awaited
	lab_exec_client python3 "$LAB_NET_PY" tcp-connect --src "$1" --dst "$2" --port "$3" \
		--timeout "$4"
}

# tcp_allowed NAME SRC DST: a TCP connection to pod-a's sink gets through;
# pod-a's counters move by exactly what its interface saw, all of it let in
# by the uplink under a valid tag.
tcp_allowed() {
	local name=$1 src=$2 dst=$3 out rc before got if0 if1 d rp rb tp tb
	before=$(lab_sink_count_in pod-a tcp "$src")
	if0=$(lab_pod_ifstats "$POD_A")
	snap_before
	out=$(tcp_connect "$src" "$dst" 8080 2 2>&1) && rc=0 || rc=$?
	sleep 0.2 # the connection's closing packets
	d=$(delta_since)
	if1=$(lab_pod_ifstats "$POD_A")
	got=$(($(lab_sink_count_in pod-a tcp "$src") - before))
	if [[ $rc == 0 && $got == 1 ]]; then
		ok "$name"
	else
		fail "$name" "TCP $src -> $dst:8080: $(one_line "$out") (pod accepted $got)"
	fi
	read -r rp rb tp tb <<<"$(pod_if_delta "$if0" "$if1")"
	if [[ $rp == 0 || $tp == 0 ]]; then
		fail "$name-counters" "pod-a's interface saw rx $rp tx $tp packets"
		return
	fi
	check_delta "$name-counters" "$(expect \
		"pod/pod-a/rx_packets $rp" "pod/pod-a/rx_bytes $rb" \
		"pod/pod-a/tx_packets $tp" "pod/pod-a/tx_bytes $tb" \
		"tc/tag_ok $rp $rb" "tc/pod_ingress_allowed $rp $rb" \
		"tc/pod_egress_allowed $tp $tb")" "$d"
}

# tcp_denied NAME POD SRC DST PORT: a TCP connection to POD (index) does
# not get through; every SYN the client sent (its c0 counts them) is
# counted as denied for that pod, with the bytes the XDP program saw them
# with; nothing reaches the pod.
tcp_denied() {
	local name=$1 pod=$2 src=$3 dst=$4 port=$5 pname=${LAB_POD_NAME[$2]}
	local out rc sp d if0 if1 tp0 tp1 xdp xp xb
	if0=$(lab_pod_ifstats "$pod")
	read -r tp0 _ <<<"$(client_tx)"
	lab_stats_snapshot "$LAB_TMP/xdp0.json"
	snap_before
	# 0.5 s: the SYN is not retransmitted (first RTO 1 s)
	out=$(tcp_connect "$src" "$dst" "$port" 0.5 2>&1) && rc=0 || rc=$?
	d=$(delta_since)
	lab_stats_snapshot "$LAB_TMP/xdp1.json"
	read -r tp1 _ <<<"$(client_tx)"
	if1=$(lab_pod_ifstats "$pod")
	sp=$((tp1 - tp0))
	xdp=$(lab_stats_delta "$LAB_TMP/xdp0.json" "$LAB_TMP/xdp1.json")
	read -r xp xb <<<"$(sed -n 's|^passed/pass ||p' <<<"$xdp")"
	if [[ $rc != 0 && $if0 == "$if1" ]]; then
		ok "$name"
	else
		fail "$name" "TCP $src -> $dst:$port: $(one_line "$out"); pod interface $if0 -> $if1"
	fi
	if [[ $sp == 0 || ${xp:-} != "$sp" ]]; then
		fail "$name-counters" "the client sent $sp packets, XDP passed [$(one_line "$xdp")]"
		return
	fi
	check_delta "$name-counters" "$(expect "pod/$pname/ingress_denied $sp" \
		"tc/tag_ok $sp $xb" "tc/pod_ingress_denied $sp $xb")" "$d"
}

# udp_denied NAME POD SINK SRC DST PORT BYTES: N datagrams to POD, all
# dropped by its ingress policy at the uplink.
udp_denied() {
	local name=$1 pod=$2 sink=$3 src=$4 dst=$5 port=$6 bytes=$7 pname=${LAB_POD_NAME[$2]}
	local before got sent d if0 if1
	before=$(lab_sink_count_in "$sink" udp "$src")
	if0=$(lab_pod_ifstats "$pod")
	snap_before
	sent=$(udp_send "$src" "$dst" "$port" "$N" 2>&1) || sent="error: $sent"
	d=$(delta_since)
	if1=$(lab_pod_ifstats "$pod")
	got=$(($(lab_sink_count_in "$sink" udp "$src") - before))
	if [[ $sent == "$N" && $got == 0 && $if0 == "$if1" ]]; then
		ok "$name"
	else
		fail "$name" "sent [$sent] from $src to $dst:$port; pod got $got; pod interface $if0 -> $if1"
	fi
	check_delta "$name-counters" "$(expect "pod/$pname/ingress_denied $N" \
		"tc/tag_ok $N $((N * bytes))" "tc/pod_ingress_denied $N $((N * bytes))")" "$d"
}

# udp_allowed NAME POD SINK SRC DST PORT BYTES: N datagrams to POD, all
# let in by its ingress policy and delivered to its sink SINK.
udp_allowed() {
	local name=$1 sink=$3 src=$4 dst=$5 port=$6 bytes=$7 pname=${LAB_POD_NAME[$2]}
	local before got sent d
	before=$(lab_sink_count_in "$sink" udp "$src")
	snap_before
	sent=$(udp_send "$src" "$dst" "$port" "$N" 2>&1) || sent="error: $sent"
	d=$(delta_since)
	got=$(($(lab_sink_count_in "$sink" udp "$src") - before))
	if [[ $sent == "$N" && $got == "$N" ]]; then
		ok "$name"
	else
		fail "$name" "sent [$sent] from $src, $pname's sink $sink got $got"
	fi
	check_delta "$name-counters" "$(expect \
		"pod/$pname/rx_packets $N" "pod/$pname/rx_bytes $((N * bytes))" \
		"tc/tag_ok $N $((N * bytes))" "tc/pod_ingress_allowed $N $((N * bytes))")" "$d"
}

# host_mark NAME SRC DST MARK BYTES: N datagrams from the client to the
# node itself: all arrive, every one with skb->mark MARK, counted "host".
host_mark() {
	local name=$1 src=$2 dst=$3 mark=$4 bytes=$5 sent d marks
	snap_before
	sent=$(udp_send "$src" "$dst" "$LAB_UDP_PORT" "$N" 2>&1) || sent="error: $sent"
	d=$(delta_since)
	marks=$(awk -v s="$src" '$1 == "mark" && $2 == s { print $3 }' "$LAB_TMP/marks.log" |
		sort | uniq -c | awk '{ printf "%s x%d ", $2, $1 }')
	if [[ $marks == "$mark x$N " ]]; then
		ok "$name"
	else
		fail "$name" "sent [$sent]; the node's socket saw marks [${marks% }] from $src, expected $mark x$N"
	fi
	check_delta "$name-counters" "$(expect "tc/tag_ok $N $((N * bytes))" \
		"tc/host $N $((N * bytes))")" "$d"
}

# veth_served POD VETH: VETH exists, pod_ifindex maps its ifindex to POD's
# id, and both pod programs are on it.  Sets SERVED_WHY when not.
veth_served() {
	local pod=$1 veth=$2 ifx id want
	SERVED_WHY=
	ifx=$(lab_ifindex "$LAB_NS_NODE" "$veth")
	if [[ -z $ifx ]]; then
		SERVED_WHY="no $veth in the node"
		return 1
	fi
	want=${POD_ID[$pod]:-}
	if [[ -z $want ]]; then
		want=$(lab_pod_id "${LAB_POD_NAME[$pod]}")
		POD_ID[pod]=$want
	fi
	id=$(lab_pod_ifindex_lookup "$ifx")
	if [[ -z $want || $id != "$want" ]]; then
		SERVED_WHY="pod_ifindex[$ifx] ($veth) is '${id:-none}', not ${LAB_POD_NAME[$pod]}'s id '$want'"
		return 1
	fi
	if ! lab_pod_tc_attached "$veth"; then
		SERVED_WHY="the pod TC programs are not on both directions of $veth"
		return 1
	fi
}
POD_ID=()

# wait_served POD VETH MS: poll veth_served until MS milliseconds after
# $T0 (ms_now); prints how long it took.  (Run in $(...): call veth_served
# again for SERVED_WHY.)
wait_served() {
	local pod=$1 veth=$2 limit=$3
	while ! veth_served "$pod" "$veth"; do
		if (($(ms_now) - T0 > limit)); then
			return 1
		fi
		sleep 0.02
	done
	echo $(($(ms_now) - T0))
}

# ---- the test ---------------------------------------------------------------------

[[ -x $LAB_SLUICE ]] || bail "build" "$LAB_SLUICE missing or not executable (run make)"
for t in bpftool tc; do
	command -v "$t" >/dev/null || bail "deps" "$t not found (make deps installs it)"
done
setup_or_bail "lab-up" lab_up

if out=$(lab_sluice attach "$LAB_IF_NODE" 2>&1) && [[ $(lab_xdp_mode) == xdp ]]; then
	echo "# $out"
else
	bail "attach" "native XDP on $LAB_IF_NODE: $(one_line "$out") (mode '$(lab_xdp_mode)')"
fi
write_config
if ! out=$(lab_sluice check -c "$CONF" 2>&1); then
	bail "config" "sluice check refused the config: $(one_line "$out")"
fi

# The watcher first, then the pods: each veth is served as it appears.
# (The pods' policies come after lab_pods_up, whose plumbing check pings
# every pod from the client.)
setup_or_bail "watch-start" lab_pods_watch_start "$CONF"
WATCH_PID=$LAB_PODS_WATCH_PID
ok "watch-start"
check_setup "lab-up" lab_pods_up
for i in "${!LAB_POD_NAME[@]}"; do
	if veth_served "$i" "${LAB_POD_VETH_NOW[$i]}"; then
		ok "watch-attached-${LAB_POD_NAME[$i]}"
	else
		fail "watch-attached-${LAB_POD_NAME[$i]}" "$SERVED_WHY; watcher said: $(one_line "$(cat "$LAB_TMP/podwatch.log")")"
	fi
done

if ! out=$(lab_sluice apply -c "$CONF" 2>&1); then
	bail "config" "sluice apply: $(one_line "$out")"
fi
if ! out2=$(lab_sluice tc attach "$LAB_IF_NODE" 2>&1); then
	bail "config" "sluice tc attach: $(one_line "$out2")"
fi
echo "# $out"
echo "# $out2"
ok "config"

# Servers: the node's mark reader, the pods' servers, the client's sinks
# for pod-c's egress.
setup_or_bail "servers" lab_mark_sink_start marks "$LAB_UDP_PORT" "$LAB_NODE_V4" "$LAB_NODE_V6"
setup_or_bail "servers" lab_sink_start_in "${LAB_POD_NS[POD_A]}" pod-a 8080 8080 "${LAB_POD_V4[POD_A]}" "${LAB_POD_V6[POD_A]}"
setup_or_bail "servers" lab_sink_start_in "${LAB_POD_NS[POD_C]}" pod-c 9000 9000 "${LAB_POD_V4[POD_C]}"
setup_or_bail "servers" lab_sink_start_in "$LAB_NS_CLIENT" dns 53 53 "$PARTNER_V4" "$NET_V4"
setup_or_bail "servers" lab_sink_start_in "$LAB_NS_CLIENT" mdns 5353 5353 "$PARTNER_V4"

# pod_b_echo_start: pod-b's UDP echo server (port 9000, both families).
pod_b_echo_start() {
	local k
	rm -f "$LAB_TMP/echo-b.ready"
	lab_bg "${LAB_POD_NS[POD_B]}" "$LAB_TMP/echo-b.err" python3 "$LAB_NET_PY" udp-echo \
		--name "${LAB_POD_NAME[POD_B]}" --port 9000 --ready "$LAB_TMP/echo-b.ready"
	for ((k = 0; k < 50; k++)); do
		[[ -s $LAB_TMP/echo-b.ready ]] && return 0
		sleep 0.1
	done
	return 1
}
pod_b_echo_start || bail "servers" "pod-b's echo server did not start: $(tail -n 1 "$LAB_TMP/echo-b.err")"
ok "servers"

# Nothing sent, nothing counted: exact counts below mean something.
snap_before
sleep 1
check_delta "lab-is-quiet" "" "$(delta_since)"

# -- host traffic: marked host (0x80), the source's identity in bits 0-7 --
host_mark "host-mark-v4-internet" "$NET_V4B" "$LAB_NODE_V4" \
	"$(printf '0x%08x' $((0xa0008000 | ID_INTERNET)))" "$UDP4"
host_mark "host-mark-v4-partner" "$PARTNER_V4" "$LAB_NODE_V4" \
	"$(printf '0x%08x' $((0xa0008000 | ID_PARTNER)))" "$UDP4"
# IPv6: the tag's SMF_IPV6 flag (0x02) travels in the mark's flags byte too
host_mark "host-mark-v6-partner" "$PARTNER_V6" "$LAB_NODE_V6" \
	"$(printf '0x%08x' $((0xa0008200 | ID_PARTNER)))" "$UDP6"

# -- pod-a: only tcp 8080 from partner --
tcp_allowed "pod-a-tcp-partner-v4" "$PARTNER_V4" "${LAB_POD_V4[POD_A]}"
tcp_allowed "pod-a-tcp-partner-v6" "$PARTNER_V6" "${LAB_POD_V6[POD_A]}"
tcp_denied "pod-a-tcp-internet-v4-denied" "$POD_A" "$NET_V4" "${LAB_POD_V4[POD_A]}" 8080
tcp_denied "pod-a-tcp-internet-v6-denied" "$POD_A" "$NET_V6" "${LAB_POD_V6[POD_A]}" 8080
udp_denied "pod-a-udp-partner-denied" "$POD_A" pod-a "$PARTNER_V4" "${LAB_POD_V4[POD_A]}" 8080 "$UDP4"

# -- pod-b: everything in; replies counted the other way --
# Optional: the mark on forwarded pod traffic, seen by nftables in the node.
NFT=0
if command -v nft >/dev/null && lab_exec_node nft -f - <<EOF 2>"$UP_ERR"; then
table ip sluice_test {
	chain forward_marks {
		type filter hook forward priority 0; policy accept;
		ip daddr ${LAB_POD_V4[POD_B]} meta mark $(printf '0x%08x' $((0xa0000000 | ID_PARTNER))) counter
		ip daddr ${LAB_POD_V4[POD_B]} meta mark $(printf '0x%08x' $((0xa0000000 | ID_INTERNET))) counter
		ip daddr ${LAB_POD_V4[POD_B]} counter
	}
}
EOF
	NFT=1
fi
pb4=${LAB_POD_V4[POD_B]}
pb6=${LAB_POD_V6[POD_B]}
if0=$(lab_pod_ifstats "$POD_B")
snap_before
r1=$(echo_ask "$PARTNER_V4" "$pb4" 9000 "$N" 2>&1) || true
r2=$(echo_ask "$NET_V4B" "$pb4" 9000 "$N" 2>&1) || true
r3=$(echo_ask "$PARTNER_V6" "$pb6" 9000 "$N" 2>&1) || true
r4=$(echo_ask "$NET_V6" "$pb6" 9000 "$N" 2>&1) || true
d=$(delta_since)
if1=$(lab_pod_ifstats "$POD_B")
want="sent $N replies $N"
if [[ $r1 == "$want" && $r2 == "$want" && $r3 == "$want" && $r4 == "$want" ]]; then
	ok "pod-b-udp-allowed"
else
	fail "pod-b-udp-allowed" "partner v4 [$r1], internet v4 [$r2], partner v6 [$r3], internet v6 [$r4]"
fi
in_b=$((N * (2 * UDP4 + 2 * UDP6)))
out_b=$((N * (2 * REPLY4 + 2 * REPLY6)))
check_delta "pod-b-udp-allowed-counters" "$(expect \
	"pod/pod-b/rx_packets $((4 * N))" "pod/pod-b/rx_bytes $in_b" \
	"pod/pod-b/tx_packets $((4 * N))" "pod/pod-b/tx_bytes $out_b" \
	"tc/tag_ok $((4 * N)) $in_b" "tc/pod_ingress_allowed $((4 * N)) $in_b" \
	"tc/pod_egress_allowed $((4 * N)) $out_b")" "$d"
got=$(pod_if_delta "$if0" "$if1")
if [[ $got == "$((4 * N)) $in_b $((4 * N)) $out_b" ]]; then
	ok "pod-b-interface-agrees"
else
	fail "pod-b-interface-agrees" "pod-b's eth0 moved by rx/tx [$got], sent [$((4 * N)) $in_b $((4 * N)) $out_b]"
fi
if [[ $NFT == 1 ]]; then
	got=$(lab_exec_node nft -j list table ip sluice_test | python3 -c '
import json, sys
print(" ".join(str(e["rule"]["expr"][-1]["counter"]["packets"])
               for e in json.load(sys.stdin)["nftables"] if "rule" in e))')
	if [[ $got == "$N $N $((2 * N))" ]]; then
		ok "pod-mark-forwarded"
	else
		fail "pod-mark-forwarded" "nft counted [partner-marked, internet-marked, all] = [$got] packets to $pb4, expected [$N $N $((2 * N))]"
	fi
	lab_exec_node nft delete table ip sluice_test || true
else
	echo "# nft not available ($(head -c 120 "$UP_ERR")): forwarded-mark check skipped"
fi

# -- pod-c: udp 9000 from 198.51.100.192/26 only; out only udp 53 to 203.0.113.0/24 --
pc=${LAB_POD_V4[POD_C]}
udp_allowed "pod-c-udp-cidr-allowed" "$POD_C" pod-c "$NET_V4" "$pc" 9000 "$UDP4"
udp_denied "pod-c-udp-outside-cidr-denied" "$POD_C" pod-c "$PARTNER_V4" "$pc" 9000 "$UDP4"
udp_denied "pod-c-udp-other-port-denied" "$POD_C" pod-c "$NET_V4" "$pc" 9001 "$UDP4"
tcp_denied "pod-c-tcp-denied" "$POD_C" "$NET_V4" "$pc" 9000

# pod_c_egress NAME DST PORT SINK allowed|denied
pod_c_egress() {
	local name=$1 dst=$2 port=$3 sink=$4 want=$5 before got sent d
	before=$(lab_sink_count_in "$sink" udp "$pc")
	snap_before
	sent=$(lab_exec_pod "$POD_C" python3 "$LAB_NET_PY" udp-send --src "$pc" --dst "$dst" \
		--port "$port" --count "$N" --size "$SIZE" 2>&1) || sent="error: $sent"
	d=$(delta_since)
	got=$(($(lab_sink_count_in "$sink" udp "$pc") - before))
	local expect_got=$N
	[[ $want == denied ]] && expect_got=0
	if [[ $sent == "$N" && $got == "$expect_got" ]]; then
		ok "$name"
	else
		fail "$name" "pod-c sent [$sent] to $dst:$port, the client got $got (expected $expect_got)"
	fi
	if [[ $want == allowed ]]; then
		check_delta "$name-counters" "$(expect "pod/pod-c/tx_packets $N" \
			"pod/pod-c/tx_bytes $((N * UDP4))" "tc/pod_egress_allowed $N $((N * UDP4))")" "$d"
	else
		check_delta "$name-counters" "$(expect "pod/pod-c/egress_denied $N" \
			"tc/pod_egress_denied $N $((N * UDP4))")" "$d"
	fi
}
pod_c_egress "pod-c-egress-allowed" "$PARTNER_V4" 53 dns allowed
pod_c_egress "pod-c-egress-other-port-denied" "$PARTNER_V4" 5353 mdns denied
pod_c_egress "pod-c-egress-outside-cidr-denied" "$NET_V4" 53 dns denied

# -- pod-b's namespace deleted and re-created with a new veth, watcher untouched --
old_veth=${LAB_POD_VETH_NOW[POD_B]}
old_ifx=$(lab_ifindex "$LAB_NS_NODE" "$old_veth")
setup_or_bail "pod-b-deleted" lab_pod_del "$POD_B"
T0=$(ms_now)
gone=0
while (($(ms_now) - T0 <= PICKUP_MS)); do
	if [[ -z $(lab_pod_ifindex_lookup "$old_ifx") ]]; then
		gone=1
		break
	fi
	sleep 0.02
done
if [[ $gone == 1 ]]; then
	ok "pod-b-deleted"
else
	fail "pod-b-deleted" "pod_ifindex still maps $old_veth's ifindex $old_ifx to a pod 1 s after the veth went"
fi

T0=$(ms_now)
setup_or_bail "pod-b-recreated" lab_pod_add "$POD_B" vpb1
T1=$(($(ms_now) - T0))
if took=$(wait_served "$POD_B" vpb1 "$PICKUP_MS"); then
	echo "# pod-b's new veth served ${took} ms after its namespace was created (wiring it took ${T1} ms)"
	ok "pod-b-recreated-served-in-1s"
else
	veth_served "$POD_B" vpb1 || true # for SERVED_WHY (wait_served ran in a subshell)
	fail "pod-b-recreated-served-in-1s" "$SERVED_WHY after $PICKUP_MS ms; watcher said: $(one_line "$(tail -n 3 "$LAB_TMP/podwatch.log")")"
fi
if [[ $LAB_PODS_WATCH_PID == "$WATCH_PID" ]] && kill -0 "$WATCH_PID" 2>/dev/null; then
	ok "watcher-not-restarted"
else
	fail "watcher-not-restarted" "the watcher (pid $WATCH_PID) is gone: $(one_line "$(tail -n 3 "$LAB_TMP/podwatch.log")")"
fi
lab_pod_reachable "$POD_B" >/dev/null 2>&1 || true
pod_b_echo_start || bail "pod-b-recreated-counted" "pod-b's echo server did not start again"
sleep 1 # the new pod's MLD reports (it has IPv6) are over
snap_before
r1=$(echo_ask "$PARTNER_V4" "$pb4" 9000 "$N" 2>&1) || true
d=$(delta_since)
if [[ $r1 == "sent $N replies $N" ]]; then
	ok "pod-b-recreated-counted"
else
	fail "pod-b-recreated-counted" "partner v4 to the new pod-b: [$r1]"
fi
check_delta "pod-b-recreated-counted-counters" "$(expect \
	"pod/pod-b/rx_packets $N" "pod/pod-b/rx_bytes $((N * UDP4))" \
	"pod/pod-b/tx_packets $N" "pod/pod-b/tx_bytes $((N * REPLY4))" \
	"tc/tag_ok $N $((N * UDP4))" "tc/pod_ingress_allowed $N $((N * UDP4))" \
	"tc/pod_egress_allowed $N $((N * REPLY4))")" "$d"

# -- a watcher (re)started while a pod veth already exists serves it --
# pod-c is re-created (vpc1) while no watcher runs, then a fresh watcher
# starts: its first scan must find vpc1.
lab_pods_watch_stop
log_lines=$(wc -l <"$LAB_TMP/podwatch.log")
setup_or_bail "watch-restart" lab_pod_del "$POD_C"
setup_or_bail "watch-restart" lab_pod_add "$POD_C" vpc1
T0=$(ms_now)
setup_or_bail "watch-restart" lab_pods_watch_start "$CONF"
if took=$(wait_served "$POD_C" vpc1 "$START_PICKUP_MS"); then
	echo "# vpc1 served ${took} ms after the watcher was started"
	ok "watch-start-serves-existing-veth"
	setup_or_bail "servers" lab_sink_start_in "${LAB_POD_NS[POD_C]}" pod-c2 9000 9000 "$pc"
	udp_allowed "pod-c-recreated-counted" "$POD_C" pod-c2 "$NET_V4" "$pc" 9000 "$UDP4"
else
	veth_served "$POD_C" vpc1 || true
	fail "watch-start-serves-existing-veth" "$SERVED_WHY $START_PICKUP_MS ms after starting the watcher; it said: $(one_line "$(tail -n "+$((log_lines + 1))" "$LAB_TMP/podwatch.log")")"
fi

summary
[[ $FAILED == 0 ]]
