#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_config.sh - `sluice check` against the config corpus.
#
#   tests/config/invalid/*.conf  must fail (exit 1).  Each file says what it
#       expects in its first lines:
#           # expect: LINE: substring        error at this file's LINE
#           # expect: FILE:LINE: substring   error in FILE (relative to the
#                                            config's directory), e.g. a list
#       Every expectation must match a line of stderr that starts with
#       "FILE:LINE:" and contains the substring, and every error line must be
#       expected: a file tests its errors and nothing else.
#   tests/config/valid/*.conf and conf/*.conf  must pass (exit 0).
#   Plus: configs writable by group/others are refused, a missing file fails.
#
# Prints "ok NAME" or "FAIL NAME: why" per case, then "N passed, N failed";
# exit status 0 only when nothing failed.  Needs build/sluice (make).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
SLUICE=build/sluice
if [[ ! -x $SLUICE ]]; then
	echo "tests/config/test_config.sh: $SLUICE is missing: run make first" >&2
	exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-config.XXXXXX")

# shellcheck source=tests/lab/report.sh
source "$ROOT/tests/lab/report.sh"
test_cleanup() { rm -rf "$TMP"; }
report_traps test_config

# sluice refuses group/other-writable configs; git does not keep modes other
# than +x, so a checkout under umask 002 would fail every case for that
# reason alone.  The mode is not what these cases test: normalise it.
chmod go-w conf/*.conf tests/config/invalid/*.conf tests/config/valid/*.conf

# check_invalid FILE: run it, match expectations against stderr.
check_invalid() {
	local conf=$1 name dir rc err line want_file want_line want_sub
	local -a expects=() lines=() used=()
	name=invalid/$(basename "$conf" .conf)
	dir=$(dirname "$conf")
	err=$("$SLUICE" check -c "$conf" 2>&1 >/dev/null)
	rc=$?
	if [[ $rc != 1 ]]; then
		fail "$name" "exit $rc, want 1 (stderr: ${err:-none})"
		return
	fi
	while IFS= read -r line; do
		[[ $line == "# expect: "* ]] && expects+=("${line#"# expect: "}")
	done <"$conf"
	if [[ ${#expects[@]} == 0 ]]; then
		fail "$name" "no '# expect: LINE: substring' line in the file"
		return
	fi
	# The error lines, without the closing "sluice: check: ... invalid".
	while IFS= read -r line; do
		[[ $line == "sluice: "* ]] || lines+=("$line")
	done <<<"$err"
	for ((i = 0; i < ${#lines[@]}; i++)); do used[i]=0; done
	for e in "${expects[@]}"; do
		if [[ $e =~ ^([0-9]+):\ (.*)$ ]]; then
			want_file=$conf
			want_line=${BASH_REMATCH[1]}
			want_sub=${BASH_REMATCH[2]}
		elif [[ $e =~ ^([^:]+):([0-9]+):\ (.*)$ ]]; then
			want_file=$dir/${BASH_REMATCH[1]}
			want_line=${BASH_REMATCH[2]}
			want_sub=${BASH_REMATCH[3]}
		else
			fail "$name" "malformed expectation '$e'"
			return
		fi
		local found=0
		for ((i = 0; i < ${#lines[@]}; i++)); do
			[[ ${used[i]} == 0 ]] || continue
			if [[ ${lines[i]} == "$want_file:$want_line:"* && ${lines[i]} == *"$want_sub"* ]]; then
				used[i]=1
				found=1
				break
			fi
		done
		if [[ $found == 0 ]]; then
			fail "$name" "no error '$want_file:$want_line: ...$want_sub...' in: $err"
			return
		fi
	done
	for ((i = 0; i < ${#lines[@]}; i++)); do
		if [[ ${used[i]} == 0 ]]; then
			fail "$name" "unexpected error: ${lines[i]}"
			return
		fi
	done
	ok "$name"
}

check_valid() {
	local conf=$1 name=$2 out rc
	out=$("$SLUICE" check -c "$conf" 2>&1)
	rc=$?
	if [[ $rc != 0 ]]; then
		fail "$name" "exit $rc, want 0: $out"
	elif [[ $out != "$conf: ok: "* ]]; then
		fail "$name" "no '$conf: ok: ...' summary: $out"
	else
		ok "$name"
	fi
}

n_invalid=0
for conf in tests/config/invalid/*.conf; do
	check_invalid "$conf"
	n_invalid=$((n_invalid + 1))
done
if ((n_invalid < 40)); then
	fail "invalid-corpus-size" "only $n_invalid invalid configs, want at least 40"
fi
for conf in tests/config/valid/*.conf; do
	check_valid "$conf" "valid/$(basename "$conf" .conf)"
done
for conf in conf/*.conf; do
	check_valid "$conf" "$conf"
done

# Least privilege: a config its group or others can write is refused, with
# the reason, whatever else is in it.
for mode in 664 646; do
	cp conf/demo.conf conf/demo-blocklist.txt "$TMP/"
	chmod "$mode" "$TMP/demo.conf"
	err=$("$SLUICE" check -c "$TMP/demo.conf" 2>&1 >/dev/null)
	rc=$?
	if [[ $rc == 1 && $err == *"$TMP/demo.conf: writable by "*"chmod go-w"* ]]; then
		ok "refuses-mode-$mode"
	else
		fail "refuses-mode-$mode" "exit $rc: $err"
	fi
done

err=$("$SLUICE" check -c "$TMP/no-such.conf" 2>&1 >/dev/null)
rc=$?
if [[ $rc == 1 && $err == *"$TMP/no-such.conf: cannot open: No such file or directory"* ]]; then
	ok "missing-config-file"
else
	fail "missing-config-file" "exit $rc: $err"
fi

# Relative list files resolve against the config's directory, wherever
# sluice runs from.
out=$(cd "$TMP" && "$ROOT/$SLUICE" check -c "$ROOT/conf/demo.conf" 2>&1)
rc=$?
if [[ $rc == 0 ]]; then
	ok "list-files-relative-to-config"
else
	fail "list-files-relative-to-config" "exit $rc: $out"
fi

summary
