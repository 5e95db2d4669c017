#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh - every sluice test suite, one verdict.  `make test` runs it after
# building.
#
# Suites: build/unit_tests (BPF_PROG_TEST_RUN on crafted frames), then each
# tests/config/test_*.sh (config corpus) and tests/lab/test_*.sh (real
# traffic in the namespace lab), one after the other.  Every suite ends its output with the line "N passed, N failed";
# run.sh prints each suite's result and then ONE closing line with the sums.
# A suite that exits without that line (crash, kill, timeout), or exits
# non-zero while claiming no failures, counts as one failure of its own.
# Exit status: 0 only if every suite ran to its end and nothing failed.
#
# Environment: SUITE_TIMEOUT (seconds per suite, default 600).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUITE_TIMEOUT=${SUITE_TIMEOUT:-600}

if [[ $(id -u) -ne 0 ]]; then
	echo "tests/run.sh: must run as root (XDP, network namespaces and bpffs need it)" >&2
	exit 1
fi
for bin in "$ROOT/build/unit_tests" "$ROOT/build/sluice"; do
	if [[ ! -x $bin ]]; then
		echo "tests/run.sh: ${bin#"$ROOT"/} is missing: run make first (or make test)" >&2
		exit 1
	fi
done
# Both the unit tests and the CLI work with pinned maps: bpffs must be there.
if [[ $(stat -f -c %T /sys/fs/bpf 2>/dev/null) != bpf_fs ]]; then
	mkdir -p /sys/fs/bpf
	mount -t bpf bpf /sys/fs/bpf || {
		echo "tests/run.sh: bpffs is not mounted on /sys/fs/bpf and mounting it failed" >&2
		exit 1
	}
fi

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/sluice-test.XXXXXX")
trap 'rm -rf "$LOGDIR"' EXIT
# Ctrl-C: stop here (the running suite gets the signal too and cleans up).
trap 'echo; echo "tests/run.sh: interrupted" >&2; exit 130' INT TERM

# name<TAB>command, in run order.
suites=("unit	$ROOT/build/unit_tests")
# config tests first (fast, no namespaces), then the labs
for t in "$ROOT"/tests/config/test_*.sh "$ROOT"/tests/fuzz/test_*.sh "$ROOT"/tests/lab/test_*.sh \
	"$ROOT"/tests/bench/test_*.sh; do
	[[ -e $t ]] && suites+=("$(basename "$(dirname "$t")")/$(basename "$t" .sh)	$t")
done

total_passed=0
total_failed=0
results=()
for entry in "${suites[@]}"; do
	name=${entry%%$'\t'*}
	cmd=${entry#*$'\t'}
	log="$LOGDIR/${name//\//_}.log"
	echo "=== $name"
	# Output goes to the terminal as it comes and to a log for parsing.
	# timeout forwards INT/TERM to the suite, whose traps tidy up.
	set +e
	timeout "$SUITE_TIMEOUT" "$cmd" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	closing=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)
	if [[ -z $closing ]]; then
		why="no closing line"
		[[ $rc == 124 ]] && why="timed out after ${SUITE_TIMEOUT}s"
		results+=("$(printf '%-24s CRASHED (%s, exit %d): counted as 1 failed' "$name" "$why" "$rc")")
		total_failed=$((total_failed + 1))
		continue
	fi
	p=${closing%% passed*}
	f=${closing#*, }
	f=${f%% failed}
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	if [[ $rc != 0 && $f == 0 ]]; then
		results+=("$(printf '%-24s %s, but exit %d: counted as 1 failed' "$name" "$closing" "$rc")")
		total_failed=$((total_failed + 1))
	elif [[ $f != 0 ]]; then
		results+=("$(printf '%-24s %s  <-- FAILED' "$name" "$closing")")
	else
		results+=("$(printf '%-24s %s' "$name" "$closing")")
	fi
done

echo "=== results"
for r in "${results[@]}"; do
	echo "suite $r"
done
echo "$total_passed passed, $total_failed failed"
[[ $total_failed == 0 ]]
