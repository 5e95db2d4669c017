#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_observe.sh - what the daemon shows about the traffic (issue #9), in
# the pod lab (lab_up + lab_pods_up) with `sluice run`:
#   - workloads: a short-lived process in a cgroup of its own (made here
#     under the cgroup2 mount) sends a known number of bytes from the node's
#     own address and exits, its cgroup is removed, and afterwards its
#     packets and bytes are attributed, exactly, to its cgroup's name; one
#     report later it is gone; a live cgroup stays in every report;
#   - a flood of blocked packets with sampling on: the events streamed stay
#     within the per-second cap while the verdict and per-list counters,
#     and the event records (sent + sampled out + lost), stay exact;
#   - `sluice events --pod P`: only P's events;
#   - `sluice top` in a terminal (tmux) shows the lab's traffic: drops by
#     reason, the blocked source, its list, the pods, the workload; q quits;
#   - the metrics carry the per-reason, per-pod and per-workload series, and
#     every metric name is documented in docs/observability.md.
# Environment: OBSERVE_SAVE=DIR keeps the top screen and an events sample
# (for the README).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$here/lab.sh"
# shellcheck source=tests/lab/report.sh
source "$here/report.sh"

SOCK="$LAB_TMP/ctl.sock"
CONF="$LAB_TMP/observe.conf"
LOG="$LAB_TMP/daemon.log"
METRICS=127.0.0.1:9563
CAP=50          # events per second per CPU and reason, while flooding
SINK_PORT=9100  # the client's sink for the node's own traffic
TMUX_SOCK="sluice-lab-$LAB_ID"
CG_ROOT=
CGROUPS=()      # cgroups made here (removed at the end)
BG=()           # background jobs started here

sluicectl() { "$LAB_SLUICE" --socket "$SOCK" "$@"; }
metrics() { lab_exec_node curl -s -m 5 "http://$METRICS/metrics"; }
# metric_value TEXT SERIES: the value of one series line (empty if absent)
metric_value() { awk -v s="$2" '$1 == s { print $2 }' <<<"$1"; }

test_cleanup() {
	local pid cg
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null
	for pid in "${BG[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for cg in "${CGROUPS[@]}"; do
		# move anything still in it out first (to the root), then remove it
		if [[ -e $cg/cgroup.procs ]]; then
			while read -r pid; do
				echo "$pid" >"$CG_ROOT/cgroup.procs" 2>/dev/null
			done <"$cg/cgroup.procs"
		fi
		rmdir "$cg" 2>/dev/null
	done
	lab_down
	return 0
}
report_traps test_observe

# in_cgroup NAME CMD...: run CMD in the node namespace inside a new cgroup
# NAME (a child of the cgroup2 root) and wait for it; prints its output.
in_cgroup() {
	local cg="$CG_ROOT/$1"
	shift
	mkdir "$cg" || return 1
	CGROUPS+=("$cg")
	# shellcheck disable=SC2016 # $$ and $1 belong to the inner shell
	bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec nsenter --net="$@"' _ \
		"$cg" "/run/netns/$LAB_NS_NODE" -- "$@"
}

for t in tmux curl; do
	command -v "$t" >/dev/null || bail "prerequisites" "$t is not installed (make deps installs it)"
done
CG_ROOT=$(lab_cgroup2_root)
[[ -n $CG_ROOT && -w $CG_ROOT/cgroup.procs ]] || bail "prerequisites" "no writable cgroup2 mount"
setup_or_bail "lab-up" lab_up
setup_or_bail "lab-up" lab_pods_up
lab_write_lists "$LAB_TMP"

# pod-a lets in TCP 8080 only; pod-b everything
{
	echo "interfaces = ( { name = \"$LAB_IF_NODE\"; } );"
	echo "blocklist = { files = [ \"$LAB_TMP/block.txt\" ]; };"
	echo "allowlist = { files = [ \"$LAB_TMP/allow.txt\" ]; };"
	echo "pods = ("
	echo "  { name = \"${LAB_POD_NAME[0]}\"; addresses = [ \"${LAB_POD_V4[0]}\" ];"
	echo "    veth = \"${LAB_POD_VETH_PATTERN[0]}\";"
	echo "    ingress = { default = \"deny\"; allow = ( { protocol = \"tcp\"; ports = \"8080\"; } ); }; },"
	echo "  { name = \"${LAB_POD_NAME[1]}\"; addresses = [ \"${LAB_POD_V4[1]}\" ];"
	echo "    veth = \"${LAB_POD_VETH_PATTERN[1]}\"; }"
	echo ");"
	echo "stats = { listen = \"$METRICS\"; };"
	echo "control = { socket = \"$SOCK\"; pin_dir = \"$LAB_PIN_DIR\"; };"
} >"$CONF"
chmod 0644 "$CONF" "$LAB_TMP/block.txt" "$LAB_TMP/allow.txt"

check_daemon_start "daemon-runs" "$CONF" "$LOG" --socket "$SOCK"
if tc -n "$LAB_NS_NODE" filter show dev "$LAB_IF_NODE" egress | grep -q 'sluice_tc_cgrou'; then
	ok "uplink-egress-tc-attached"
else
	fail "uplink-egress-tc-attached" "no sluice_tc_cgroup filter on $LAB_IF_NODE egress"
fi
lab_sluice events --sample 1 --cap "$CAP" >/dev/null || fail "sampling-set" "events --sample failed"
lab_sink_start_in "$LAB_NS_CLIENT" csink "$SINK_PORT" $((SINK_PORT + 1)) "$LAB_CLIENT_V4" ||
	bail "client-sink" "the client's sink did not start"

# ---- workloads: a process that lived briefly, in its own cgroup ----------------
COUNT=40 SIZE=200
WANT_BYTES=$((COUNT * (14 + 20 + 8 + SIZE))) # Ethernet + IPv4 + UDP + payload
WORKER="sluice-lab-$LAB_ID-worker"
sent=$(in_cgroup "$WORKER" python3 "$LAB_NET_PY" udp-send --src "$LAB_NODE_V4" \
	--dst "$LAB_CLIENT_V4" --port "$SINK_PORT" --count "$COUNT" --size "$SIZE")
rmdir "$CG_ROOT/$WORKER" || fail "worker-cgroup-removed" "rmdir $CG_ROOT/$WORKER failed"
sleep 0.3
got=$(lab_sink_count_in csink udp "$LAB_NODE_V4")
[[ $sent == "$COUNT" && $got == "$COUNT" ]] || fail "worker-sent" "sent '$sent', the client got $got"
m=$(metrics)
p=$(metric_value "$m" "sluice_workload_packets_total{workload=\"/$WORKER\"}")
b=$(metric_value "$m" "sluice_workload_bytes_total{workload=\"/$WORKER\"}")
if [[ $p == "$COUNT" && $b == "$WANT_BYTES" ]]; then
	ok "short-lived-cgroup-attributed-after-exit ($p packets, $b bytes)"
else
	fail "short-lived-cgroup-attributed-after-exit" "want $COUNT packets $WANT_BYTES bytes for /$WORKER, got '$p' '$b'; workloads: $(grep '^sluice_workload' <<<"$m" | tr '\n' ' ')"
fi
if sluicectl status | grep -q "/$WORKER"; then
	fail "gone-cgroup-reported-once" "still listed after the metrics reported it"
else
	ok "gone-cgroup-reported-once"
fi

# a live one: sends, then stays (sleeping) in its cgroup
LIVE="sluice-lab-$LAB_ID-live"
mkdir "$CG_ROOT/$LIVE" && CGROUPS+=("$CG_ROOT/$LIVE")
# shellcheck disable=SC2016
bash -c 'echo $$ >"$1/cgroup.procs" && shift &&
	nsenter --net="$1" python3 "$2" udp-send --src "$3" --dst "$4" --port "$5" --count 10 --size 58 >/dev/null &&
	exec sleep 300' _ "$CG_ROOT/$LIVE" "/run/netns/$LAB_NS_NODE" "$LAB_NET_PY" "$LAB_NODE_V4" \
	"$LAB_CLIENT_V4" "$SINK_PORT" &
LIVE_PID=$!
BG+=("$LIVE_PID")
sleep 1
s1=$(sluicectl status | grep " /$LIVE ")
s2=$(sluicectl status | grep " /$LIVE ")
if [[ $s1 == *" 10 packets"*" 1000 bytes"* && $s2 == "$s1" ]]; then
	ok "live-cgroup-in-every-report"
else
	fail "live-cgroup-in-every-report" "first '$s1', then '$s2'"
fi
kill "$LIVE_PID" 2>/dev/null # its cgroup stays until the end: no longer alive, not gone
wait "$LIVE_PID" 2>/dev/null

# ---- a flood with sampling on ---------------------------------------------------
EVFILE="$LAB_TMP/flood-events.json"
m0=$(metrics)
lab_stats_snapshot "$LAB_TMP/s0.json"
sluicectl events --json >"$EVFILE" 2>&1 &
EVPID=$!
BG+=("$EVPID")
sleep 0.3
N=$(lab_exec_client python3 "$LAB_NET_PY" udp-send --src "$LAB_BLOCKED_V4" \
	--dst "$LAB_NODE_V4" --port "$LAB_UDP_PORT" --duration 3 --interval 0.00005)
sleep 0.5
kill "$EVPID"
wait "$EVPID" 2>/dev/null
lab_stats_snapshot "$LAB_TMP/s1.json"
m1=$(metrics)
delta=$(lab_stats_delta "$LAB_TMP/s0.json" "$LAB_TMP/s1.json")
drops=$(awk '$1 == "blocklist/drop" { print $2 }' <<<"$delta")
list=$(python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
def l(d): return sum(x["packets"] for x in d.get("lists", []) if x["list_id"] == 2)
print(l(b) - l(a))' "$LAB_TMP/s0.json" "$LAB_TMP/s1.json")
if [[ $drops == "$N" && $list == "$N" ]]; then
	ok "flood-counters-exact ($N packets: blocklist drops and list 2)"
else
	fail "flood-counters-exact" "sent $N, blocklist drops +$drops, list 2 +$list"
fi
rec() { metric_value "$1" "sluice_event_records_total{result=\"$2\"}"; }
sent=$(($(rec "$m1" sent) - $(rec "$m0" sent)))
accounted=$((sent + $(rec "$m1" sampled_out) - $(rec "$m0" sampled_out) + $(rec "$m1" lost) - $(rec "$m0" lost)))
if [[ $accounted == "$N" ]]; then
	ok "flood-event-records-account-for-every-drop ($sent sent)"
else
	fail "flood-event-records-account-for-every-drop" "$N drops, sent+sampled_out+lost = $accounted"
fi
read -r events span maxsec < <(python3 -c '
import json, sys
ts = []
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("type") == "drop":
        ts.append(e["ts_ns"])
per = {}
for t in ts:
    per[t // 10**9] = per.get(t // 10**9, 0) + 1
span = (max(ts) - min(ts)) / 1e9 if ts else 0
print(len(ts), "%.3f" % span, max(per.values()) if per else 0)' "$EVFILE")
ncpu=$(nproc --all)
# each CPU sends at most CAP per window of one second: a span of S seconds
# touches at most floor(S) + 2 windows per CPU, a calendar second two
bound=$((CAP * ncpu * (${span%.*} + 2)))
if ((events > 0 && events <= bound && maxsec <= 2 * CAP * ncpu)); then
	ok "flood-events-within-cap ($events events over ${span}s, at most $maxsec in a second; cap $CAP/s x $ncpu CPUs)"
else
	fail "flood-events-within-cap" "$events events over ${span}s (bound $bound), $maxsec in one second"
fi
if [[ $events == "$sent" ]]; then
	ok "events-streamed-without-loss ($events)"
else
	fail "events-streamed-without-loss" "$sent records sent, $events streamed"
fi

# ---- events --pod ---------------------------------------------------------------
sluicectl events --pod "${LAB_POD_NAME[0]}" --count 5 >"$LAB_TMP/ev-a.txt" 2>&1 &
EVA=$!
BG+=("$EVA")
sluicectl events --pod "${LAB_POD_NAME[1]}" >"$LAB_TMP/ev-b.txt" 2>&1 &
EVB=$!
BG+=("$EVB")
sleep 0.3
m0=$(metrics)
lab_exec_client python3 "$LAB_NET_PY" udp-send --src "$LAB_CLEAN_V4" --dst "${LAB_POD_V4[0]}" \
	--port 9000 --count 5 >/dev/null
lab_exec_client python3 "$LAB_NET_PY" udp-send --src "$LAB_CLEAN_V4" --dst "${LAB_POD_V4[1]}" \
	--port 9000 --count 7 >/dev/null
lab_wait_exit "$EVA" 30
kill "$EVB" 2>/dev/null
wait "$EVB" 2>/dev/null
a_lines=$(grep -c . "$LAB_TMP/ev-a.txt")
a_pod=$(grep -c "^policy_deny .*pod_ingress_denied .* -> ${LAB_POD_V4[0]}:9000 pod ${LAB_POD_NAME[0]}\$" "$LAB_TMP/ev-a.txt")
if [[ $a_lines == 5 && $a_pod == 5 ]] && ! kill -0 "$EVA" 2>/dev/null; then
	ok "events-pod-filter-shows-the-pod ($a_pod denials of ${LAB_POD_NAME[0]})"
else
	fail "events-pod-filter-shows-the-pod" "$(head -n 7 "$LAB_TMP/ev-a.txt" | tr '\n' '|')"
fi
if [[ ! -s $LAB_TMP/ev-b.txt ]]; then
	ok "events-pod-filter-hides-other-pods"
else
	fail "events-pod-filter-hides-other-pods" "$(head -n 3 "$LAB_TMP/ev-b.txt" | tr '\n' '|')"
fi
m1=$(metrics)
pm() { metric_value "$1" "sluice_pod_$2{pod=\"$3\",direction=\"$4\"}"; }
rx_b=$(($(pm "$m1" packets_total "${LAB_POD_NAME[1]}" rx) - $(pm "$m0" packets_total "${LAB_POD_NAME[1]}" rx)))
den_a=$(($(pm "$m1" denied_packets_total "${LAB_POD_NAME[0]}" ingress) - $(pm "$m0" denied_packets_total "${LAB_POD_NAME[0]}" ingress)))
if [[ $rx_b == 7 && $den_a == 5 ]]; then
	ok "pod-series-exact (${LAB_POD_NAME[1]} rx +7, ${LAB_POD_NAME[0]} ingress denied +5)"
else
	fail "pod-series-exact" "${LAB_POD_NAME[1]} rx +$rx_b (want 7), ${LAB_POD_NAME[0]} denied +$den_a (want 5)"
fi

# ---- sluice top in a terminal -----------------------------------------------------
lab_exec_client python3 "$LAB_NET_PY" udp-send --src "$LAB_BLOCKED_V4" --dst "$LAB_NODE_V4" \
	--port "$LAB_UDP_PORT" --duration 8 --interval 0.001 >/dev/null &
BG+=("$!")
lab_exec_client python3 "$LAB_NET_PY" udp-send --src "$LAB_CLEAN_V4" --dst "${LAB_POD_V4[1]}" \
	--port 9000 --duration 8 --interval 0.01 >/dev/null &
BG+=("$!")
STEADY="sluice-lab-$LAB_ID-steady"
mkdir "$CG_ROOT/$STEADY" && CGROUPS+=("$CG_ROOT/$STEADY")
# shellcheck disable=SC2016
bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec nsenter --net="$@"' _ "$CG_ROOT/$STEADY" \
	"/run/netns/$LAB_NS_NODE" python3 "$LAB_NET_PY" udp-send --src "$LAB_NODE_V4" \
	--dst "$LAB_CLIENT_V4" --port "$SINK_PORT" --duration 8 --interval 0.02 --size 100 >/dev/null &
BG+=("$!")
lab_exec_client python3 "$LAB_NET_PY" udp-send --src "$LAB_CLEAN_V4" --dst "${LAB_POD_V4[0]}" \
	--port 9000 --duration 8 --interval 0.2 >/dev/null &
BG+=("$!")
tmux -L "$TMUX_SOCK" new-session -d -s top -x 150 -y 60 "$LAB_SLUICE --socket $SOCK top" ||
	fail "top-starts" "tmux new-session failed"
sleep 1.5
# while top runs: a process that sends 20 datagrams from a cgroup that is
# gone a moment later (top shows it, marked gone, for 10 s)
BRIEF="sluice-lab-$LAB_ID-brief"
in_cgroup "$BRIEF" python3 "$LAB_NET_PY" udp-send --src "$LAB_NODE_V4" --dst "$LAB_CLIENT_V4" \
	--port "$SINK_PORT" --count 20 --size 100 >/dev/null
rmdir "$CG_ROOT/$BRIEF"
sleep 2.5
SCREEN="$LAB_TMP/top-screen.txt"
tmux -L "$TMUX_SOCK" capture-pane -p -t top >"$SCREEN" 2>/dev/null
# row WORD...: the first screen line that holds all the words
row() {
	local re="" w
	for w in "$@"; do re+="${w//./\\.}.*"; done
	grep -m 1 -E "${re%.\*}" "$SCREEN"
}
# rate N: is the Nth field of the line a non-zero rate?
rate_nonzero() { awk -v f="$2" '{ exit !($f != "0" && $f != "") }' <<<"$1"; }
r_drop=$(row blocklist drop)
r_src=$(row "$LAB_BLOCKED_V4" blocklist block.txt)
r_pod=$(row "${LAB_POD_NAME[1]}")
r_wl=$(row "/$STEADY")
r_gone=$(row "/$BRIEF" "(gone)")
if grep -q "^sluice top - daemon pid" "$SCREEN" && rate_nonzero "$r_drop" 3 &&
	rate_nonzero "$r_src" 2 && rate_nonzero "$r_pod" 2 && rate_nonzero "$r_wl" 2 &&
	[[ $(awk '{ print $4, $5 }' <<<"$r_gone") == "20 2840" ]]; then
	ok "top-shows-the-lab-traffic (drops/s, blocked source and its list, pod rx, workloads, a gone one)"
else
	fail "top-shows-the-lab-traffic" "drop '$r_drop' source '$r_src' pod '$r_pod' workload '$r_wl' gone '$r_gone'"
	sed 's/^/#   /' "$SCREEN"
fi
tmux -L "$TMUX_SOCK" send-keys -t top q
for ((k = 0; k < 30; k++)); do
	tmux -L "$TMUX_SOCK" has-session -t top 2>/dev/null || break
	sleep 0.1
done
if tmux -L "$TMUX_SOCK" has-session -t top 2>/dev/null; then
	fail "top-quits-on-q" "still running 3 s after q"
else
	ok "top-quits-on-q"
fi
if [[ -n ${OBSERVE_SAVE:-} ]]; then
	mkdir -p "$OBSERVE_SAVE"
	cp "$SCREEN" "$OBSERVE_SAVE/top-screen.txt"
	sluicectl events --count 8 >"$OBSERVE_SAVE/events.txt" 2>&1
	sluicectl events --pod "${LAB_POD_NAME[0]}" --count 3 >"$OBSERVE_SAVE/events-pod.txt" 2>&1
	sluicectl events --json --count 2 >"$OBSERVE_SAVE/events-json.txt" 2>&1
	sluicectl top --count 1 --interval 1 >"$OBSERVE_SAVE/top-batch.txt" 2>&1
fi
for pid in "${BG[@]}"; do
	wait "$pid" 2>/dev/null
done
BG=()

# ---- the metrics: well formed, documented ---------------------------------------------
m=$(metrics)
bad=$(python3 -c '
import re, sys
line_re = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\",?)*\})? [0-9]+(\.[0-9]+)?$")
typed = set()
for line in sys.stdin.read().splitlines():
    if line.startswith("# TYPE "):
        typed.add(line.split()[2])
    elif line.startswith("#") or not line:
        continue
    elif not line_re.match(line) or line.split("{")[0].split(" ")[0] not in typed:
        print(line)' <<<"$m")
if [[ -z $bad ]]; then ok "metrics-well-formed"; else fail "metrics-well-formed" "$(head -n 3 <<<"$bad")"; fi
undocumented=""
while read -r name; do
	grep -q "\`$name\`" "$LAB_REPO/docs/observability.md" || undocumented+=" $name"
done < <(awk '$1 == "#" && $2 == "TYPE" { print $3 }' <<<"$m")
if [[ -z $undocumented ]]; then ok "metric-names-documented"; else
	fail "metric-names-documented" "not in docs/observability.md:$undocumented"; fi
for s in 'sluice_packets_total{reason="blocklist",action="drop"}' \
	"sluice_pod_packets_total{pod=\"${LAB_POD_NAME[1]}\",direction=\"rx\"}" \
	"sluice_workload_bytes_total{workload=\"/$STEADY\"}" \
	'sluice_tc_packets_total{reason="pod_ingress_denied"}' \
	'sluice_event_records_total{result="sent"}'; do
	[[ -n $(metric_value "$m" "$s") ]] || fail "metrics-series" "no $s"
done

if sluicectl stop >/dev/null 2>&1; then ok "daemon-stops"; else fail "daemon-stops" "sluice stop failed"; fi
out=$(sluicectl top --count 1 2>&1)
if [[ $out == *"no sluice daemon answers"* ]]; then
	ok "top-without-daemon-says-so"
else
	fail "top-without-daemon-says-so" "$(head -n 2 <<<"$out" | tr '\n' '|')"
fi
summary
