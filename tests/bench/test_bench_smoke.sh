#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_bench_smoke.sh - the benchmark harness, so that it cannot rot:
# `make bench-smoke` (bench/bench.sh --smoke: every scenario, about half a
# second per case, tiny prefix sets) into a temporary directory, then checks
# that its latest.json has every scenario, every case with the numbers the
# report is made of (rates, CPU time per packet, > 0), the targets table and
# the markdown.  It never asserts a timing or a ratio: those depend on the
# machine, and on whatever else runs on it.
#
# Prints "ok NAME" / "FAIL NAME: why" per check and ends with the line
# "N passed, N failed" (tests/run.sh parses it); exits non-zero on failure.
# Run as root from anywhere.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-smoke.XXXXXX")

# shellcheck source=tests/lab/report.sh
source "$ROOT/tests/lab/report.sh"
# the bench's own traps clean its lab up; ours only remove the output
test_cleanup() { rm -rf "$OUT"; }
report_traps test_bench_smoke

# make also builds build/sluice-sink, which `make all` does not.  Our own
# lab id, to check afterwards that exactly that lab is gone.
LAB=smoke$$
if BENCH_LAB_ID=$LAB make -s -C "$ROOT" bench-smoke BENCH_OUT="$OUT" >"$OUT/stdout" 2>"$OUT/stderr"; then
	ok "make bench-smoke"
else
	bail "make bench-smoke" "exit $?: $(tail -n 5 "$OUT/stderr" | tr '\n' ' ')"
fi

if grep -q '^## Targets' "$OUT/stdout"; then
	ok "prints the ratio table"
else
	fail "prints the ratio table" "no '## Targets' in its output"
fi

# Every scenario, every case: the numbers the report needs, all > 0.
# (python3: the checks walk JSON; stdlib only, like the bench itself.)
checks=$(python3 - "$OUT" <<'EOF'
import json
import os
import sys

out = sys.argv[1]
try:
    with open(os.path.join(out, "latest.json")) as f:
        doc = json.load(f)
except (OSError, ValueError) as e:
    print(f"FAIL latest.json: {e}")
    sys.exit(0)
print("ok latest.json parses")
meta = doc.get("meta", {})
for k in ("kernel", "cpu", "commit", "command", "date"):
    print(f"ok meta.{k}" if meta.get(k) else f"FAIL meta.{k}: missing")

# scenario -> (case, variant, mode) the report needs, and the fields that
# must be numbers > 0
want = {
    "drop": [("flood", v, m) for v in ("sluice", "xdp_drop", "nft_netdev", "iptables_raw")
             for m in ("flat", "fixed")] + [("clean", "sluice", "flat"), ("clean", "xdp_pass", "flat")],
    "scale": [("v4flood", "sluice", "flat"), ("v4flood", "lpm_drop", "flat"),
              ("v4flood", "xdp_drop", "flat"), ("v6flood", "sluice", "flat")],
    "lb": [("fwd", v, m) for v in ("sluice", "xdp_tx", "nft_dnat") for m in ("flat", "fixed")],
    "mixed": [("mix", "sluice", "fixed"), ("mix", "nft", "fixed")],
    "reload": [("mix", "sluice", "fixed")],
    # syn: capacity flat out; the handshakes run under the fixed-rate flood
    "syn": [("flood", v, m) for v in ("none", "guard", "synproxy") for m in ("flat", "fixed")],
}
fields = ("offered_pps", "dut_pps", "out_pps", "ns_per_pkt")
cases = doc.get("cases", [])
for scen, keys in want.items():
    for cse, var, mode in keys:
        name = f"{scen}/{cse}/{var}/{mode}"
        found = [c for c in cases if (c["scenario"], c["case"], c["variant"], c["mode"]) == (scen, cse, var, mode)]
        if not found:
            print(f"FAIL {name}: not in latest.json")
            continue
        bad = [f"{f}={c.get(f)}" for c in found for f in fields
               if not isinstance(c.get(f), (int, float)) or c.get(f) <= 0]
        if scen in ("mixed", "reload"):
            bad += [f"legit_delivered_pct={c.get('legit_delivered_pct')}" for c in found
                    if not (c.get("legit_delivered_pct") or 0) > 0]
        if scen == "syn" and mode == "fixed":
            bad += [f"handshakes_attempted={c.get('handshakes_attempted')}" for c in found
                    if not (c.get("handshakes_attempted") or 0) > 0]
            # both links' counters were read around the run (where a legit
            # SYN or SYN-ACK would have been lost)
            bad += [f"replies_refused_pct={c.get('replies_refused_pct')}" for c in found
                    if not isinstance(c.get("replies_refused_pct"), (int, float))]
        print(f"FAIL {name}: {', '.join(bad)}" if bad else f"ok {name}")

rl = [c for c in cases if c["scenario"] == "reload"]
if rl:
    ws = rl[0].get("reload", {}).get("windows", [])
    good = len(ws) == 2 and all((w.get("apply_seconds") or 0) > 0 and (w.get("legit_sent") or 0) > 0
                                for w in ws)
    print("ok reload/apply windows" if good else f"FAIL reload/apply windows: {ws}")

# feedload: no traffic; the daemon's times and the phases, all measured
fl = meta.get("feedload")
if not fl:
    print("FAIL feedload: not in latest.json meta")
else:
    ph = fl.get("phases", {})
    # (the tries and the hash can take ~0 ms on tiny sets: not checked)
    bad = [k for k in ("read_parse_ms", "compile_ms", "build_ms", "write_fast4_ms",
                       "write_lists_start_ms", "write_lists_again_ms") if not (ph.get(k) or 0) > 0]
    bad += [k for k in ("start_to_applied_s", "reload_fewer_ms", "reload_more_ms")
            if not (fl.get(k) or 0) > 0]
    if len(fl.get("reload_same_ms", [])) != 3 or not all(x > 0 for x in fl["reload_same_ms"]):
        bad.append(f"reload_same_ms={fl.get('reload_same_ms')}")
    for name in ("fast_v4", "fast4_chunks", "fast_v6"):
        if not (fl.get("maps", {}).get("maps", {}).get(name) or 0) > 0:
            bad.append(f"maps.{name} memlock")
    if not (ph.get("memlock", {}).get("total") or 0) > 0:
        bad.append("phases.memlock.total")
    if ph.get("prefixes") != fl.get("prefixes_v4", 0) + fl.get("prefixes_v6", 0):
        bad.append(f"prefixes {ph.get('prefixes')} != v4 + v6")
    print(f"FAIL feedload: {', '.join(bad)}" if bad else "ok feedload")
    if not os.path.exists(os.path.join(out, "feedload.json")):
        print("FAIL feedload.json: not written")
    else:
        print("ok feedload.json")

tg = doc.get("targets", [])
measured = [t for t in tg if t.get("verdict") in ("PASS", "MISS")]
if len(tg) >= 8 and len(measured) >= 7:
    print("ok targets")
else:
    print(f"FAIL targets: {len(tg)} rows, {len(measured)} with a verdict")
EOF
)
while IFS= read -r line; do
	case $line in
	"ok "*) ok "${line#ok }" ;;
	"FAIL "*)
		line=${line#FAIL }
		fail "${line%%: *}" "${line#*: }"
		;;
	esac
done <<<"$checks"

md=$OUT/latest.md
for h in "## Targets" "## 1. SYN flood drop" "## 2. Blocklist scaling" "## 3. Load balancing" \
	"## 4. Mixed" "## 5. Reload under load" "## 7. Feed load"; do
	if grep -q "^$h" "$md" 2>/dev/null; then
		ok "latest.md: $h"
	else
		fail "latest.md: $h" "section missing"
	fi
done

# the harness must leave nothing behind: no lab namespaces, no pin dirs
left=$(ip netns list | awk '{print $1}' | grep -E "^sl-$LAB-" || true)
[[ -e /sys/fs/bpf/sluice-lab-$LAB ]] && left+=" /sys/fs/bpf/sluice-lab-$LAB"
if [[ -z $left ]]; then
	ok "namespaces cleaned up"
else
	fail "namespaces cleaned up" "left:$left"
fi

summary
