#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_feeds.sh - blocklist feeds under the daemon: traffic from sources in
# two list files is attributed to each list exactly (per-list counters), and
# a feed file replaced on disk takes effect at the next scheduled refresh
# while a steady legit stream loses nothing.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$here/lab.sh"

# shellcheck source=tests/lab/report.sh
source "$here/report.sh"

report_traps test_feeds

SOCK="$LAB_TMP/ctl.sock"
CONF="$LAB_TMP/feeds.conf"
LOG="$LAB_TMP/daemon.log"
FEED_A="$LAB_TMP/feed-a.txt"    # plain, Spamhaus style
FEED_B="$LAB_TMP/feed-b.txt.gz" # gzip, FireHOL style
FEED_C="$LAB_TMP/feed-c.txt"    # allowlist, on_error = "warn", two bad lines
METRICS="127.0.0.1:9541"
metrics() {
	lab_exec_node python3 -c 'import urllib.request, sys
print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode(), end="")' "http://$METRICS/metrics"
}
sluicectl() { nsenter --net="/run/netns/$LAB_NS_NODE" "$LAB_SLUICE" --socket "$SOCK" "$@"; }

# list ids: blocklist inline prefixes = 1, then the files in order: A = 2, B = 3
list_packets() {
	sluicectl stats --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
want = int(sys.argv[1])
print(sum(l["packets"] for l in d.get("lists", []) if l["list_id"] == want))' "$1"
}

setup_or_bail "lab-up" lab_up
printf '; feed A\n%s/32 ; SBL1\n' "$LAB_BLOCKED_V4" >"$FEED_A"
printf '# feed B\n2001:db8:bad::/48\n' | gzip -c >"$FEED_B"
printf '# feed C\nbanana\n2001:db8:f00d::/48\n2001:db8:f00d::1/48\n' >"$FEED_C"
{
	echo "interfaces = ( { name = \"$LAB_IF_NODE\"; } );"
	echo "blocklist = { files = [ \"$FEED_A\", \"$FEED_B\" ]; refresh = \"5s\"; };"
	echo "allowlist = { files = [ \"$FEED_C\" ]; on_error = \"warn\"; };"
	echo "stats = { listen = \"$METRICS\"; };" # loopback of the node namespace
	echo "control = { socket = \"$SOCK\"; pin_dir = \"$LAB_PIN_DIR\"; };"
} >"$CONF"
chmod 0644 "$CONF" "$FEED_A" "$FEED_B" "$FEED_C"

lab_sink_start || exit 1
check_daemon_start "daemon-runs" "$CONF" "$LOG" --socket "$SOCK"

# ---- attribution: exact per-list counts ------------------------------------
a0=$(list_packets 2) b0=$(list_packets 3)
lab_udp_send "$LAB_BLOCKED_V4" 7 >/dev/null
lab_udp_send "$LAB_BLOCKED_V6" 5 >/dev/null
sleep 0.3
a1=$(list_packets 2) b1=$(list_packets 3)
if [[ $((a1 - a0)) == 7 ]]; then ok "list-a-counts-its-drops"; else fail "list-a-counts-its-drops" "moved by $((a1 - a0)), sent 7"; fi
if [[ $((b1 - b0)) == 5 ]]; then ok "list-b-gzip-counts-its-drops"; else fail "list-b-gzip-counts-its-drops" "moved by $((b1 - b0)), sent 5"; fi
if [[ $(lab_sink_count udp "$LAB_BLOCKED_V4") == 0 ]]; then ok "blocked-v4-got-nothing"; else fail "blocked-v4-got-nothing" "datagrams reached the node"; fi

# ---- drop events name the list ------------------------------------------------
# list ids: blocklist inline 1, A 2, B 3; allowlist inline 4, C 5
EVFILE="$LAB_TMP/events.json"
if lab_sluice events --sample 1 >/dev/null 2>&1; then ok "sampling-on"; else fail "sampling-on" "events --sample 1 failed"; fi
sluicectl events --json --count 2 >"$EVFILE" 2>&1 &
evpid=$!
sleep 0.5
lab_udp_send "$LAB_BLOCKED_V4" 1 >/dev/null
lab_udp_send "$LAB_BLOCKED_V6" 1 >/dev/null
lab_wait_exit "$evpid" 30
kill "$evpid" 2>/dev/null
wait "$evpid" 2>/dev/null
evcheck=$(python3 -c '
import json, sys
want = {sys.argv[2]: (2, sys.argv[3]), sys.argv[4]: (3, sys.argv[5])}
seen = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("reason") == "blocklist":
        seen[e["src"]] = (e.get("list_id"), e.get("list", ""))
bad = [f"{s}: {seen.get(s)}, want list {i} ({f})" for s, (i, f) in want.items()
       if seen.get(s, (None, ""))[0] != i or not seen[s][1].endswith(f)]
print("; ".join(bad) if bad else "ok")' "$EVFILE" "$LAB_BLOCKED_V4" "$FEED_A" "$LAB_BLOCKED_V6" "$FEED_B" 2>&1)
if [[ $evcheck == ok ]]; then ok "drop-events-name-their-list"; else
	fail "drop-events-name-their-list" "$evcheck ($(head -c 300 "$EVFILE"))"; fi

# ---- on_error = "warn": bad lines skipped, counted, logged ----------------------
if grep -q "feed-c.txt:2:1: 'banana'" "$LOG" && grep -q "feed-c.txt:4:1: .* host bits" "$LOG"; then
	ok "warn-list-bad-lines-logged-with-file-line"
else
	fail "warn-list-bad-lines-logged-with-file-line" "$(grep -c warning "$LOG") warning lines in the log"
fi
bad_json=$(sluicectl stats --json | python3 -c '
import json, sys
print(sum(l.get("bad_lines", 0) for l in json.load(sys.stdin).get("lists", []) if l["list_id"] == 5))')
if [[ $bad_json == 2 ]]; then ok "warn-list-bad-lines-in-stats-json"; else fail "warn-list-bad-lines-in-stats-json" "list 5: $bad_json bad lines, want 2"; fi
if metrics | grep -q '^sluice_list_bad_lines{list_id="5",source="allow [^"]*feed-c.txt"} 2$'; then
	ok "warn-list-bad-lines-in-prometheus"
else
	fail "warn-list-bad-lines-in-prometheus" "$(metrics | grep bad_lines | head -n 3 | tr '\n' '|')"
fi
if sluicectl status | grep -q "list files: *2 bad lines skipped"; then ok "warn-list-bad-lines-in-status"; else
	fail "warn-list-bad-lines-in-status" "$(sluicectl status | grep -i bad)"; fi
if lab_sluice block test 2001:db8:f00d::9 -c "$CONF" 2>&1 | grep -q "data path .*: allow.*(list 5)"; then ok "warn-list-good-lines-loaded"; else
	fail "warn-list-good-lines-loaded" "$(lab_sluice block test 2001:db8:f00d::9 -c "$CONF" 2>&1 | head -n 2)"; fi

# ---- refresh: replace feed B on disk, under a steady legit stream ---------
legit_sent=400
lab_exec_client python3 "$LAB_NET_PY" udp-send --src "$LAB_CLEAN_V4" \
	--dst "$(lab_node_addr_for "$LAB_CLEAN_V4")" --port "$LAB_UDP_PORT" \
	--count "$legit_sent" --interval 0.02 >/dev/null &
stream=$!
sleep 1
# the edge source is clean now; the new feed B lists it (written whole, then renamed)
printf '# feed B, new\n2001:db8:bad::/48\n%s/32\n' "$LAB_EDGE_V4" | gzip -c >"$FEED_B.new"
chmod 0644 "$FEED_B.new"
mv "$FEED_B.new" "$FEED_B"
t0=$(date +%s)
effective=0
while (($(date +%s) - t0 < 12)); do
	before=$(lab_sink_count udp "$LAB_EDGE_V4")
	lab_udp_send "$LAB_EDGE_V4" 1 >/dev/null
	sleep 0.2
	if [[ $(lab_sink_count udp "$LAB_EDGE_V4") == "$before" ]]; then
		effective=1
		break
	fi
	sleep 0.3
done
wait "$stream"
sleep 0.3
if ((effective)); then ok "replaced-feed-effective-at-next-refresh ($(($(date +%s) - t0)) s)"; else
	fail "replaced-feed-effective-at-next-refresh" "edge source still passes after 12 s: $(tail -n 3 "$LOG")"; fi
if grep -q "list refresh" "$LOG"; then ok "refresh-logged"; else fail "refresh-logged" "no refresh line in the log"; fi
got=$(lab_sink_count udp "$LAB_CLEAN_V4")
if [[ $got == "$legit_sent" ]]; then ok "no-legit-loss-during-refresh ($got/$legit_sent)"; else
	fail "no-legit-loss-during-refresh" "the node got $got of $legit_sent"; fi

# ---- a broken feed keeps the running lists ---------------------------------
printf 'not-a-prefix\n' >"$FEED_A"
sleep 7
before=$(lab_sink_count udp "$LAB_BLOCKED_V4")
lab_udp_send "$LAB_BLOCKED_V4" 3 >/dev/null
sleep 0.3
if [[ $(lab_sink_count udp "$LAB_BLOCKED_V4") == "$before" ]]; then ok "broken-feed-keeps-old-lists"; else
	fail "broken-feed-keeps-old-lists" "the blocked source got through"; fi
if grep -q "feed-a.txt:1:1: .not-a-prefix" "$LOG"; then ok "broken-feed-reported-with-file-line"; else
	fail "broken-feed-reported-with-file-line" "$(tail -n 4 "$LOG")"; fi

if sluicectl stop >/dev/null 2>&1; then ok "daemon-stops"; else fail "daemon-stops" "sluice stop failed"; fi
summary
