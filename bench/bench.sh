#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh - the sluice benchmark (issue #6).  `make bench` runs it whole,
# `make bench SCENARIO=drop,lb` some of it, `make bench-smoke` a tiny
# version that tests/bench runs inside `make test`.
#
# Rig: the namespace lab (tests/lab/lab.sh, lab_up).  The generator is the
# client namespace: sluice-gen sends from c0 with BPF_PROG_RUN live frames
# (XDP_TX to the veth peer) on CPU $GEN_CPU.  The device under test (DUT) is
# the node namespace: whatever runs on up0 (sluice, a bare baseline program,
# or nftables/iptables behind an XDP_PASS counter).  up0's receive path runs
# in a threaded-NAPI kthread pinned to CPU $DUT_CPU at SCHED_FIFO (what a
# NIC's softirq would get), so the DUT's work is exactly that kthread's CPU
# time, whatever else runs on the machine.  c0's receive path (packets the
# DUT sends back: load balancing) is threaded too, on the generator's CPU,
# so it never counts as DUT time.
#
# Every case runs $REPEATS times for $DURATION seconds, the repeats looping
# over the variants; the report takes medians.  Numbers per case: the DUT's
# own counters (packets it processed and what it did with them) per second,
# and its CPU time per packet (the NAPI kthread's schedstat), plus /proc/stat
# and /proc/softirqs per CPU.  Each case runs flat out (the max rate; when
# the DUT is not saturated it is the rig's, marked as such) and at one fixed
# offered rate, $RATE, the same for every variant, where the CPU time per
# packet compares them on equal terms (the per-poll overhead depends on the
# arrival rate).  The report judges the targets on that cost ratio and
# shows the max-rate ratio next to it.
#
# Scenarios (each measures its baselines in the same run, on the same lab):
#   drop    SYN flood from a 100k v4 + 10k v6 blocklist: sluice, bare
#           XDP_DROP, nftables netdev ingress set, iptables raw (4 rules),
#           iptables + ipset; clean traffic: sluice vs bare XDP_PASS
#   scale   1k, 10k, 100k, 1M v4 prefixes (+ v6, 256k at 1M): sluice and a
#           textbook LPM-trie XDP program
#   lb      legit flows to a VIP with 8 backends: sluice NAT, bare XDP_TX,
#           nftables DNAT + conntrack (kube-proxy nftables style)
#   mixed   90% flood + 10% legit at a fixed rate: legit delivered, CPU
#   reload  `sluice apply` of 100k prefixes + 1k services under the mixed
#           load: legit loss while it applies, time to apply
#   syn     spoofed SYN flood (1024 sources, flat out) at a local TCP service
#           while real clients make handshakes to it: legit handshakes
#           completed and the DUT's CPU per packet with no defences, with
#           token buckets + auto-block (the daemon running), with iptables
#           SYNPROXY, and with sluice's XDP SYN cookies when the build has
#           them (`sluice check` accepts syn_cookies; else reported missing)
#   reload  a running daemon (`sluice run`) reloads, on SIGHUP, 100k prefixes
#           + 1k services under the mixed load: signal -> generation switch,
#           legit loss in that window
#   feedload 1M v4 + 256k v6 prefixes in one gzip feed through the daemon:
#           start and reload to the generation switch, where the time goes
#           (sluice-feedload: parse, compile, fast-table build, each map
#           write: chunks, v6 hash, tries, tables), memory from the maps
#           (no traffic)
#
# Output: $OUT/latest.json (every run, medians, kernel, CPU, commit),
# latest.md (tables, ratios vs targets, the command), latest-*.png.
#
# Usage: bench/bench.sh [--scenario LIST] [--smoke] [--out DIR]
# Environment: BENCH_DURATION, BENCH_REPEATS, BENCH_RATE (the fixed offered
# rate of the cost comparison), BENCH_RATE_MIXED, BENCH_RATE_RELOAD,
# BENCH_SEED, BENCH_SCALE_SIZES,
# BENCH_NAPI_PRIO (0: leave the kthread SCHED_OTHER), BENCH_NAPI_DEFER_US
# (0: no coalescing), BENCH_LAB_ID, GEN_CPU, DUT_CPU; syn: BENCH_SYN_FIXED_RATE,
# BENCH_SYN_LEGIT_RATE (see measure_syn).
set -Eeuo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
ALL_SCENARIOS=(drop scale lb mixed reload syn feedload)

usage() {
	sed -n '/^# Usage:/,/^set -E/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

# ---- options ------------------------------------------------------------------

SMOKE=0
OUT=""
SCENARIO_ARG=all
# what the report names as the command (make bench says "make bench ...")
COMMAND_LINE=${BENCH_COMMAND:-bench/bench.sh${*:+ $*}}
while [[ $# -gt 0 ]]; do
	case $1 in
	--smoke) SMOKE=1 ;;
	--scenario)
		SCENARIO_ARG=${2:?--scenario needs a list}
		shift
		;;
	--out)
		OUT=${2:?--out needs a directory}
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "bench: unknown argument $1" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done

SCENARIOS=()
IFS=', ' read -r -a _wanted <<<"$SCENARIO_ARG"
for s in "${_wanted[@]}"; do
	case $s in
	all) SCENARIOS=("${ALL_SCENARIOS[@]}") ;;
	1 | drop) SCENARIOS+=(drop) ;;
	2 | scale) SCENARIOS+=(scale) ;;
	3 | lb) SCENARIOS+=(lb) ;;
	4 | mixed) SCENARIOS+=(mixed) ;;
	5 | reload) SCENARIOS+=(reload) ;;
	6 | syn) SCENARIOS+=(syn) ;;
	7 | feedload) SCENARIOS+=(feedload) ;;
	*)
		echo "bench: unknown scenario '$s' (one of: ${ALL_SCENARIOS[*]}, all)" >&2
		exit 2
		;;
	esac
done

# ---- knobs --------------------------------------------------------------------

if [[ $SMOKE == 1 ]]; then
	DURATION=${BENCH_DURATION:-0.3}
	REPEATS=${BENCH_REPEATS:-1}
	RATE=${BENCH_RATE:-200000}
	RATE_MIXED=${BENCH_RATE_MIXED:-200000}
	RATE_RELOAD=${BENCH_RATE_RELOAD:-100000}
	S1_V4=1000 S1_V6=100
	FEED_V4=10000
	SCALE_SIZES=${BENCH_SCALE_SIZES:-"100 1000"}
	RELOAD_SERVICES=20
	OUT=${OUT:-$ROOT/build/bench-smoke}
else
	DURATION=${BENCH_DURATION:-2}
	REPEATS=${BENCH_REPEATS:-5}
	RATE=${BENCH_RATE:-1000000}
	RATE_MIXED=${BENCH_RATE_MIXED:-1000000}
	RATE_RELOAD=${BENCH_RATE_RELOAD:-500000}
	S1_V4=100000 S1_V6=10000
	FEED_V4=1000000
	SCALE_SIZES=${BENCH_SCALE_SIZES:-"1000 10000 100000 1000000"}
	RELOAD_SERVICES=1000
	OUT=${OUT:-$ROOT/bench/results}
fi
SEED=${BENCH_SEED:-1}
GEN_CPU=${GEN_CPU:-0}
DUT_CPU=${DUT_CPU:-1}
NAPI_PRIO=${BENCH_NAPI_PRIO:-50}
NAPI_DEFER_US=${BENCH_NAPI_DEFER_US:-20}
WARMUP=0.3 # seconds of legit-only traffic before LB cases (conntrack/conn entries)

# The bench address plan (the lab's own plan is tests/lab/lab.sh; all of
# this is in the benchmarking range 198.18.0.0/15, which the prefix sets
# leave out).
VIP=198.19.0.80         # the load-balanced service (on no interface, not routed)
VIP_PORT=80
BACKENDS=()             # 198.19.1.1-8:8080, routed via the client side
for i in 1 2 3 4 5 6 7 8; do BACKENDS+=("198.19.1.$i:8080"); done
LEGIT_BASE=198.18.16.0  # legit flows: 1024 sources, one flow each
LEGIT_FLOWS=1024
CLEAN_BASE=198.18.32.1  # clean traffic: UDP to a closed port of the node
NODE_ROUTES=(198.18.0.0/16 198.19.1.0/24 198.19.64.0/18)

# The system's python3 where there is one: a pyenv shim costs 150 ms a call,
# and the bench calls python a few times per measurement (stdlib only).
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
# The binaries, copied for the run: build/ is shared with whoever else works
# in this tree, and a rebuild in the middle of a run (the binary gone for a
# moment, or a different sluice in the second half) would spoil it.  The
# BPF objects are inside them (skeletons).
BIN=""
snapshot_binaries() {
	local f
	for f in sluice sluice-gen sluice-sink sluice-feedload; do
		[[ -x $ROOT/build/$f ]] ||
			die "build/$f missing: run make all build/sluice-sink (make bench does)"
	done
	BIN=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-bin.XXXXXX")
	cp "$ROOT/build/sluice" "$ROOT/build/sluice-gen" "$ROOT/build/sluice-sink" \
		"$ROOT/build/sluice-feedload" "$BIN/" ||
		die "cannot copy the binaries to $BIN"
	GEN=$BIN/sluice-gen
	SINK=$BIN/sluice-sink
	LAB_SLUICE=$BIN/sluice # lab.sh's sluice (lab_sluice, and lab_down's detach)
}
GEN=""
SINK=""
MEASURE=$BENCH_DIR/measure.py
INPUTS=$BENCH_DIR/inputs.py
CACHE=$ROOT/build/bench-cache

# ---- the lab --------------------------------------------------------------------

export LAB_ID=${BENCH_LAB_ID:-bench$$}
export LAB_SETTLE=1 # nothing here counts single packets: no need to wait for MLD
# shellcheck source=tests/lab/lab.sh
source "$ROOT/tests/lab/lab.sh"

W="" # work directory (inside the lab's tmp dir, removed with it)
LOG=/dev/null
BG_PIDS=() # background processes outside the namespaces (the sampler)
T_START=$SECONDS
PROGRESS_TTY=0
[[ -t 2 ]] && PROGRESS_TTY=1

cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM ERR
	[[ $PROGRESS_TTY == 1 ]] && printf '\n' >&2
	for pid in "${BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	# lab_down kills whatever runs in the namespaces (the generator), detaches
	# sluice, deletes the namespaces (and with them the veths, their XDP
	# programs, the nftables/iptables/ipset state) and the pin directories.
	lab_down
	if [[ $BIN == */sluice-bench-bin.* ]]; then
		rm -rf -- "$BIN"
	fi
	if [[ $rc != 0 ]]; then
		echo "bench: stopped (exit $rc); lab $LAB_ID cleaned up. Log: $OUT/bench.log" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'echo "bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

log() { printf '%s\n' "$*" >>"$LOG"; }

# One status line: rewritten in place on a terminal, one line each otherwise.
progress() {
	local line
	line=$(printf '[bench %4ds] %s' "$((SECONDS - T_START))" "$*")
	if [[ $PROGRESS_TTY == 1 ]]; then
		printf '\r\033[K%s' "${line:0:$((${COLUMNS:-120} - 1))}" >&2
	else
		printf '%s\n' "$line" >&2
	fi
	log "== $line"
}

die() {
	echo "bench: $*" >&2
	exit 1
}

# Run a command, its output to the log; fail with the command named.
run() {
	log "+ $*"
	"$@" >>"$LOG" 2>&1 || die "failed: $* (see $LOG)"
}

# ---- packages and build ----------------------------------------------------------

# Debian package of each command the bench uses.
declare -A PKG_OF=([nft]=nftables [iptables]=iptables [ipset]=ipset [gnuplot]=gnuplot-nox
	[taskset]=util-linux [chrt]=util-linux [python3]=python3 [ip]=iproute2 [nsenter]=util-linux
	[ethtool]=ethtool [nstat]=iproute2) # ethtool, nstat: the syn scenario's link counters

ensure_packages() {
	local c missing=()
	for c in "${!PKG_OF[@]}"; do
		command -v "$c" >/dev/null || missing+=("${PKG_OF[$c]}")
	done
	[[ ${#missing[@]} == 0 ]] && return 0
	progress "installing ${missing[*]}"
	if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >>"$LOG" 2>&1; then
		echo "bench: warning: could not install ${missing[*]} (see $LOG); going on without" >&2
	fi
	for c in nft iptables python3 taskset chrt ethtool nstat; do
		command -v "$c" >/dev/null || die "$c is needed and missing (Debian package ${PKG_OF[$c]})"
	done
}

# ---- prefix sets (deterministic, cached: 1M lines take python ~10 s) -------------

# prefix_file v4|v6 N: path of the first N prefixes of the family's sequence.
prefix_file() {
	local fam=$1 n=$2 big="" best=0 f c m
	mkdir -p "$CACHE"
	f="$CACHE/$fam-$n-s$SEED.txt"
	if [[ ! -s $f ]]; then
		# cut from the shortest cached longer list of the same sequence
		for c in "$CACHE/$fam"-*-"s$SEED.txt"; do
			[[ -s $c ]] || continue
			m=${c##*/"$fam"-}
			m=${m%%-*}
			if ((m >= n && (best == 0 || m < best))); then
				best=$m
				big=$c
			fi
		done
		if [[ -n $big ]]; then
			head -n "$n" "$big" >"$f.tmp"
		else
			"$PY" "$INPUTS" prefixes "$fam" "$n" "$SEED" >"$f.tmp"
		fi
		mv "$f.tmp" "$f"
	fi
	echo "$f"
}

# v6 companion size of a v4 set: 256k per 1M (the issue's 1M v4 + 256k v6).
v6_of() { echo $(($1 * 262144 / 1000000)); }

# ---- rig: lab, routes, NAPI threads ----------------------------------------------

DUT_PIDS=()

# napi_setup NS IFACE CPU PRIO [DEFER_US]: threaded NAPI on IFACE, its
# kthreads pinned to CPU (SCHED_FIFO at PRIO if > 0); their PIDs in
# NAPI_PIDS.  Again after every program change: detaching the last XDP
# program deletes veth's NAPI, and the next one gets a new kthread.
#
# DEFER_US > 0 coalesces like a NIC's rx-usecs (see coalesce).
NAPI_PIDS=()
napi_setup() {
	local ns=$1 ifname=$2 cpu=$3 prio=$4 defer=${5:-0} pids p
	# sysfs of the namespace's devices: ip netns exec mounts it, nsenter not
	ip netns exec "$ns" sh -c "echo 1 >/sys/class/net/$ifname/threaded" ||
		die "cannot set up threaded NAPI on $ifname"
	COALESCE_NOW="" # a new NAPI instance: write it again
	coalesce "$ns" "$ifname" "$defer"
	pids=$(lab_in "$ns" "$PY" "$MEASURE" napi "$ifname") || die "cannot list $ifname's NAPI kthreads"
	[[ -n $pids ]] || die "$ifname has no NAPI kthread (is an XDP program attached?)"
	for p in $pids; do
		taskset -pc "$cpu" "$p" >>"$LOG" 2>&1 || die "cannot pin NAPI kthread $p to CPU $cpu"
		if [[ $prio -gt 0 ]]; then
			chrt -f -p "$prio" "$p" >>"$LOG" 2>&1 || die "cannot make NAPI kthread $p SCHED_FIFO"
		fi
	done
	read -r -a NAPI_PIDS <<<"${pids//$'\n'/ }"
	log "napi $ifname: kthreads ${NAPI_PIDS[*]} on CPU $cpu"
}

# client_rx_prio PRIO: c0's receive path (what the DUT sends back) at
# SCHED_FIFO PRIO, or back to SCHED_OTHER with 0.  The mixed and reload
# scenarios count legit packets delivered to c0: at SCHED_OTHER its NAPI
# kthread shares CPU 0 with the generator (nice -10, busy) and gets ~10% of
# it in slices, so c0's 256-frame veth ring overflowed now and then and
# ~3% of the legit packets were lost on the client side of the rig, with
# or without a reload (bench of 2026-11-26).  On a real rig the client is
# another machine.  The flat-out scenarios keep SCHED_OTHER: there c0
# receives Mpps and a FIFO kthread would take CPU 0 from the generator.
client_rx_prio() {
	local p
	for p in $(lab_in "$LAB_NS_CLIENT" "$PY" "$MEASURE" napi "$LAB_IF_CLIENT"); do
		if [[ $1 -gt 0 ]]; then
			chrt -f -p "$1" "$p" >>"$LOG" 2>&1 || die "cannot make c0's NAPI kthread $p SCHED_FIFO"
		else
			chrt -o -p 0 "$p" >>"$LOG" 2>&1 || die "cannot make c0's NAPI kthread $p SCHED_OTHER"
		fi
	done
}

# coalesce NS IFACE USECS: like a NIC's interrupt moderation (rx-usecs).
# Once its ring is empty, the NAPI kthread polls again after USECS instead
# of being woken by every batch the generator flushes
# (napi_defer_hard_irqs + gro_flush_timeout; 0 = off).  On this VM a wakeup
# costs microseconds: without moderation the CPU time per packet at a
# moderate rate is mostly wakeups, alike for every variant, and the
# comparison drowns in it.
COALESCE_NOW=""
coalesce() {
	local ns=$1 ifname=$2 us=$3
	[[ "$ns/$ifname/$us" == "$COALESCE_NOW" ]] && return 0
	ip netns exec "$ns" sh -c "echo $((us * 1000)) >/sys/class/net/$ifname/gro_flush_timeout &&
		echo $((us > 0 ? 10 : 0)) >/sys/class/net/$ifname/napi_defer_hard_irqs" ||
		die "cannot set NAPI coalescing on $ifname"
	COALESCE_NOW="$ns/$ifname/$us"
	log "coalesce $ifname: $us us"
}

# The DUT's moderation for a run at RATE (0 = flat out): adaptive, like a
# NIC's adaptive-rx: about 64 packets (one NAPI budget) per poll at a fixed
# rate, never less than NAPI_DEFER_US, never so long that the 256-frame
# ring overflows; flat out NAPI_DEFER_US.
dut_coalesce() {
	local rate=$1 us=$NAPI_DEFER_US
	if [[ $rate != 0 && $us != 0 ]]; then
		us=$((64000000 / rate))
		((us < NAPI_DEFER_US)) && us=$NAPI_DEFER_US
		((us > 128000000 / rate)) && us=$((128000000 / rate))
	fi
	coalesce "$LAB_NS_NODE" "$LAB_IF_NODE" "$us"
}

dut_napi() {
	napi_setup "$LAB_NS_NODE" "$LAB_IF_NODE" "$DUT_CPU" "$NAPI_PRIO" "$NAPI_DEFER_US"
	DUT_PIDS=("${NAPI_PIDS[@]}")
}

bench_lab_up() {
	local r
	progress "lab up ($LAB_ID)"
	lab_up >>"$LOG" 2>&1 || die "lab_up failed (see $LOG)"
	W=$LAB_TMP/bench
	mkdir -p "$W"
	# The node routes (forwarding for the load balancer: the kernel's and
	# bpf_fib_lookup's), answers nothing with redirects (a packet forwarded
	# back out of up0 would earn one), and filters no source.
	# shellcheck disable=SC2016 # $s expands in the inner sh
	run lab_exec_node sh -c '
		echo 1 >/proc/sys/net/ipv4/ip_forward
		for s in all default up0; do
			echo 0 >/proc/sys/net/ipv4/conf/$s/send_redirects
			echo 0 >/proc/sys/net/ipv4/conf/$s/rp_filter
		done'
	for r in "${NODE_ROUTES[@]}"; do
		run ip -n "$LAB_NS_NODE" route add "$r" via "$LAB_CLIENT_V4" dev "$LAB_IF_NODE"
	done
	# c0 receives what the DUT sends back (forwarded load-balanced packets):
	# an XDP program must be there for veth to deliver XDP_TX frames at all.
	run lab_exec_client "$SINK" attach "$LAB_IF_CLIENT" xdp_drop_count "$LAB_PIN_DIR/sink-c0"
	napi_setup "$LAB_NS_CLIENT" "$LAB_IF_CLIENT" "$GEN_CPU" 0
}

# ---- the device under test ----------------------------------------------------------

DUT_KIND=none  # what is on up0: none | sluice | sink
DUT_COUNT=""   # how read_counters reads the DUT: sluice | sink | nft-drop | ipt | nft-lb
OUT_KEYS=""    # sluice: the (reason/action) slots that are the case's "out"
OUT_CLIENT=0   # 1: "out" is what reached the client (legit delivered)
SLUICE_MODE="" # sluice's attach report (dispatcher or single program)

dut_sluice() {
	local msg
	if [[ $DUT_KIND == sink ]]; then
		run lab_exec_node "$SINK" detach "$LAB_IF_NODE"
	fi
	if [[ $DUT_KIND != sluice ]]; then
		log "+ sluice attach $LAB_IF_NODE"
		msg=$(lab_sluice attach "$LAB_IF_NODE" 2>&1) || die "sluice attach failed: $msg"
		log "$msg"
		# "attached sluice to up0 (driver veth): native mode, MODE; maps ..."
		SLUICE_MODE=$(sed -n 's/^attached.*): \(.*\); maps pinned.*/\1/p' <<<"$msg")
		DUT_KIND=sluice
	fi
	dut_napi
	DUT_COUNT=sluice
}

# dut_sink PROG [--lpm FILE]: a baseline program from bench/sink.bpf.c
# (with --lpm, the trie is filled before it is attached; the time that took
# is in SINK_LOAD).
SINK_LOAD=0
dut_sink() {
	local prog=$1
	shift
	if [[ $DUT_KIND == sluice ]]; then
		run lab_sluice detach "$LAB_IF_NODE"
	fi
	timed SINK_LOAD lab_exec_node "$SINK" attach "$LAB_IF_NODE" "$prog" "$LAB_PIN_DIR/sink-up0" "$@"
	DUT_KIND=sink
	dut_napi
	DUT_COUNT=sink
}

sink_count() { "$SINK" count "$LAB_PIN_DIR/$1"; }

iptables_drops() {
	{
		lab_exec_node iptables -t raw -nvxL PREROUTING
		lab_exec_node ip6tables -t raw -nvxL PREROUTING
	} 2>/dev/null | awk '$3 == "DROP" { s += $1 } END { print s + 0 }'
}

forwarded_v4() {
	# /proc/net/snmp follows the reader's network namespace
	# shellcheck disable=SC2016 # awk's $i, not the shell's
	lab_exec_node awk '/^Ip: / { if (!h) { for (i = 2; i <= NF; i++) col[$i] = i; h = 1 }
		else print $col["ForwDatagrams"] }' /proc/net/snmp
}

# The DUT's counters now, as JSON: processed (packets the DUT's XDP program
# or stack handled), out (what the case is about: drops, forwards, legit
# delivered), client (packets that reached the client's sink).
read_counters() {
	local processed out client
	client=$(sink_count sink-c0)
	case $DUT_COUNT in
	sluice)
		# every verdict slot too: the record shows where packets went
		lab_sluice stats --json | "$PY" "$MEASURE" sluice-counters \
			"$([[ $OUT_CLIENT == 1 ]] && echo client || echo "$OUT_KEYS")" "$client" >"$1"
		return
		;;
	sink)
		processed=$(sink_count sink-up0)
		out=$processed
		;;
	nft-drop)
		processed=$(sink_count sink-up0)
		out=$(lab_exec_node nft -j list counters table netdev sluice_bench | "$PY" "$MEASURE" nft-sum)
		;;
	ipt)
		processed=$(sink_count sink-up0)
		out=$(iptables_drops)
		;;
	nft-lb)
		processed=$(sink_count sink-up0)
		out=$(forwarded_v4)
		;;
	*) die "read_counters: no DUT" ;;
	esac
	[[ $OUT_CLIENT == 1 ]] && out=$client
	printf '{"processed":%s,"out":%s,"client":%s}\n' "$processed" "$out" "$client" >"$1"
}

# ---- measuring -----------------------------------------------------------------------

RAW="" # one JSON line per run
GEN_BASE=()
EXTRA_META="{}" # merged into the next records (prefix counts, load times)
REP=1           # which repeat the current runs belong to

fmt_rate() { awk -v r="$1" 'BEGIN { if (r >= 1e6) printf "%.1f Mpps", r / 1e6; else printf "%.0f kpps", r / 1e3 }'; }

# gen_run RATE DURATION GEN_ARGS... > report: one generator run.
gen_run() {
	local rate=$1 dur=$2
	shift 2
	log "+ sluice-gen --rate $rate --duration $dur $*"
	lab_exec_client nice -n -10 "$GEN" "${GEN_BASE[@]}" --rate "$rate" --duration "$dur" "$@" 2>>"$LOG"
}

# measure SCENARIO CASE VARIANT RATE GEN_ARGS...: one run of DURATION
# seconds at RATE packets/s (0: flat out), one record.  The scenarios loop
# over the repeats outside, variant after variant, so that whatever else
# the machine does at the time spreads over all variants alike.
measure() {
	local scen=$1 cse=$2 variant=$3 rate=$4 mode=flat what="flat out" meta
	shift 4
	if [[ $rate != 0 ]]; then
		mode=fixed
		what=$(fmt_rate "$rate")
	fi
	progress "$scen: $variant, $cse, $what (run $REP/$REPEATS)"
	dut_coalesce "$rate"
	read_counters "$W/c0.json"
	"$PY" "$MEASURE" snap "$W/s0.json" "${DUT_PIDS[@]}"
	gen_run "$rate" "$DURATION" "$@" >"$W/gen.json" || die "sluice-gen failed (see $LOG)"
	sleep 0.05 # what is still in the veth ring reaches the DUT
	"$PY" "$MEASURE" snap "$W/s1.json" "${DUT_PIDS[@]}"
	read_counters "$W/c1.json"
	meta=$(printf '{"scenario":"%s","case":"%s","variant":"%s","mode":"%s","rate_target":%s,"repeat":%d,"dut_cpu":%d}' \
		"$scen" "$cse" "$variant" "$mode" "$rate" "$REP" "$DUT_CPU")
	"$PY" "$MEASURE" record --name "$scen/$cse/$variant/$mode" --before "$W/s0.json" \
		--after "$W/s1.json" --gen "$W/gen.json" --counters-before "$W/c0.json" \
		--counters-after "$W/c1.json" --extra "$EXTRA_META" --meta "$meta" >>"$RAW"
}

# warmup GEN_ARGS...: a short low-rate run so connection state exists
# (sluice's conn table, conntrack) before anything is measured.
warmup() {
	gen_run 100000 "$WARMUP" "$@" >/dev/null || die "sluice-gen (warm-up) failed"
}

# timed VAR CMD...: run CMD (output to the log), its wall time in VAR.
timed() {
	local var=$1 t0
	shift
	t0=$EPOCHREALTIME
	run "$@"
	printf -v "$var" '%.3f' "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"
}

# meta_sets V4 V6 [LOAD_SECONDS]: EXTRA_META for a case with prefix sets.
meta_sets() {
	EXTRA_META=$(printf '{"prefixes_v4":%d,"prefixes_v6":%d,"load_seconds":%s}' "$1" "$2" "${3:-null}")
}

# ---- baselines: nftables, iptables, ipset -------------------------------------------

NFT_LOAD=0 IPSET_LOAD=0
nft_drop_up() { # V4FILE V6FILE
	[[ -s $W/drop.nft ]] || "$PY" "$INPUTS" nft-drop "$1" "$2" "$LAB_IF_NODE" >"$W/drop.nft"
	timed NFT_LOAD lab_exec_node nft -f "$W/drop.nft"
}
nft_drop_down() { run lab_exec_node nft delete table netdev sluice_bench; }

nft_dnat_up() {
	"$PY" "$INPUTS" nft-dnat "$VIP" "$VIP_PORT" "${BACKENDS[@]}" >"$W/dnat.nft"
	run lab_exec_node nft -f "$W/dnat.nft"
}
nft_dnat_down() { run lab_exec_node nft delete table ip kube-proxy; }

# iptables' best case: 4 rules that cover every flood source (4 /2s of the
# IPv4 space, 4 /5s of 2000::/3), so the cost is iptables' own, not a
# linear walk through 100k rules.
IPT_V4_RULES=(0.0.0.0/2 64.0.0.0/2 128.0.0.0/2 192.0.0.0/2)
IPT_V6_RULES=(2000::/5 2800::/5 3000::/5 3800::/5)
ipt_rules_up() {
	local p
	for p in "${IPT_V4_RULES[@]}"; do run lab_exec_node iptables -t raw -A PREROUTING -s "$p" -j DROP; done
	for p in "${IPT_V6_RULES[@]}"; do run lab_exec_node ip6tables -t raw -A PREROUTING -s "$p" -j DROP; done
}
ipt_down() {
	run lab_exec_node iptables -t raw -F PREROUTING
	run lab_exec_node ip6tables -t raw -F PREROUTING
}
ipset_up() { # V4FILE V6FILE
	[[ -s $W/ipset.txt ]] || "$PY" "$INPUTS" ipset "$1" "$2" >"$W/ipset.txt"
	timed IPSET_LOAD lab_exec_node ipset restore -file "$W/ipset.txt"
	run lab_exec_node iptables -t raw -A PREROUTING -m set --match-set blk4 src -j DROP
	run lab_exec_node ip6tables -t raw -A PREROUTING -m set --match-set blk6 src -j DROP
}
ipset_down() {
	ipt_down
	run lab_exec_node ipset destroy blk4
	run lab_exec_node ipset destroy blk6
}

# ---- scenarios ---------------------------------------------------------------------------

B4="" B6="" # the drop scenario's blocklist (also mixed and reload)

drop_sets() {
	B4=$(prefix_file v4 "$S1_V4")
	B6=$(prefix_file v6 "$S1_V6")
}

scenario_drop() {
	local flood clean t have_ipset=0
	drop_sets
	flood=(--src-list "$B4" --src-list "$B6" --syn)
	clean=(--legit "$CLEAN_BASE" --legit-count 256 --legit-pct 100 --legit-udp --legit-dport 9)
	command -v ipset >/dev/null && have_ipset=1
	[[ $have_ipset == 1 ]] || echo "bench: ipset not available: no iptables+ipset baseline" >&2

	progress "drop: loading $S1_V4 + $S1_V6 prefixes into sluice"
	dut_sluice
	timed t lab_sluice load --block "$B4" --block "$B6"
	for ((REP = 1; REP <= REPEATS; REP++)); do
		meta_sets "$S1_V4" "$S1_V6"
		dut_sink xdp_drop_count
		measure drop flood xdp_drop 0 "${flood[@]}"
		measure drop flood xdp_drop "$RATE" "${flood[@]}"

		meta_sets "$S1_V4" "$S1_V6" "$t"
		dut_sluice
		OUT_KEYS=blocklist/drop
		measure drop flood sluice 0 "${flood[@]}"
		measure drop flood sluice "$RATE" "${flood[@]}"
		OUT_KEYS=passed/pass
		measure drop clean sluice 0 "${clean[@]}"
		measure drop clean sluice "$RATE" "${clean[@]}"

		dut_sink xdp_pass_count
		measure drop clean xdp_pass 0 "${clean[@]}"
		measure drop clean xdp_pass "$RATE" "${clean[@]}"

		nft_drop_up "$B4" "$B6"
		DUT_COUNT=nft-drop
		meta_sets "$S1_V4" "$S1_V6" "$NFT_LOAD"
		measure drop flood nft_netdev 0 "${flood[@]}"
		measure drop flood nft_netdev "$RATE" "${flood[@]}"
		nft_drop_down

		ipt_rules_up
		DUT_COUNT=ipt
		EXTRA_META='{"rules":8}'
		measure drop flood iptables_raw 0 "${flood[@]}"
		measure drop flood iptables_raw "$RATE" "${flood[@]}"
		ipt_down

		if [[ $have_ipset == 1 ]]; then
			ipset_up "$B4" "$B6"
			DUT_COUNT=ipt
			meta_sets "$S1_V4" "$S1_V6" "$IPSET_LOAD"
			measure drop flood iptables_ipset 0 "${flood[@]}"
			measure drop flood iptables_ipset "$RATE" "${flood[@]}"
			ipset_down
		fi
	done
	EXTRA_META="{}"
}

scenario_scale() {
	local n n6 v4 v6 t lpm_t largest=0
	for n in $SCALE_SIZES; do ((n > largest)) && largest=$n; done
	EXTRA_META="{}"
	for ((REP = 1; REP <= REPEATS; REP++)); do
		dut_sink xdp_drop_count
		measure scale v4flood xdp_drop 0 --src-list "$(prefix_file v4 "$largest")" --syn
		measure scale v4flood xdp_drop "$RATE" --src-list "$(prefix_file v4 "$largest")" --syn
	done
	for n in $SCALE_SIZES; do
		n6=$(v6_of "$n")
		progress "scale: loading $n + $n6 prefixes"
		v4=$(prefix_file v4 "$n")
		v6=$(prefix_file v6 "$n6")
		dut_sluice
		timed t lab_sluice load --block "$v4" --block "$v6"
		for ((REP = 1; REP <= REPEATS; REP++)); do
			meta_sets "$n" "$n6" "$t"
			dut_sluice
			OUT_KEYS=blocklist/drop
			measure scale v4flood sluice 0 --src-list "$v4" --syn
			measure scale v4flood sluice "$RATE" --src-list "$v4" --syn
			if [[ $n == "$largest" ]]; then
				measure scale v6flood sluice 0 --src-list "$v6" --syn
				measure scale v6flood sluice "$RATE" --src-list "$v6" --syn
			fi
			if [[ $REP == 1 ]]; then
				progress "scale: loading $n prefixes into the LPM trie"
				dut_sink lpm_drop --lpm "$v4"
				lpm_t=$SINK_LOAD
			else
				dut_sink lpm_drop --lpm-keep
			fi
			meta_sets "$n" 0 "$lpm_t"
			measure scale v4flood lpm_drop 0 --src-list "$v4" --syn
			measure scale v4flood lpm_drop "$RATE" --src-list "$v4" --syn
		done
	done
	EXTRA_META="{}"
}

write_conf() { # FILE ARGS...: a sluice config via inputs.py
	local f=$1
	shift
	"$PY" "$INPUTS" sluice-conf "$LAB_IF_NODE" "$@" >"$f"
	chmod 0644 "$f" # sluice refuses configs that group or others can write
}

web_service() { echo --service web "$VIP" "$VIP_PORT" "$(
	IFS=,
	echo "${BACKENDS[*]}"
)"; }

scenario_lb() {
	local legit
	legit=(--legit "$LEGIT_BASE" --legit-count "$LEGIT_FLOWS" --legit-pct 100 --legit-dst "$VIP" --legit-dport "$VIP_PORT")
	# shellcheck disable=SC2046 # web_service prints words on purpose
	write_conf "$W/lb.conf" $(web_service)
	EXTRA_META='{"backends":8,"flows":1024}'
	dut_sluice
	run lab_sluice apply -c "$W/lb.conf"
	for ((REP = 1; REP <= REPEATS; REP++)); do
		dut_sluice
		OUT_KEYS=lb_forward/tx
		warmup "${legit[@]}"
		measure lb fwd sluice 0 "${legit[@]}"
		measure lb fwd sluice "$RATE" "${legit[@]}"

		dut_sink xdp_tx_count
		measure lb fwd xdp_tx 0 "${legit[@]}"
		measure lb fwd xdp_tx "$RATE" "${legit[@]}"

		dut_sink xdp_pass_count
		nft_dnat_up
		DUT_COUNT=nft-lb
		warmup "${legit[@]}"
		measure lb fwd nft_dnat 0 "${legit[@]}"
		measure lb fwd nft_dnat "$RATE" "${legit[@]}"
		nft_dnat_down
	done
	EXTRA_META="{}"
}

MIXED=()
mixed_traffic() {
	drop_sets
	MIXED=(--src-list "$B4" --src-list "$B6" --syn --legit "$LEGIT_BASE" --legit-count "$LEGIT_FLOWS"
		--legit-pct 10 --legit-dst "$VIP" --legit-dport "$VIP_PORT")
	# shellcheck disable=SC2046
	write_conf "$W/mixed.conf" --block "$B4" --block "$B6" $(web_service)
}

scenario_mixed() {
	mixed_traffic
	client_rx_prio "$NAPI_PRIO"
	EXTRA_META=$(printf '{"prefixes_v4":%d,"prefixes_v6":%d,"legit_pct":10}' "$S1_V4" "$S1_V6")
	OUT_CLIENT=1
	dut_sluice
	run lab_sluice apply -c "$W/mixed.conf"
	for ((REP = 1; REP <= REPEATS; REP++)); do
		dut_sluice
		warmup "${MIXED[@]}"
		measure mixed mix sluice "$RATE_MIXED" "${MIXED[@]}"

		dut_sink xdp_pass_count
		nft_drop_up "$B4" "$B6"
		nft_dnat_up
		DUT_COUNT=nft-drop
		warmup "${MIXED[@]}"
		measure mixed mix nft "$RATE_MIXED" "${MIXED[@]}"
		nft_dnat_down
		nft_drop_down
	done
	OUT_CLIENT=0
	EXTRA_META="{}"
	client_rx_prio 0
}

# The reload scenario's daemon: `sluice run` on the lab's pins, its control
# socket in the work directory; its config file is $W/sluice.conf.
DAEMON_PID=""
daemon_conf() { # SRC DST: a bench config plus the daemon's control block
	{
		cat "$1"
		echo "control = { socket = \"$W/sluice.sock\"; pin_dir = \"$LAB_PIN_DIR\"; };"
	} >"$2.tmp"
	chmod 0644 "$2.tmp"
	mv "$2.tmp" "$2" # the daemon reads a whole file, old or new
}
# The daemon runs on the DUT's CPU, like an appliance's control plane, and
# at the generator's nice -10, ahead of whatever else runs on a shared VM.
# Unpinned at nice 0 it got ~4% of a CPU: a reload took 0.26 s of daemon CPU
# time but 6.5 s of wall time, 6.3 s of it runnable and waiting (the
# generator's busy loop on its CPU, other people's builds and benches on
# the other).  The NAPI kthread (SCHED_FIFO) still comes first, so this
# measures what the data path leaves to the control plane.
daemon_start() {
	local i
	lab_bg "$LAB_NS_NODE" "$W/daemon.log" env SLUICE_PIN_DIR="$LAB_PIN_DIR" \
		LIBXDP_BPFFS="$LAB_XDP_BPFFS" taskset -c "${DAEMON_CPU:-$DUT_CPU}" nice -n -10 \
		"$LAB_SLUICE" --pin-dir "$LAB_PIN_DIR" run -c "$W/sluice.conf"
	DAEMON_PID=${LAB_PIDS[-1]}
	for ((i = 0; i < 300; i++)); do
		kill -0 "$DAEMON_PID" 2>/dev/null || die "sluice run exited (see $W/daemon.log): $(tail -n 3 "$W/daemon.log")"
		lab_sluice --socket "$W/sluice.sock" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "sluice run did not answer on its control socket within 30 s"
}
daemon_stop() {
	kill -TERM "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null || true
	cat "$W/daemon.log" >>"$LOG"
}
# reload_hup CONF OUT: make CONF the daemon's config, SIGHUP it and wait for
# the generation switch (measure.py hup: signal -> switched_ns).
reload_hup() {
	daemon_conf "$1" "$W/sluice.conf"
	"$PY" "$MEASURE" hup "$DAEMON_PID" "$LAB_PIN_DIR/sluice_state" >"$2" ||
		die "reload did not switch: $(cat "$2"); daemon log: $(tail -n 5 "$W/daemon.log")"
}

# The production path: a running daemon (`sluice run`) reloads, on SIGHUP,
# a config with 100k v4 prefixes (10% replaced) + 10k v6 and 1000 services,
# then the original one again.  Measured: signal -> generation switch, and
# legit loss from the signal to 100 ms after the switch.
scenario_reload() {
	local r4 seq_len gpid wpid windows dur
	mixed_traffic
	client_rx_prio "$NAPI_PRIO"
	# the new config: 10% of the v4 prefixes replaced, 1k services
	seq_len=$((S1_V4 + S1_V4 / 10))
	r4=$W/reload-v4.txt
	tail -n +$((S1_V4 / 10 + 1)) "$(prefix_file v4 "$seq_len")" >"$r4"
	# shellcheck disable=SC2046
	write_conf "$W/reload.conf" --block "$r4" --block "$B6" $(web_service) \
		--extra-services $((RELOAD_SERVICES - 1))

	dut_sluice # the daemon adopts this attachment and its pins
	daemon_conf "$W/mixed.conf" "$W/sluice.conf"
	progress "reload: starting sluice run with $S1_V4 + $S1_V6 prefixes"
	daemon_start
	OUT_CLIENT=1
	warmup "${MIXED[@]}"
	progress "reload: SIGHUP to $RELOAD_SERVICES services + $S1_V4 prefixes under load"
	"$SINK" watch "$LAB_PIN_DIR/sink-c0" 20 >"$W/watch.txt" 2>>"$LOG" &
	wpid=$!
	BG_PIDS+=("$wpid")
	dut_coalesce "$RATE_RELOAD"
	read_counters "$W/c0.json"
	"$PY" "$MEASURE" snap "$W/s0.json" "${DUT_PIDS[@]}"
	dur=120 # ended by SIGINT once both reloads are done
	nsenter --net="/run/netns/$LAB_NS_CLIENT" -- nice -n -10 "$GEN" "${GEN_BASE[@]}" \
		--rate "$RATE_RELOAD" --duration "$dur" --series "$W/gen-series.txt" "${MIXED[@]}" \
		>"$W/gen.json" 2>>"$LOG" &
	gpid=$!
	LAB_PIDS+=("$gpid") # lab_down stops it if we are interrupted
	sleep 1
	reload_hup "$W/reload.conf" "$W/hup1.json"
	sleep 1
	reload_hup "$W/mixed.conf" "$W/hup2.json"
	windows=$("$PY" -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
print(json.dumps([[a["signal_real"], a["switch_real"], "to %s services" % sys.argv[3]],
                  [b["signal_real"], b["switch_real"], "back to 1 service"]]))' \
		"$W/hup1.json" "$W/hup2.json" "$RELOAD_SERVICES")
	sleep 1
	kill -INT "$gpid"
	wait "$gpid" || die "sluice-gen failed during the reload (see $LOG)"
	sleep 0.1
	kill "$wpid"
	wait "$wpid" || true
	"$PY" "$MEASURE" snap "$W/s1.json" "${DUT_PIDS[@]}"
	read_counters "$W/c1.json"
	daemon_stop
	"$PY" "$MEASURE" reload --watch "$W/watch.txt" --gen-series "$W/gen-series.txt" \
		--gen "$W/gen.json" --windows "$windows" >"$W/reload.json"
	"$PY" "$MEASURE" record --name reload/mix/sluice/fixed --before "$W/s0.json" \
		--after "$W/s1.json" --gen "$W/gen.json" --counters-before "$W/c0.json" \
		--counters-after "$W/c1.json" --meta "$("$PY" -c '
import json, re, sys
m = {"scenario": "reload", "case": "mix", "variant": "sluice", "mode": "fixed",
     "rate_target": int(sys.argv[1]), "repeat": 1, "dut_cpu": int(sys.argv[2]),
     "prefixes_v4": int(sys.argv[3]), "prefixes_v6": int(sys.argv[4]),
     "services": int(sys.argv[5])}
m["reload"] = json.load(open(sys.argv[6]))
# the daemon says how long each reload took it ("reloaded FILE in N ms")
m["reload"]["daemon_ms"] = [int(x) for x in
                            re.findall(r"reloaded \S+ in (\d+) ms", open(sys.argv[7]).read())]
# signal -> switch, and the CPU and runqueue wait of the daemon in it
m["reload"]["hup"] = [json.load(open(f)) for f in sys.argv[8:10]]
print(json.dumps(m))' "$RATE_RELOAD" "$DUT_CPU" "$S1_V4" "$S1_V6" "$RELOAD_SERVICES" "$W/reload.json" \
		"$W/daemon.log" "$W/hup1.json" "$W/hup2.json")" >>"$RAW"
	OUT_CLIENT=0
	client_rx_prio 0
}

# ---- syn: SYN flood vs legit handshakes ------------------------------------------------

SYN_FLOOD_SRC=198.18.128.0/18 # routed back via the client (NODE_ROUTES)
SYN_SOURCES=1024
SYN_LEGIT_RATE=${BENCH_SYN_LEGIT_RATE:-10} # handshakes per second, one source
SYN_FIXED_RATE=${BENCH_SYN_FIXED_RATE:-500000} # the flood's rate while handshakes are judged
SYN_SOCK=""
SYN_DAEMON=""

syn_conf() { # FILE VARIANT: the daemon's config for a variant
	local f=$1 v=$2
	{
		echo "interfaces = ( { name = \"$LAB_IF_NODE\"; } );"
		echo "control = { socket = \"$SYN_SOCK\"; pin_dir = \"$LAB_PIN_DIR\"; };"
		echo "stats = { listen = \"\"; };"
		case $v in
		guard)
			# the legit source makes 10 SYNs a second; each flood source
			# hundreds: over its bucket in a fraction of a second, then
			# auto-blocked.  A short TTL so that every run starts with no
			# auto block.
			echo "syn_guard = { syn_rate = 20; syn_burst = 40; };"
			echo 'auto_block = { threshold = 100; window = "1s"; ttl = "1s"; prefix4 = 32; max = 65536; };'
			;;
		cookies)
			echo "syn_cookies = { mode = \"always\"; local = ( { address = \"$LAB_NODE_V4\"; ports = [ $LAB_TCP_PORT ]; } ); };"
			;;
		esac
	} >"$f"
	chmod 0600 "$f"
}

syn_ctl() { SLUICE_SOCKET=$SYN_SOCK "$LAB_SLUICE" "$@"; }

# Start (or reload) the daemon on VARIANT's config; sluice must be attached.
syn_daemon() {
	local v=$1
	syn_conf "$W/syn.conf" "$v"
	if [[ -n $SYN_DAEMON ]]; then
		run syn_ctl reload
		return
	fi
	lab_daemon_start "$W/syn.conf" "$W/daemon.log" --socket "$SYN_SOCK" ||
		die "the sluice daemon did not start (see $W/daemon.log)"
	SYN_DAEMON=$LAB_DAEMON_PID
}

syn_daemon_stop() {
	[[ -n $SYN_DAEMON ]] || return 0
	run syn_ctl stop # XDP stays attached; the bench detaches it itself
	wait "$SYN_DAEMON" 2>/dev/null || true
	SYN_DAEMON=""
}

synproxy_up() {
	# the kernel's SYNPROXY for the service: SYNs untracked, answered with
	# cookies by the SYNPROXY target, the connection handed to the socket
	# once the ACK checks out (the recipe of iptables-extensions(8))
	run lab_exec_node sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0
	run lab_exec_node iptables -t raw -A PREROUTING -p tcp --dport "$LAB_TCP_PORT" \
		--syn -j CT --notrack
	run lab_exec_node iptables -A INPUT -p tcp --dport "$LAB_TCP_PORT" -m conntrack \
		--ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460
	run lab_exec_node iptables -A INPUT -p tcp --dport "$LAB_TCP_PORT" -m conntrack \
		--ctstate INVALID -j DROP
}
synproxy_down() {
	run lab_exec_node iptables -t raw -F PREROUTING
	run lab_exec_node iptables -F INPUT
}

# measure_syn VARIANT: a flat-out flood run (what the DUT can handle), then
# a run at the fixed flood rate SYN_FIXED_RATE with legit handshakes beside
# it.  Flat out, the SYN-ACKs a defence sends back load the client side's CPU,
# which is also the generator's: a legit SYN-ACK lost there says nothing about
# the DUT, so handshakes are judged at a fixed rate, as an edge sees a flood.
#
# The fixed-rate run models the production network around the DUT:
# - The replies to the spoofed sources (0.5 Mpps of SYN-ACKs with cookies)
#   go out of up0 into c0's 256-frame veth ring, the ring the legit
#   client's SYN-ACK comes through too.  In production they go to wherever
#   the spoofed addresses are; the legit client's link never carries them.
#   Here c0's receive kthread shared CPU 0 with the generator (SCHED_OTHER
#   against its nice -10): it waited for the CPU about as long as it ran,
#   the ring overflowed and 5-22% of the DUT's SYN-ACKs were refused (up0's
#   xdp_tx_errors), the legit one among them: a 1 s SYN retransmit, a failed
#   handshake that the DUT had answered.  So for this run c0's kthread runs
#   SCHED_FIFO (client_rx_prio, as in mixed/reload): the network beyond the
#   DUT loses no reply.
#   The DUT's work is unchanged (every SYN still answered by XDP_TX), and
#   c0's kthread does not run on the DUT's CPU.
# - The handshakes start once the flood leaves c0 and the flood lasts until
#   the last of them has had its TIMEOUT: none is made before the generator
#   starts (sluice stats and the snapshots take a moment) or after it stops.
# The flat-out run is left as it was (no handshakes are judged there, and
# the generator keeps all of CPU 0).
SYN_HS_TIMEOUT=1
measure_syn() {
	local v=$1 hs=$W/hs.json hpid
	measure syn flood "$v" 0 "${SYN_FLOOD[@]}"
	client_rx_prio "$NAPI_PRIO"
	syn_links "$W/links0"
	lab_exec_client "$PY" "$MEASURE" handshakes "$LAB_CLEAN_V4" "$LAB_NODE_V4" "$LAB_TCP_PORT" \
		"$SYN_LEGIT_RATE" "$DURATION" "$SYN_HS_TIMEOUT" "$LAB_IF_CLIENT" >"$hs" 2>>"$LOG" &
	hpid=$!
	# the flood runs for the handshakes' DURATION, their timeout, and the
	# moments before the client sees it start
	DURATION=$(awk -v d="$DURATION" -v t="$SYN_HS_TIMEOUT" 'BEGIN { print d + t + 0.5 }') \
		measure syn flood "$v" "$SYN_FIXED_RATE" "${SYN_FLOOD[@]}"
	wait "$hpid" || die "the handshake client failed (see $LOG)"
	syn_links "$W/links1"
	client_rx_prio 0
	run "$PY" "$MEASURE" merge-last "$RAW" handshakes "$hs"
	syn_links_delta "$W/links0" "$W/links1" >"$W/links.json"
	run "$PY" "$MEASURE" merge-last "$RAW" links "$W/links.json"
	log "syn: $v handshakes $(cat "$hs") links $(cat "$W/links.json")"
}

# syn_links PREFIX: both ends' link counters (ethtool -S, ip -s link, TCP,
# receive kthreads) into PREFIX.node.json and PREFIX.client.json: where a
# legit SYN or SYN-ACK was lost (a full veth ring, a starved receive path).
syn_links() {
	LINKS_NAPI_PIDS="${DUT_PIDS[*]}" lab_exec_node "$PY" "$MEASURE" links "$1.node.json" "$LAB_IF_NODE"
	LINKS_NAPI_PIDS="${SYN_CLIENT_NAPI[*]}" lab_exec_client "$PY" "$MEASURE" links "$1.client.json" "$LAB_IF_CLIENT"
}
syn_links_delta() { # BEFORE AFTER: {"node": ..., "client": ...}
	printf '{"node":%s,"client":%s}\n' "$("$PY" "$MEASURE" delta "$1.node.json" "$2.node.json")" \
		"$("$PY" "$MEASURE" delta "$1.client.json" "$2.client.json")"
}

SYN_FLOOD=()
SYN_CLIENT_NAPI=() # c0's receive kthreads
scenario_syn() {
	local have_cookies=0
	SYN_SOCK=$W/syn.sock
	SYN_FLOOD=(--src "$SYN_FLOOD_SRC" --fixed-sources "$SYN_SOURCES" --syn --dport "$LAB_TCP_PORT")
	# the service, and a client side that lets the legit SYN-ACKs through
	# (c0's program counts what comes back, drops replies to the spoofed
	# sources and passes the rest to the clients' stack)
	lab_sink_start >>"$LOG" 2>&1 || die "the TCP service did not start"
	run lab_exec_client "$SINK" detach "$LAB_IF_CLIENT"
	run lab_exec_client "$SINK" attach "$LAB_IF_CLIENT" xdp_client_count "$LAB_PIN_DIR/sink-c0"
	napi_setup "$LAB_NS_CLIENT" "$LAB_IF_CLIENT" "$GEN_CPU" 0
	SYN_CLIENT_NAPI=("${NAPI_PIDS[@]}")
	syn_conf "$W/cookies.conf" cookies
	if "$LAB_SLUICE" check -c "$W/cookies.conf" >>"$LOG" 2>&1; then
		have_cookies=1
	else
		echo "bench: syn: this build has no XDP SYN cookies (sluice check refuses syn_cookies): no cookies case" >&2
		log "syn: no syn_cookies in this build"
	fi
	EXTRA_META=$(printf '{"sources":%d,"legit_rate":%d,"cookies_in_build":%d}' \
		"$SYN_SOURCES" "$SYN_LEGIT_RATE" "$have_cookies")
	dut_sluice
	OUT_KEYS=passed/pass
	for ((REP = 1; REP <= REPEATS; REP++)); do
		dut_sluice
		syn_daemon none
		OUT_KEYS=passed/pass
		measure_syn none
		syn_daemon guard
		OUT_KEYS=syn_rate_limited/drop,blocklist/drop
		measure_syn guard
		sleep 1.5 # the auto blocks expire (ttl 1s): the next run starts clean
		if [[ $have_cookies == 1 ]]; then
			# the documented deployment (docs/syn-cookies.md): XDP answers
			# the SYNs, the kernel's SYNPROXY completes a valid ACK's
			# handshake with the listener
			run lab_exec_node sysctl -qw net.ipv4.tcp_syncookies=2
			synproxy_up
			syn_daemon cookies
			OUT_KEYS=syncookie_sent/tx
			measure_syn cookies
			synproxy_down
			run lab_exec_node sysctl -qw net.ipv4.tcp_syncookies=1
		fi
	done
	grep -E 'auto-blocked|expired' "$W/daemon.log" | tail -n 3 >>"$LOG" || true
	syn_daemon_stop
	for ((REP = 1; REP <= REPEATS; REP++)); do
		dut_sink xdp_pass_count
		synproxy_up
		DUT_COUNT=sink
		measure_syn synproxy
		synproxy_down
	done
	EXTRA_META="{}"
}

# feedload: a gzip feed of FEED_V4 v4 + v6_of(FEED_V4) v6 prefixes, the
# config's only list, applied by the daemon (the production path): from
# `sluice run` to its "applied" line (the first generation switch), then
# `sluice reload` (the daemon's own "reloaded ... in N ms", parse to
# switch): the same feed 3 times, 10% fewer v4 lines, all of them again.
# sluice-feedload splits the time into phases with the daemon's code; the
# memory is the kernel's account of each pinned map (fdinfo memlock).
FEEDLOAD_SOCK=""
FEEDLOAD_T_SWITCH="" # when the start's "switch took" line showed (the commit)
feedload_daemon_ms() { # LOGFILE: wait for "applied" (60 s at most)
	local i
	FEEDLOAD_T_SWITCH=""
	for ((i = 0; i < 3000; i++)); do
		if [[ -z $FEEDLOAD_T_SWITCH ]] && grep -q '^sluice: switch took ' "$1" 2>/dev/null; then
			FEEDLOAD_T_SWITCH=$EPOCHREALTIME
		fi
		grep -q '^sluice: applied ' "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}

# feedload_reload: "TOTAL SWITCHED READ CHECKS SWITCH DIFF" (ms), as the
# daemon says (SWITCHED: from the start to the generation switch, i.e. applied)
feedload_reload() {
	local out total switched took
	out=$(lab_exec_node "$LAB_SLUICE" --socket "$FEEDLOAD_SOCK" reload 2>&1) ||
		die "sluice reload failed: $out"
	log "$out"
	total=$(sed -n 's/.*reloaded .* in \([0-9]*\) ms.*/\1/p' <<<"$out" | head -n 1)
	took=$(sed -n 's/.*took: read + parse \([0-9]*\) ms, file checks \([0-9]*\) ms, .* \([0-9]*\) ms, diff \([0-9]*\) ms.*/\1 \2 \3 \4/p' <<<"$out")
	switched=$(sed -n 's/.*switched \([0-9]*\) ms after the start.*/\1/p' <<<"$out" | head -n 1)
	[[ -n $total ]] || die "no reload time in: $out"
	echo "$total ${switched:-0} ${took:-0 0 0 0}"
}

scenario_feedload() {
	local n6 feed conf pin dlog t0 t1 start_s start_switch start_switch_s r same=() fewer more phases maps
	n6=$(v6_of "$FEED_V4")
	feed=$W/feed.txt.gz
	conf=$W/feedload.conf
	pin=$LAB_PIN_DIR/feedload # under the lab's pin dir: lab_down removes it
	dlog=$W/feedload-daemon.log
	FEEDLOAD_SOCK=$W/feedload.sock
	progress "feedload: $FEED_V4 v4 + $n6 v6 prefixes, gzip"
	cat "$(prefix_file v4 "$FEED_V4")" "$(prefix_file v6 "$n6")" | gzip -6 >"$feed"
	head -n $((FEED_V4 * 9 / 10)) "$(prefix_file v4 "$FEED_V4")" >"$W/feed-fewer.txt"
	cat "$(prefix_file v6 "$n6")" >>"$W/feed-fewer.txt"
	gzip -6 -c "$W/feed-fewer.txt" >"$W/feed-fewer.txt.gz"
	cp "$feed" "$W/feed-all.txt.gz"
	{
		echo "interfaces = ( { name = \"$LAB_IF_NODE\"; } );"
		echo "blocklist = { files = [ \"$feed\" ]; };"
		echo "stats = { listen = \"\"; };"
		echo "control = { socket = \"$FEEDLOAD_SOCK\"; pin_dir = \"$pin\"; };"
	} >"$conf"
	chmod 0644 "$conf" "$feed"

	# the phases, outside the daemon (no traffic runs: the CPUs are free)
	phases=$("$BIN/sluice-feedload" "$conf" --repeat 3 2>>"$LOG") ||
		die "sluice-feedload failed (see $LOG)"
	log "feedload phases: $phases"

	# up0 to the daemon alone
	if [[ $DUT_KIND == sink ]]; then
		run lab_exec_node "$SINK" detach "$LAB_IF_NODE"
	elif [[ $DUT_KIND == sluice ]]; then
		run lab_sluice detach "$LAB_IF_NODE"
	fi
	DUT_KIND=none
	t0=$EPOCHREALTIME
	lab_bg "$LAB_NS_NODE" "$dlog" env LIBXDP_BPFFS="$LAB_XDP_BPFFS" "$LAB_SLUICE" \
		--pin-dir "$pin" --socket "$FEEDLOAD_SOCK" run -c "$conf"
	feedload_daemon_ms "$dlog" || die "the daemon did not apply the feed in 60 s: $(tail -n 3 "$dlog")"
	t1=$EPOCHREALTIME
	start_s=$("$PY" -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.3f}")' "$t0" "$t1")
	# the generation switch itself (logged at the commit when slow, i.e.
	# always at this size); "applied" comes after the start's copy of the
	# active lists into the other generation
	start_switch_s=0
	[[ -n $FEEDLOAD_T_SWITCH ]] &&
		start_switch_s=$("$PY" -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.3f}")' "$t0" "$FEEDLOAD_T_SWITCH")
	# the start's own switch: "switch took N ms: compile lists C, ... lists
	# into the inactive generation L, ..." (the rest: read, BPF load, attach)
	start_switch=$(sed -n 's/^sluice: switch took \([0-9]*\) ms: compile lists \([0-9]*\),.* inactive generation \([0-9]*\),.*/\1 \2 \3/p' "$dlog" | head -n 1)
	for r in 1 2 3; do
		same+=("$(feedload_reload)")
	done
	# (each entry: total switched read checks switch diff)
	cp "$W/feed-fewer.txt.gz" "$feed.new" && mv "$feed.new" "$feed"
	fewer=$(feedload_reload)
	cp "$W/feed-all.txt.gz" "$feed.new" && mv "$feed.new" "$feed"
	more=$(feedload_reload)
	maps=$("$BIN/sluice-feedload" --maps "$pin" 2>>"$LOG") || maps='{}'
	cat "$dlog" >>"$LOG"
	lab_exec_node "$LAB_SLUICE" --socket "$FEEDLOAD_SOCK" stop >>"$LOG" 2>&1 || true
	sleep 0.5
	run lab_exec_node env LIBXDP_BPFFS="$LAB_XDP_BPFFS" "$LAB_SLUICE" --pin-dir "$pin" detach "$LAB_IF_NODE"
	"$PY" -c '
import json, sys
a = sys.argv
m = {"scenario": "feedload", "prefixes_v4": int(a[1]), "prefixes_v6": int(a[2]),
     "feed_bytes": int(a[3]), "start_to_applied_s": float(a[4]),
     "phases": json.loads(a[8]), "maps": json.loads(a[9])}
keys = ("total_ms", "applied_ms", "read_parse_ms", "file_checks_ms", "switch_ms", "diff_ms")
def parts(text):
    return dict(zip(keys, (int(x) for x in text.split())))
m["reloads_same"] = [parts(x) for x in a[5].split(",")]
m["reload_same_ms"] = [r["total_ms"] for r in m["reloads_same"]]
m["reload_fewer"] = parts(a[6])
m["reload_more"] = parts(a[7])
m["reload_fewer_ms"] = m["reload_fewer"]["total_ms"]
m["reload_more_ms"] = m["reload_more"]["total_ms"]
sw = [int(x) for x in a[10].split()]
if len(sw) == 3:
    m["start_switch"] = dict(zip(("switch_ms", "compile_ms", "lists_ms"), sw))
if float(a[11]) > 0:
    m["start_to_switch_s"] = float(a[11])
print(json.dumps(m))' "$FEED_V4" "$n6" "$(stat -c %s "$W/feed-all.txt.gz")" "$start_s" "$(IFS=,; echo "${same[*]}")" \
		"$fewer" "$more" "$phases" "$maps" "$start_switch" "$start_switch_s" >>"$RAW"
}

# ---- main ------------------------------------------------------------------------------

lab_require_root || exit 1
snapshot_binaries
export GEN_QUIET=1 # the engine sluice-gen chose is in its JSON report
mkdir -p "$OUT"
LOG=$OUT/bench.log
: >"$LOG"
RAW=$OUT/raw.jsonl
: >"$RAW"
ensure_packages
[[ -e /proc/net/pktgen ]] || log "no pktgen module (/proc/net/pktgen missing): the generator uses BPF_PROG_RUN live frames"
bench_lab_up
GEN_BASE=(--dev "$LAB_IF_CLIENT" --dst-mac "$LAB_MAC_NODE" --src-mac "$LAB_MAC_CLIENT"
	--dst "$LAB_NODE_V4" --dst "$LAB_NODE_V6" --cpu "$GEN_CPU")

# what the generator alone can do (for the report's header)
progress "generator ceiling"
dut_sink xdp_drop_count
gen_run 0 "$DURATION" --src 10.0.0.0/8 --syn >"$W/gen-ceiling.json"

for s in "${SCENARIOS[@]}"; do
	"scenario_$s"
done

progress "report"
"$PY" "$BENCH_DIR/report.py" --raw "$RAW" --out "$OUT" --command "$COMMAND_LINE" \
	--smoke "$SMOKE" --duration "$DURATION" --repeats "$REPEATS" \
	--gen-ceiling "$W/gen-ceiling.json" --sluice-mode "$SLUICE_MODE" \
	--elapsed "$((SECONDS - T_START))" --root "$ROOT" \
	--settings "$(printf '{"rate":%s,"rate_mixed":%s,"rate_reload":%s,"seed":"%s","gen_cpu":%s,"dut_cpu":%s,"napi_prio":%s,"napi_defer_us":%s,"scale_sizes":"%s"}' \
		"$RATE" "$RATE_MIXED" "$RATE_RELOAD" "$SEED" "$GEN_CPU" "$DUT_CPU" "$NAPI_PRIO" "$NAPI_DEFER_US" "$SCALE_SIZES")" \
	>>"$LOG" 2>&1 || die "report failed (see $LOG)"
[[ $PROGRESS_TTY == 1 ]] && printf '\r\033[K' >&2
cat "$OUT/latest.md"
echo
echo "bench: done in $((SECONDS - T_START)) s; results in ${OUT#"$ROOT"/}/ (latest.json, latest.md, latest-*.png)"
