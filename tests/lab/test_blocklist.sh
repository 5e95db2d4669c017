#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_blocklist.sh - the blocklist, end to end, with real traffic.
#
# In the namespace lab (tests/lab/lab.sh): attach sluice natively on the
# node's uplink, load a blocklist with an allowlist hole in it, then send
# pings, UDP datagrams and TCP connections from blocked, clean and
# allowlisted sources.  Checks that
#   - blocked sources get nothing through, the others get everything through
#     (what the node's sockets actually receive, not just what sluice says);
#   - `sluice stats --json` moves by exactly what was sent, per
#     (reason, action) slot, packets and bytes, and nothing else moves;
#   - after `sluice detach` XDP is gone and blocked sources pass again.
#
# Prints "ok NAME" / "FAIL NAME: why" per check and ends with the line
# "N passed, N failed" (tests/run.sh parses it); exits non-zero on failure.
# Run as root from anywhere; needs build/sluice (make).
set -euo pipefail

# shellcheck source=tests/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

PING_N=${PING_N:-5}   # echo requests per ping check
UDP_N=${UDP_N:-20}    # datagrams per UDP check
UDP_SIZE=32           # UDP payload bytes
# Frame sizes as XDP sees them (Ethernet header included, no FCS).
PING_BYTES_V4=$((14 + 20 + 8 + 56))
PING_BYTES_V6=$((14 + 40 + 8 + 56))
UDP_BYTES_V4=$((14 + 20 + 8 + UDP_SIZE))
UDP_BYTES_V6=$((14 + 40 + 8 + UDP_SIZE))

# shellcheck source=tests/lab/report.sh
source "$(dirname "${BASH_SOURCE[0]}")/report.sh"

report_traps test_blocklist

# ---- counter deltas -----------------------------------------------------

snap_before() { lab_stats_snapshot "$LAB_TMP/before.json"; }

# Counter movement since snap_before, one sorted "reason/action packets
# bytes" line per moved slot.  The short sleep lets packets still in the
# veth queue reach XDP first (a ping has its reply by then anyway; a UDP
# send returns as soon as the datagram is queued).
delta_since() {
	sleep 0.3
	lab_stats_snapshot "$LAB_TMP/after.json"
	lab_stats_delta "$LAB_TMP/before.json" "$LAB_TMP/after.json" | sort
}

# check_delta_only NAME SLOT ACTUAL: something moved, and only SLOT did
# (for TCP, where the exact packet count is the stack's business).
check_delta_only() {
	local name=$1 slot=$2 got=$3
	if [[ -z $got ]]; then
		fail "$name" "no counter moved, expected $slot to"
	elif grep -qv "^$slot " <<<"$got"; then
		fail "$name" "counters moved by [${got//$'\n'/; }], expected only $slot"
	else
		ok "$name"
	fi
}

# ---- traffic checks ---------------------------------------------------------

# ping_check NAME SRC pass|drop REASON/ACTION BYTES_PER_PACKET
ping_check() {
	local name=$1 src=$2 want=$3 slot=$4 bytes=$5 out rc received delta
	snap_before
	out=$(lab_ping "$src" "$PING_N" 2>&1) && rc=0 || rc=$?
	delta=$(delta_since)
	received=$(sed -n 's/.* \([0-9]\+\) received.*/\1/p' <<<"$out")
	received=${received:-0}
	if [[ $want == pass ]]; then
		if [[ $rc == 0 && $received == "$PING_N" ]]; then
			ok "$name"
		else
			fail "$name" "$received/$PING_N echo replies from $src (ping exit $rc)"
		fi
	else
		if [[ $received == 0 && $out == *"$PING_N packets transmitted"* ]]; then
			ok "$name"
		else
			fail "$name" "$received/$PING_N echo replies from blocked $src (ping exit $rc)"
		fi
	fi
	check_delta "$name-counters" "$slot $PING_N $((PING_N * bytes))" "$delta"
}

# udp_check NAME SRC pass|drop REASON/ACTION BYTES_PER_PACKET
udp_check() {
	local name=$1 src=$2 want=$3 slot=$4 bytes=$5 before after got delta sent
	before=$(lab_sink_count udp "$src")
	snap_before
	sent=$(lab_udp_send "$src" "$UDP_N" --size "$UDP_SIZE" 2>&1) || sent="error: $sent"
	delta=$(delta_since)
	after=$(lab_sink_count udp "$src")
	got=$((after - before))
	local expect=$UDP_N
	[[ $want == drop ]] && expect=0
	if [[ $sent != "$UDP_N" ]]; then
		fail "$name" "sender did not send $UDP_N datagrams from $src: $sent"
	elif [[ $got == "$expect" ]]; then
		ok "$name"
	else
		fail "$name" "node received $got of $UDP_N datagrams from $src, expected $expect"
	fi
	check_delta "$name-counters" "$slot $UDP_N $((UDP_N * bytes))" "$delta"
}

# tcp_check NAME SRC pass|drop REASON/ACTION
tcp_check() {
	local name=$1 src=$2 want=$3 slot=$4 out rc before got delta
	before=$(lab_sink_count tcp "$src")
	snap_before
	out=$(lab_tcp_connect "$src" 2 2>&1) && rc=0 || rc=$?
	sleep 0.2 # the connection's last ACKs
	delta=$(delta_since)
	got=$(($(lab_sink_count tcp "$src") - before))
	if [[ $want == pass ]]; then
		if [[ $rc == 0 && $got == 1 ]]; then
			ok "$name"
		else
			fail "$name" "TCP from clean $src: $out (node accepted $got)"
		fi
	else
		if [[ $rc != 0 && $got == 0 ]]; then
			ok "$name"
		else
			fail "$name" "TCP from blocked $src was not stopped: $out (node accepted $got)"
		fi
	fi
	check_delta_only "$name-counters" "$slot" "$delta"
}

# ---- the test -----------------------------------------------------------------

[[ -x $LAB_SLUICE ]] || bail "build" "$LAB_SLUICE missing or not executable (run make)"
# lab_up must run in this shell (not in $(...)) so lab_down knows what to
# undo; its one-line error goes through a file.
check_setup "lab-up" lab_up
lab_sink_start || bail "sink" "UDP/TCP sink did not start in the node namespace"

# Attach: native or nothing.  The CLI's own one-line error says why.
if out=$(lab_sluice attach "$LAB_IF_NODE" 2>&1); then
	echo "# $out"
	mode=$(lab_xdp_mode)
	if [[ $mode != xdp ]]; then
		bail "attach-native" "ip link shows XDP mode '${mode:-none}' on $LAB_IF_NODE, not native 'xdp'"
	fi
	if [[ $out != *native* ]]; then
		fail "attach-native" "attach succeeded but did not report native mode: $out"
	else
		ok "attach-native"
	fi
else
	bail "attach-native" "native XDP could not attach to $LAB_IF_NODE: $(tail -n 1 <<<"$out")"
fi

lab_write_lists "$LAB_TMP"
if out=$(lab_sluice load --block "$LAB_TMP/block.txt" --allow "$LAB_TMP/allow.txt" 2>&1); then
	echo "# $out"
	ok "load-lists"
else
	bail "load-lists" "$(tail -n 1 <<<"$out")"
fi

if lab_sluice stats --json >"$LAB_TMP/s.json" 2>"$LAB_TMP/s.err" &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d["counters"], list) and isinstance(d["aux"], dict)' "$LAB_TMP/s.json" 2>/dev/null; then
	ok "stats-json"
else
	bail "stats-json" "sluice stats --json gave no usable JSON: $(cat "$LAB_TMP/s.err" "$LAB_TMP/s.json" | head -c 200 | tr '\n' ' ')"
fi

# Nothing sent, nothing counted: the lab's noise suppression works, so the
# exact counts below mean something.
snap_before
sleep 1
check_delta "lab-is-quiet" "" "$(delta_since)"

# Blocked sources: nothing reaches the node, every packet counted as a
# blocklist drop.
ping_check "ping-blocked-v4" "$LAB_BLOCKED_V4" drop blocklist/drop "$PING_BYTES_V4"
ping_check "ping-blocked-v6" "$LAB_BLOCKED_V6" drop blocklist/drop "$PING_BYTES_V6"
udp_check "udp-blocked-v4" "$LAB_BLOCKED_V4" drop blocklist/drop "$UDP_BYTES_V4"
udp_check "udp-blocked-v6" "$LAB_BLOCKED_V6" drop blocklist/drop "$UDP_BYTES_V6"

# Clean sources, including one in the same /24 as the blocked /25 but
# outside it: everything through, counted as passed.
ping_check "ping-clean-v4" "$LAB_CLEAN_V4" pass passed/pass "$PING_BYTES_V4"
ping_check "ping-clean-v4-outside-blocked-25" "$LAB_EDGE_V4" pass passed/pass "$PING_BYTES_V4"
ping_check "ping-clean-v6" "$LAB_CLEAN_V6" pass passed/pass "$PING_BYTES_V6"
udp_check "udp-clean-v4" "$LAB_CLEAN_V4" pass passed/pass "$UDP_BYTES_V4"
udp_check "udp-clean-v4-outside-blocked-25" "$LAB_EDGE_V4" pass passed/pass "$UDP_BYTES_V4"
udp_check "udp-clean-v6" "$LAB_CLEAN_V6" pass passed/pass "$UDP_BYTES_V6"

# Allowlisted addresses inside the blocked prefixes: through, counted as
# allowlisted.
ping_check "ping-allowlisted-v4" "$LAB_ALLOWED_V4" pass allowlisted/pass "$PING_BYTES_V4"
ping_check "ping-allowlisted-v6" "$LAB_ALLOWED_V6" pass allowlisted/pass "$PING_BYTES_V6"
udp_check "udp-allowlisted-v4" "$LAB_ALLOWED_V4" pass allowlisted/pass "$UDP_BYTES_V4"
udp_check "udp-allowlisted-v6" "$LAB_ALLOWED_V6" pass allowlisted/pass "$UDP_BYTES_V6"

# Real TCP: a clean client gets a full connection, a blocked one times out.
tcp_check "tcp-clean-v4" "$LAB_CLEAN_V4" pass passed/pass
tcp_check "tcp-clean-v6" "$LAB_CLEAN_V6" pass passed/pass
tcp_check "tcp-blocked-v4" "$LAB_BLOCKED_V4" drop blocklist/drop
tcp_check "tcp-blocked-v6" "$LAB_BLOCKED_V6" drop blocklist/drop

# Detach: XDP gone from the uplink, blocked sources pass again, and the
# (still pinned) counters no longer move.
if out=$(lab_sluice detach "$LAB_IF_NODE" 2>&1); then
	echo "# $out"
	ok "detach"
else
	fail "detach" "$(tail -n 1 <<<"$out")"
fi
if lab_xdp_attached; then
	fail "xdp-gone-after-detach" "ip -n $LAB_NS_NODE link show $LAB_IF_NODE still shows $(lab_xdp_mode)"
else
	ok "xdp-gone-after-detach"
fi
snap_ok=1
snap_before 2>"$LAB_TMP/s.err" || snap_ok=0
out=$(lab_ping "$LAB_BLOCKED_V4" "$PING_N" 2>&1) && rc=0 || rc=$?
if [[ $rc == 0 && $out == *" $PING_N received"* ]]; then
	ok "ping-blocked-v4-after-detach"
else
	fail "ping-blocked-v4-after-detach" "blocked source still cut off after detach (ping exit $rc)"
fi
out=$(lab_ping "$LAB_BLOCKED_V6" "$PING_N" 2>&1) && rc=0 || rc=$?
if [[ $rc == 0 && $out == *" $PING_N received"* ]]; then
	ok "ping-blocked-v6-after-detach"
else
	fail "ping-blocked-v6-after-detach" "blocked source still cut off after detach (ping exit $rc)"
fi
before=$(lab_sink_count udp "$LAB_BLOCKED_V4")
lab_udp_send "$LAB_BLOCKED_V4" "$UDP_N" --size "$UDP_SIZE" >/dev/null
sleep 0.3
got=$(($(lab_sink_count udp "$LAB_BLOCKED_V4") - before))
if [[ $got == "$UDP_N" ]]; then
	ok "udp-blocked-v4-after-detach"
else
	fail "udp-blocked-v4-after-detach" "node received $got of $UDP_N datagrams after detach"
fi
if [[ $snap_ok == 1 ]] && delta=$(delta_since 2>"$LAB_TMP/s.err"); then
	check_delta "counters-still-after-detach" "" "$delta"
else
	fail "counters-still-after-detach" "sluice stats failed after detach: $(tail -n 1 "$LAB_TMP/s.err")"
fi

# unpin removes the lab's pins (lab_down would anyway; this checks the CLI).
if out=$(lab_sluice unpin 2>&1) && [[ ! -e $LAB_PIN_DIR ]]; then
	ok "unpin"
else
	fail "unpin" "pin dir $LAB_PIN_DIR still there after sluice unpin: $(tail -n 1 <<<"$out")"
fi

# Pins of another build (here fast6_g0 with an older, smaller value) are not
# reused: attach says which map and what to do, and attaches nothing.
lab_exec_node mkdir -p "$LAB_PIN_DIR"
lab_exec_node bpftool map create "$LAB_PIN_DIR/fast6_g0" type hash key 20 value 60 \
	entries 1048576 name fast6_g0 flags 1
if out=$(lab_sluice attach "$LAB_IF_NODE" 2>&1); then
	fail "attach-refuses-other-builds-pins" "attach succeeded over an incompatible pin: $out"
elif [[ $out == *"pinned map $LAB_PIN_DIR/fast6_g0 is from another sluice build"*"sluice unpin"* &&
	$(wc -l <<<"$out") == 1 ]] && ! lab_exec_node ip -d link show "$LAB_IF_NODE" | grep -q xdp; then
	ok "attach-refuses-other-builds-pins"
else
	fail "attach-refuses-other-builds-pins" "unexpected: $out"
fi
lab_sluice unpin >/dev/null 2>&1 || true

summary
[[ $FAILED == 0 ]]
