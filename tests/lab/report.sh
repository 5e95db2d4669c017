# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# report.sh - how every lab test reports: "ok NAME" / "FAIL NAME: why" per
# check and one closing line "N passed, N failed" (what tests/run.sh reads),
# also when the script dies somewhere unexpected.  Sourced after lab.sh by
# the lab tests, and on its own by the config and bench-smoke suites (it
# needs nothing from lab.sh).
#
#   source "$here/report.sh"
#   test_cleanup() { ...; lab_down; } # what to undo, always (if more than
#   report_traps test_name            # the lab: the default is lab_down)

PASSED=0
FAILED=0
SUMMARY_DONE=0

ok() {
	echo "ok $1"
	PASSED=$((PASSED + 1))
}
fail() {
	echo "FAIL $1: $2"
	FAILED=$((FAILED + 1))
}
summary() {
	SUMMARY_DONE=1
	echo "$PASSED passed, $FAILED failed"
}
# check NAME RESULT WHY: ok when RESULT is 0, else FAIL with WHY.
check() {
	if [[ $2 == 0 ]]; then ok "$1"; else fail "$1" "$3"; fi
}
# A check whose failure makes the rest meaningless: report, summarise, stop.
bail() {
	fail "$1" "$2"
	summary
	exit 1
}
# setup_or_bail NAME CMD...: a set-up step the rest of the suite needs (a
# lab_up*, a server), run in this shell: lab_down must learn what it made,
# so never in $(...).  If it fails: bail NAME with the last line it wrote to
# stderr (kept in $UP_ERR, which report_traps makes and the exit removes).
setup_or_bail() {
	local name=$1
	shift
	"$@" 2>"$UP_ERR" || bail "$name" "$(tail -n 1 "$UP_ERR")"
}
# check_setup NAME CMD...: setup_or_bail, and the step is check NAME.
check_setup() {
	setup_or_bail "$@"
	ok "$1"
}
# check_delta NAME EXPECTED ACTUAL: exact comparison of two counter delta
# texts (one "what moved" line each).
check_delta() {
	local name=$1 want=$2 got=$3
	if [[ $got == "$want" ]]; then
		ok "$name"
	else
		fail "$name" "counters moved by [${got//$'\n'/; }], expected [${want//$'\n'/; }]"
	fi
}
# check_daemon_start NAME CONF LOG [OPTION...]: lab_daemon_start (lab.sh) as
# check NAME; the rest of a suite needs the daemon, so without it: bail,
# with the tail of its LOG.
check_daemon_start() {
	local name=$1 conf=$2 logf=$3
	shift 3
	lab_daemon_start "$conf" "$logf" "$@" || bail "$name" "$(tail -n 3 "$logf")"
	ok "$name"
}

# What report_on_exit undoes: the lab.  A suite with more to undo (or no
# lab) defines its own after sourcing this file.
test_cleanup() { lab_down; }

# EXIT: clean up whatever happened; an unexpected death still ends with a
# FAIL line and the closing line rather than silence.
report_on_exit() {
	local rc=$?
	if [[ $SUMMARY_DONE == 0 ]]; then
		fail "$REPORT_NAME" "aborted unexpectedly (exit status $rc)"
		summary
		rc=1
	elif ((FAILED > 0)); then
		rc=1
	fi
	test_cleanup
	rm -f "${UP_ERR:-}"
	exit "$rc"
}

report_traps() {
	REPORT_NAME=$1
	UP_ERR=$(mktemp "${TMPDIR:-/tmp}/sluice-test-err.XXXXXX")
	trap report_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
