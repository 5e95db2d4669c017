#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh - `make demo`: sluice on a live link, for a person to watch.
#
# Builds the namespace lab (tests/lab/lab.sh), attaches sluice to the node's
# uplink, loads a blocklist with an allowlist hole, and runs pings and a UDP
# stream from blocked, allowlisted and clean sources for DEMO_SECONDS
# (default 20) while the counters and what the node actually receives are
# redrawn every second.  Everything is torn down at the end, and on Ctrl-C.
set -euo pipefail

# shellcheck source=tests/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

DEMO_SECONDS=${DEMO_SECONDS:-20}

trap lab_down EXIT
trap 'echo; echo "interrupted: cleaning up"; exit 130' INT
trap 'exit 143' TERM

# Headings in bold on a terminal, plain in a log.
say() {
	if [[ -t 1 ]]; then
		printf '\n\033[1m==> %s\033[0m\n' "$*"
	else
		printf '\n==> %s\n' "$*"
	fi
}

# Redraw in place on a terminal; on a pipe or log just separate frames.
clear_screen() {
	if [[ -t 1 ]]; then
		printf '\033[H\033[J'
	else
		echo "----------------------------------------------------------------"
	fi
}

[[ -x $LAB_SLUICE ]] || {
	echo "demo: $LAB_SLUICE not built (run make)" >&2
	exit 1
}

say "Building the lab: namespaces $LAB_NS_CLIENT and $LAB_NS_NODE, veth $LAB_IF_CLIENT <-> $LAB_IF_NODE"
lab_up
lab_sink_start

say "Attaching sluice to the node's uplink ($LAB_IF_NODE)"
lab_sluice attach "$LAB_IF_NODE"

say "Loading the lists"
lab_write_lists "$LAB_TMP"
grep -hv '^#' "$LAB_TMP/block.txt" | sed 's/^/  block  /'
grep -hv '^#' "$LAB_TMP/allow.txt" | sed 's/^/  allow  /'
lab_sluice load --block "$LAB_TMP/block.txt" --allow "$LAB_TMP/allow.txt"

# Who sends, and what sluice should make of it.
sources=("$LAB_BLOCKED_V4" "$LAB_ALLOWED_V4" "$LAB_CLEAN_V4" "$LAB_BLOCKED_V6" "$LAB_CLEAN_V6")
role() {
	case $1 in
	"$LAB_BLOCKED_V4" | "$LAB_BLOCKED_V6") echo "blocked" ;;
	"$LAB_ALLOWED_V4" | "$LAB_ALLOWED_V6") echo "allowlisted (inside blocked range)" ;;
	*) echo "clean" ;;
	esac
}

say "Sending traffic for ${DEMO_SECONDS}s: ping every 0.2 s and 20 UDP datagrams/s from each source"
sleep 2 # a moment to read the above before the screen starts redrawing
for src in "${sources[@]}"; do
	# ping -w: stop after the demo time; each reply is one "bytes from" line.
	lab_bg "$LAB_NS_CLIENT" "$LAB_TMP/ping-$src.log" \
		ping -n -i 0.2 -w "$DEMO_SECONDS" -I "$src" "$(lab_node_addr_for "$src")"
	lab_bg "$LAB_NS_CLIENT" "$LAB_TMP/udp-$src.log" \
		python3 "$LAB_NET_PY" udp-send --src "$src" --dst "$(lab_node_addr_for "$src")" \
		--port "$LAB_UDP_PORT" --duration "$DEMO_SECONDS" --interval 0.05
done

# Microseconds since the epoch (EPOCHREALTIME's separator follows the locale).
now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }

# One frame per second, on a fixed beat: reading the counters takes a while,
# so sleep only what is left of each second.
beat=$(now_us)
for ((frame = 1; frame <= DEMO_SECONDS; frame++)); do
	beat=$((beat + 1000000))
	left=$((beat - $(now_us)))
	if ((left > 0)); then
		sleep "$((left / 1000000)).$(printf '%06d' $((left % 1000000)))"
	fi
	clear_screen
	printf 'sluice demo: %ds of %ds  (Ctrl-C stops and cleans up)\n\n' "$frame" "$DEMO_SECONDS"
	echo "sluice stats (XDP on $LAB_IF_NODE in $LAB_NS_NODE):"
	lab_sluice stats | sed 's/^/  /'
	echo
	echo "what reached the node's stack:"
	printf '  %-20s %-36s %12s %14s\n' "source" "role" "ping replies" "UDP received"
	for src in "${sources[@]}"; do
		printf '  %-20s %-36s %12s %14s\n' "$src" "$(role "$src")" \
			"$(grep -c 'bytes from' "$LAB_TMP/ping-$src.log" || true)" \
			"$(lab_sink_count udp "$src")"
	done
done
# Let ping and the UDP senders finish their last second before the summary.
sleep 1.5

say "Summary"
printf '  %-20s %-36s %-22s %s\n' "source" "role" "ping replies/sent" "UDP received/sent"
for src in "${sources[@]}"; do
	sent=$(sed -n 's/^\([0-9]\+\) packets transmitted.*/\1/p' "$LAB_TMP/ping-$src.log")
	printf '  %-20s %-36s %-22s %s\n' "$src" "$(role "$src")" \
		"$(grep -c 'bytes from' "$LAB_TMP/ping-$src.log" || true)/${sent:-?}" \
		"$(lab_sink_count udp "$src")/$(tail -n 1 "$LAB_TMP/udp-$src.log")"
done
echo
lab_sluice stats | sed 's/^/  /'
say "Cleaning up the lab"
