#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_fuzz.sh - the short sanitizer pass of `make test` (tests/fuzz/README.md):
#   - the differential tester built with ASan + UBSan (build/asan/difftest):
#     FUZZ_SMOKE_PACKETS frames (default 20000) and the known-bug reproducers;
#   - each libFuzzer harness (config loader, prefix lists, CLI) for
#     FUZZ_SMOKE_TIME seconds (default 5), ASan + UBSan + LeakSanitizer.
# Builds what it needs first (make fuzz-build).  Ends with "N passed, M failed"
# like every suite of tests/run.sh.  `make fuzz` is the long version.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
TIME=${FUZZ_SMOKE_TIME:-5}
PACKETS=${FUZZ_SMOKE_PACKETS:-20000}
BUILD=build
LOG=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz.XXXXXX")
trap 'rm -rf "$LOG"' EXIT
passed=0
failed=0

result() { # name rc log
	if [[ $2 == 0 ]]; then
		echo "ok   $1"
		passed=$((passed + 1))
	else
		echo "FAIL $1 (exit $2)"
		sed 's/^/    /' "$3" | tail -n 40
		failed=$((failed + 1))
	fi
}

if ! make -s -j"$(nproc)" fuzz-build >"$LOG/build" 2>&1; then
	result "fuzz-build" 1 "$LOG/build"
	echo "$passed passed, $failed failed"
	exit 1
fi

export LSAN_OPTIONS="suppressions=$ROOT/tests/fuzz/lsan.supp"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"

# the differential pass and the reproducers, sanitized
SLUICE_DIFF_PACKETS=$PACKETS SLUICE_DIFF_OUT="$BUILD/fuzz/diff-failures" \
	"$BUILD/asan/difftest" >"$LOG/diff" 2>&1
rc=$?
sed -n 's/^ *\(differential: .*\|differences: .*\|known bug .*\)$/    \1/p' "$LOG/diff"
result "asan-ubsan differential, $PACKETS packets + known-bug reproducers" $rc "$LOG/diff"

# the libFuzzer harnesses
declare -A seeds=(
	[config]="tests/config/valid tests/config/invalid"
	[prefix]="tests/fuzz/corpus/prefix tests/config/valid/lists"
	[cli]="tests/fuzz/corpus/cli"
)
mkdir -p "$BUILD/fuzz/artifacts"
for f in config prefix cli; do
	corpus="$BUILD/fuzz/corpus-$f"
	mkdir -p "$corpus"
	# shellcheck disable=SC2086 # seed directories are word lists
	"$BUILD/fuzz/fuzz_$f" -max_total_time="$TIME" -timeout=10 -rss_limit_mb=2048 \
		-close_fd_mask=3 -print_final_stats=1 -dict="tests/fuzz/$f.dict" \
		-artifact_prefix="$BUILD/fuzz/artifacts/$f-" "$corpus" ${seeds[$f]} \
		>"$LOG/$f" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG/$f")
	result "fuzz_$f ${TIME}s (${runs:-?} inputs)" $rc "$LOG/$f"
done

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
