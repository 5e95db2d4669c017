#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""report.py - bench.sh's runs (raw.jsonl) -> latest.json, latest.md and
latest-*.png (gnuplot) in the output directory.

Per case (scenario, case, variant, mode) it takes the median over the runs.
The comparison number is the DUT's CPU time per packet (its NAPI kthread's
time on CPU / packets it processed): a DUT that keeps up with the generator
shows the generator's rate, not its own, and only its cost per packet tells
it from a faster one.  "cap" = 1000 / ns per packet, the rate the DUT's CPU
could sustain if it did nothing else.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

TARGETS = [
    # (label, scenario, (case, sluice variant[, prefixes]), (case, baseline),
    #  kind, goal).  kind ">=": sluice at least goal x the baseline (baseline
    # ns / sluice ns at the fixed rate); "<=": sluice costs at most goal x it
    ("blocklist drop vs bare XDP_DROP, 1k prefixes", "scale",
     ("v4flood", "sluice", 1000), ("v4flood", "xdp_drop"), ">=", 0.8),
    ("blocklist drop vs bare XDP_DROP, 1M v4 + 256k v6", "scale",
     ("v4flood", "sluice", 1000000), ("v4flood", "xdp_drop"), ">=", 0.7),
    ("blocklist drop vs nftables netdev, same set", "drop",
     ("flood", "sluice"), ("flood", "nft_netdev"), ">=", 5.0),
    ("blocklist drop vs iptables raw (4 rules)", "drop",
     ("flood", "sluice"), ("flood", "iptables_raw"), ">=", 3.0),
    ("blocklist drop vs iptables raw + ipset, same set", "drop",
     ("flood", "sluice"), ("flood", "iptables_ipset"), ">=", 3.0),
    ("NAT load balancing vs bare XDP_TX", "lb",
     ("fwd", "sluice"), ("fwd", "xdp_tx"), ">=", 0.7),
    ("NAT load balancing vs nftables DNAT + conntrack", "lb",
     ("fwd", "sluice"), ("fwd", "nft_dnat"), ">=", 5.0),
    ("clean traffic (in no list) vs bare XDP_PASS", "drop",
     ("clean", "sluice"), ("clean", "xdp_pass"), "<=", 1.10),
    ("SYN flood: XDP SYN cookies vs iptables SYNPROXY, SYNs handled", "syn",
     ("flood", "cookies"), ("flood", "synproxy"), ">=", 8.0),
]

VARIANT_NAMES = {
    "sluice": "sluice", "xdp_drop": "bare XDP_DROP", "xdp_pass": "bare XDP_PASS",
    "xdp_tx": "bare XDP_TX", "nft_netdev": "nftables netdev ingress (interval sets)",
    "iptables_raw": "iptables raw PREROUTING (4 rules)",
    "iptables_ipset": "iptables raw + ipset hash:net", "lpm_drop": "LPM-trie XDP (textbook)",
    "nft_dnat": "nftables DNAT + conntrack (kube-proxy style)", "nft": "nftables (netdev set + DNAT)",
    "none": "sluice, no SYN defence (the stack, kernel syncookies)",
    "guard": "sluice token buckets + auto-block", "cookies": "sluice XDP SYN cookies",
    "synproxy": "iptables SYNPROXY (bare XDP_PASS in front)",
}


# short names for plot labels
PLOT_NAMES = {"sluice": "sluice", "xdp_drop": "XDP_DROP", "xdp_pass": "XDP_PASS", "xdp_tx": "XDP_TX",
              "nft_netdev": "nft netdev", "iptables_raw": "iptables raw",
              "iptables_ipset": "iptables+ipset", "nft_dnat": "nft DNAT+ct", "nft": "nftables",
              "none": "no defence", "guard": "buckets+auto-block", "cookies": "XDP cookies",
              "synproxy": "SYNPROXY"}


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def aggregate(runs):
    groups = {}
    for r in runs:
        key = (r["scenario"], r["case"], r["variant"], r["mode"], r.get("prefixes_v4"))
        groups.setdefault(key, []).append(r)
    cases = []
    for (scen, cse, var, mode, pv4), rs in groups.items():
        dut = str(rs[0].get("dut_cpu", 1))
        c = {"scenario": scen, "case": cse, "variant": var, "mode": mode, "runs": len(rs),
             "prefixes_v4": pv4, "prefixes_v6": rs[0].get("prefixes_v6"),
             "rate_target": rs[0].get("rate_target"),
             "load_seconds": rs[0].get("load_seconds"),
             "offered_pps": med([r["gen"]["pps"] for r in rs]),
             "dut_pps": med([r["dut_pps"] for r in rs]),
             "out_pps": med([r["out_pps"] for r in rs]),
             "client_pps": med([r.get("client_pps") for r in rs]),
             "ns_per_pkt": med([r.get("kthread_ns_per_pkt") for r in rs]),
             "busy_ns_per_pkt": med([r.get("dut_busy_ns_per_pkt") for r in rs]),
             "cpu_ms_per_mpkt_sys_softirq": med(
                 [r.get("dut_cpu_ms_per_mpkt", {}).get("softirq+system") for r in rs]),
             "dut_cpu_busy_pct": med([100 * r["cpu_ms"][dut]["busy"] / (1000 * r["wall"])
                                      for r in rs if r.get("wall")]),
             "kthread_cpu_pct": med([r.get("dut_busy_pct") for r in rs]),
             "net_rx_softirqs": {cpu: med([r["cpu_ms"][cpu]["net_rx"] for r in rs])
                                 for cpu in rs[0]["cpu_ms"]},
             "saturated": all(r.get("saturated") for r in rs)}
        if c["ns_per_pkt"]:
            c["cap_mpps"] = round(1000 / c["ns_per_pkt"], 3)
        legit = [r["counters"].get("client", 0) / r["gen"]["legit"]
                 for r in rs if r["gen"].get("legit")]
        if legit and scen in ("mixed", "reload"):
            c["legit_delivered_pct"] = round(100 * med(legit), 3)
        if "reload" in rs[0]:
            c["reload"] = rs[0]["reload"]
        hs = [r["handshakes"] for r in rs if r.get("handshakes")]
        if hs:
            c["handshakes_attempted"] = sum(h["attempted"] for h in hs)
            c["handshakes_completed"] = sum(h["completed"] for h in hs)
            c["handshake_ok_pct"] = round(med([100 * h["completed"] / h["attempted"]
                                               for h in hs if h["attempted"]]) or 0, 2)
            c["handshake_p99_ms"] = med([h.get("p99_ms") for h in hs])
        lk = [r["links"] for r in rs if r.get("links")]
        if lk:
            # the syn rig's links (measure.py links/delta): replies the DUT
            # sent that the client side's full ring refused (XDP_TX frames,
            # stack skbs), and the legit client's own packets that the DUT's
            # full ring refused (c0's drops beyond the generator's frames)
            sent = refused = legit_lost = 0
            for x in lk:
                up, c0 = x["node"].get("up0", {}), x["client"].get("c0", {})
                sent += up.get("rx_queue_0_xdp_tx", 0) + up.get("link_tx_packets", 0)
                refused += up.get("rx_queue_0_xdp_tx_errors", 0) + up.get("link_tx_dropped", 0)
                legit_lost += c0.get("link_tx_dropped", 0) - c0.get("tx_queue_0_xdp_xmit_errors", 0)
            c["replies_refused_pct"] = round(100 * refused / (sent + refused), 3) if sent + refused else 0
            c["legit_pkts_lost_at_dut"] = legit_lost
        cases.append(c)
    # cap: from the flat-out run, where polls are full (at a moderate fixed
    # rate every poll also pays its own overhead over fewer packets)
    for c in cases:
        if c["mode"] == "fixed":
            f = find(cases, c["scenario"], c["case"], c["variant"], "flat", c["prefixes_v4"])
            if f and f.get("cap_mpps"):
                c["cap_mpps"] = f["cap_mpps"]
    return cases


def find(cases, scen, cse, var, mode, pv4=None):
    for c in cases:
        if (c["scenario"], c["case"], c["variant"], c["mode"]) == (scen, cse, var, mode):
            if pv4 is None or c["prefixes_v4"] == pv4:
                return c
    return None


def mpps(pps):
    return "-" if pps is None else f"{pps / 1e6:.2f}"


def num(v, fmt="{:.0f}"):
    return "-" if v is None else fmt.format(v)


def ratio(base, c):
    """base ns / c ns, as 'N.NNx'."""
    if not base or not c or not base.get("ns_per_pkt") or not c.get("ns_per_pkt"):
        return "-"
    return f"{base['ns_per_pkt'] / c['ns_per_pkt']:.2f}x"


def advantage(x, sx, var):
    return "" if var == "sluice" else ratio(x, sx)


def rate_cell(c, key="out_pps"):
    """A max rate; '≥' when the DUT was not saturated (the rate is the
    rig's, the DUT could do more)."""
    if c is None:
        return "-"
    busy = f" ({c['kthread_cpu_pct']:.0f}% busy)" if c.get("kthread_cpu_pct") is not None else ""
    return ("≥ " if not c["saturated"] else "") + mpps(c[key]) + busy


def targets(cases, scale_sizes):
    """Each target is about max rates.  Judged on the cap ratio: CPU time per
    packet flat out, where the DUT is as loaded as the rig can make it (a
    saturated DUT's rate is 1/ns; an unsaturated one's is the rig's, but its
    ns/pkt still says what it could do).  Shown next to it: the measured
    max-rate ratio and the CPU cost ratio at the fixed offered rate."""
    rows = []
    big = max(scale_sizes) if scale_sizes else None
    small = min(scale_sizes) if scale_sizes else None
    for label, scen, sk, bk, kind, goal in TARGETS:
        skp = sk[2] if len(sk) > 2 else None
        # the scale targets name 1k and 1M; a run with other sizes uses its
        # smallest and largest
        if skp == 1000:
            skp = small
        elif skp == 1000000:
            skp = big
        sf = find(cases, scen, sk[0], sk[1], "flat", skp)
        bf = find(cases, scen, bk[0], bk[1], "flat")
        sx = find(cases, scen, sk[0], sk[1], "fixed", skp)
        bx = find(cases, scen, bk[0], bk[1], "fixed")
        row = {"target": label, "kind": kind, "goal": goal, "scenario": scen}
        if skp is not None:
            row["prefixes_v4"] = skp
        if not sf or not bf or not sf.get("ns_per_pkt") or not bf.get("ns_per_pkt"):
            row["verdict"] = "not measured"
            rows.append(row)
            continue

        def cost_ratio(a, b):
            if not a or not b or not a.get("ns_per_pkt") or not b.get("ns_per_pkt"):
                return None
            r = b["ns_per_pkt"] / a["ns_per_pkt"] if kind == ">=" else a["ns_per_pkt"] / b["ns_per_pkt"]
            return round(r, 3)
        cap = cost_ratio(sf, bf)
        ok = cap >= goal if kind == ">=" else cap <= goal
        margin = 100 * (cap / goal - 1) if kind == ">=" else 100 * (goal - cap) / goal
        rate = sf["out_pps"] / bf["out_pps"] if bf["out_pps"] else None
        row.update({"cap_ratio": cap, "fixed_cost_ratio": cost_ratio(sx, bx),
                    "rate_ratio": round(rate, 3) if rate else None,
                    "rate_capped": not (sf["saturated"] and bf["saturated"]),
                    "sluice_ns": sf["ns_per_pkt"], "baseline_ns": bf["ns_per_pkt"],
                    "verdict": "PASS" if ok else "MISS", "margin_pct": round(margin, 1)})
        rows.append(row)
    return rows


def verdict_cell(t):
    if t["verdict"] == "not measured":
        return "not measured"
    if t["kind"] == ">=":
        how = f"{abs(t['margin_pct']):.0f}% {'above' if t['verdict'] == 'PASS' else 'short of'} target"
    else:
        how = (f"{t['margin_pct']:.0f}% headroom" if t["verdict"] == "PASS"
               else f"{-t['margin_pct']:.0f}% over the limit")
    return f"**{t['verdict']}** ({how})"


def markdown(meta, cases, tgts):
    L = []
    st = meta["settings"]
    L.append("# sluice benchmark" + (" (smoke run: tiny sets, not for quoting)" if meta["smoke"] else ""))
    L.append("")
    L.append(f"Produced by `{meta['command']}` on {meta['date']}; {meta['elapsed_s']} s.  ")
    L.append(f"Kernel {meta['kernel']}, {meta['cpu']} ({meta['cpus']} CPUs), "
             f"commit {meta['commit']}.  ")
    gen = meta.get("gen_ceiling") or {}
    L.append(f"Generator: sluice-gen ({gen.get('engine', '?')}) on CPU {st['gen_cpu']}, "
             f"{mpps(gen.get('pps'))} Mpps alone.  DUT: up0 in the node namespace, "
             f"threaded NAPI kthread on CPU {st['dut_cpu']} (SCHED_FIFO {st['napi_prio']}, "
             f"{st.get('napi_defer_us', 0)} µs coalescing); "
             f"sluice attached: {meta.get('sluice_mode') or '?'}.  "
             f"Each case {meta['repeats']} × {meta['duration']} s, medians.")
    L.append("")
    L.append("*ns/pkt* = CPU time of the DUT's NAPI kthread per packet it handled (XDP program, "
             "and the kernel stack for the nftables/iptables baselines); *cap* = 1000/ns, "
             "the Mpps that CPU could sustain, from the flat-out runs.  *busy* = share of the "
             "run the kthread was on the CPU.  A max rate marked ≥ is from a run where the DUT "
             "was not saturated (busy < 85%): the generator, the 256-frame veth ring or wakeups "
             "set it, not the DUT, which could do more.  The targets (max-rate ratios) are "
             "therefore judged on the cap ratio, i.e. ns/pkt flat out, the DUT as loaded as the "
             "rig can make it; the measured max-rate ratio and the cost ratio at the fixed "
             "offered rate are shown too.  At the fixed rate every variant is partly idle, "
             "and pays for polls, wakeups and caches gone cold (more so with big tables).  "
             "*CPU ms/Mpkt* at the fixed rate: the kthread's (1 ns/pkt = 1 ms/Mpkt) and "
             "/proc/stat's system + softirq of the DUT CPU (threaded NAPI runs as system time; "
             "that figure also holds whatever else ran on the CPU).")
    L.append("")
    L.append("## Targets (sluice vs baseline)")
    L.append("")
    L.append("| target | cap ratio, from ns/pkt flat out (goal) | sluice / baseline ns/pkt flat out | "
             f"measured max-rate ratio | CPU cost ratio @ {mpps(st['rate'])} Mpps | verdict |")
    L.append("|---|---|---|---|---|---|")
    for t in tgts:
        if t["verdict"] == "not measured":
            L.append(f"| {t['target']} | - ({t['kind']} {t['goal']}x) | - | - | - | not measured |")
            continue
        rr = "-" if t["rate_ratio"] is None else f"{t['rate_ratio']:.2f}x" + (
            " (a DUT not saturated)" if t["rate_capped"] else "")
        fx = "-" if t["fixed_cost_ratio"] is None else f"{t['fixed_cost_ratio']:.2f}x"
        L.append(f"| {t['target']} | {t['cap_ratio']:.2f}x ({t['kind']} {t['goal']}x) | "
                 f"{t['sluice_ns']:.0f} / {t['baseline_ns']:.0f} | {rr} | {fx} | {verdict_cell(t)} |")
    L.append("")

    def sl(scen, cse, var, mode, pv4=None):
        return find(cases, scen, cse, var, mode, pv4)

    if any(c["scenario"] == "drop" for c in cases):
        s = sl("drop", "flood", "sluice", "flat")
        pv4 = s["prefixes_v4"] if s else "?"
        pv6 = s["prefixes_v6"] if s else "?"
        L.append(f"## 1. SYN flood drop ({pv4} v4 + {pv6} v6 prefixes; sources drawn from them)")
        L.append("")
        L.append(f"| DUT | max drop rate, flat out (Mpps) | ns/pkt flat out | ns/pkt @ "
                 f"{mpps(st['rate'])} Mpps | CPU{st['dut_cpu']} sys+softirq ms/Mpkt @ "
                 f"{mpps(st['rate'])} Mpps | cap (Mpps) | baseline ÷ sluice ns flat out | set load (s) |")
        L.append("|---|---|---|---|---|---|---|---|")
        sf = sl("drop", "flood", "sluice", "flat")
        for var in ("sluice", "xdp_drop", "nft_netdev", "iptables_raw", "iptables_ipset"):
            f = sl("drop", "flood", var, "flat")
            x = sl("drop", "flood", var, "fixed")
            if not f and not x:
                continue
            L.append(f"| {VARIANT_NAMES[var]} | {rate_cell(f)} | {num(f and f['ns_per_pkt'])} | "
                     f"{num(x and x['ns_per_pkt'])} | {num(x and x['cpu_ms_per_mpkt_sys_softirq'])} | "
                     f"{num(x and x.get('cap_mpps'), '{:.2f}')} | {advantage(f, sf, var)} | "
                     f"{num((f or x).get('load_seconds'), '{:.2f}')} |")
        if sl("drop", "clean", "sluice", "flat"):
            L.append("")
            L.append("Clean traffic (UDP from sources in no list to a closed port: XDP_PASS, "
                     "then the stack): ")
            L.append("")
            L.append(f"| DUT | rate, flat out (Mpps) | ns/pkt flat out (XDP + stack) | ns/pkt @ "
                     f"{mpps(st['rate'])} Mpps |")
            L.append("|---|---|---|---|")
            for var, n in (("sluice", "sluice, lists loaded"), ("xdp_pass", "bare XDP_PASS")):
                f, x = sl("drop", "clean", var, "flat"), sl("drop", "clean", var, "fixed")
                L.append(f"| {n} | {rate_cell(f, 'dut_pps')} | {num(f and f['ns_per_pkt'])} | "
                         f"{num(x and x['ns_per_pkt'])} |")
        L.append("")
        L.append("![drop](latest-drop.png)")
        L.append("")

    scale = sorted({c["prefixes_v4"] for c in cases if c["scenario"] == "scale"
                    and c["variant"] == "sluice" and c["prefixes_v4"]})
    if scale:
        ceil = sl("scale", "v4flood", "xdp_drop", "fixed")
        L.append("## 2. Blocklist scaling (v4 flood from the v4 set; v6 set loaded too, "
                 "256k per 1M)")
        L.append("")
        L.append(f"| v4 + v6 prefixes | sluice max Mpps | sluice ns/pkt flat out / @ {mpps(st['rate'])} "
                 "Mpps | cap vs bare XDP_DROP | LPM-trie max Mpps | LPM-trie ns/pkt flat out / @ rate "
                 "| sluice cap vs LPM-trie | load s (sluice / LPM) |")
        L.append("|---|---|---|---|---|---|---|---|")
        ceil_f = sl("scale", "v4flood", "xdp_drop", "flat")
        for n in scale:
            sf, sx = sl("scale", "v4flood", "sluice", "flat", n), sl("scale", "v4flood", "sluice", "fixed", n)
            lf, lx = sl("scale", "v4flood", "lpm_drop", "flat", n), sl("scale", "v4flood", "lpm_drop", "fixed", n)
            L.append(f"| {n} + {(sf or sx)['prefixes_v6']} | {rate_cell(sf)} | "
                     f"{num(sf and sf['ns_per_pkt'])} / {num(sx and sx['ns_per_pkt'])} | "
                     f"{ratio(ceil_f, sf)} | {rate_cell(lf)} | "
                     f"{num(lf and lf['ns_per_pkt'])} / {num(lx and lx['ns_per_pkt'])} | "
                     f"{ratio(lf, sf)} | {num((sf or sx).get('load_seconds'), '{:.2f}')} / "
                     f"{num((lf or lx or {}).get('load_seconds'), '{:.2f}')} |")
        if ceil_f:
            L.append(f"| bare XDP_DROP (ceiling) | {rate_cell(ceil_f)} | {num(ceil_f['ns_per_pkt'])} / "
                     f"{num(ceil and ceil['ns_per_pkt'])} | 1.00x | | | | |")
        for c in [c for c in cases if c["scenario"] == "scale" and c["case"] == "v6flood"
                  and c["mode"] == "flat"]:
            cx = sl("scale", "v6flood", "sluice", "fixed", c["prefixes_v4"])
            L.append(f"| {c['prefixes_v4']} + {c['prefixes_v6']}, **v6** flood | {rate_cell(c)} | "
                     f"{num(c['ns_per_pkt'])} / {num(cx and cx['ns_per_pkt'])} | {ratio(ceil_f, c)} "
                     "| | | | |")
        L.append("")
        L.append("![scale](latest-scale.png)")
        L.append("")

    if any(c["scenario"] == "lb" for c in cases):
        L.append("## 3. Load balancing (1 VIP, 8 backends, 1024 established TCP flows)")
        L.append("")
        L.append(f"| DUT | forwarded, flat out (Mpps) | ns/pkt flat out | ns/pkt @ "
                 f"{mpps(st['rate'])} Mpps | CPU{st['dut_cpu']} sys+softirq ms/Mpkt @ "
                 f"{mpps(st['rate'])} Mpps | cap (Mpps) | baseline ÷ sluice ns flat out |")
        L.append("|---|---|---|---|---|---|---|")
        sf = sl("lb", "fwd", "sluice", "flat")
        for var in ("sluice", "xdp_tx", "nft_dnat"):
            f, x = sl("lb", "fwd", var, "flat"), sl("lb", "fwd", var, "fixed")
            if not f and not x:
                continue
            L.append(f"| {VARIANT_NAMES[var]} | {rate_cell(f)} | {num(f and f['ns_per_pkt'])} | "
                     f"{num(x and x['ns_per_pkt'])} | {num(x and x['cpu_ms_per_mpkt_sys_softirq'])} | "
                     f"{num(x and x.get('cap_mpps'), '{:.2f}')} | {advantage(f, sf, var)} |")
        L.append("")
        L.append("![lb](latest-lb.png)")
        L.append("")

    if any(c["scenario"] == "mixed" for c in cases):
        L.append(f"## 4. Mixed: 90% flood + 10% legit at {mpps(st['rate_mixed'])} Mpps offered")
        L.append("")
        L.append("| DUT | offered (Mpps) | handled (Mpps) | legit delivered | DUT CPU busy | ns/pkt |")
        L.append("|---|---|---|---|---|---|")
        for var in ("sluice", "nft"):
            c = sl("mixed", "mix", var, "fixed")
            if c:
                L.append(f"| {VARIANT_NAMES[var]} | {mpps(c['offered_pps'])} | {mpps(c['dut_pps'])} | "
                         f"{num(c.get('legit_delivered_pct'), '{:.2f}')}% | "
                         f"{num(c['kthread_cpu_pct'], '{:.0f}')}% | {num(c['ns_per_pkt'])} |")
        L.append("")
        L.append("![mixed](latest-mixed.png)")
        L.append("")

    rl = [c for c in cases if c["scenario"] == "reload"]
    if rl:
        c = rl[0]
        rd = c["reload"]
        L.append(f"## 5. Reload under load (SIGHUP to a running `sluice run`, mixed traffic at "
                 f"{mpps(st['rate_reload'])} Mpps)")
        L.append("")
        L.append("Seconds: from the signal to the generation switch (the state map's "
                 "switched_ns); the daemon's own figure is what it logs (\"reloaded ... in N ms\"). "
                 "Loss: legit packets sent from the signal to 100 ms after the switch that did "
                 "not reach the client.  Goal: < 1 s, no legit loss caused by the reload: a "
                 "window may lose what the rig loses outside the windows in the same run (the "
                 "baseline below), within 3 standard deviations, and no more.")
        L.append("")
        L.append("| reload | signal → switch (s) | daemon's own (ms) | daemon CPU / runqueue wait (s) "
                 "| legit sent (window + 100 ms) | legit delivered | legit loss | verdict |")
        L.append("|---|---|---|---|---|---|---|---|")
        dms = rd.get("daemon_ms", [])
        hups = rd.get("hup", [])
        base = (rd.get("legit_loss_outside_windows_pct") or 0) / 100
        for i, w in enumerate(rd["windows"]):
            # "no legit loss" caused by the reload: the window may lose what
            # the rig loses anyway outside the windows (same run), within 3
            # standard deviations of that binomial rate, and no more
            lost = w["legit_sent"] - w["legit_delivered"]
            allowed = base * w["legit_sent"] + 3 * max(1.0, (w["legit_sent"] * base * (1 - base)) ** 0.5)
            ok = w["apply_seconds"] < 1.0 and lost <= allowed
            h = hups[i] if i < len(hups) else {}
            L.append(f"| {w['label']} ({c['prefixes_v4']} v4 + {c['prefixes_v6']} v6 prefixes) | "
                     f"{w['apply_seconds']:.3f} | {dms[i] if i < len(dms) else '-'} | "
                     f"{num(h.get('daemon_cpu_s'), '{:.3f}')} / "
                     f"{num(h.get('daemon_runqueue_wait_s'), '{:.3f}')} | "
                     f"{w['legit_sent']} | {w['legit_delivered']} | "
                     f"{num(w['legit_loss_pct'], '{:.2f}')}% | {'PASS' if ok else '**MISS**'} |")
        L.append("")
        L.append(f"Legit loss outside the reload windows (same run, the baseline): "
                 f"{num(rd.get('legit_loss_outside_windows_pct'), '{:.2f}')}%.")
        L.append("")
        L.append(f"Legit delivered over the whole run: {num(rd.get('legit_delivered_pct'), '{:.2f}')}% "
                 f"(of {mpps(rd['legit_offered_pps'])} Mpps legit offered).")
        L.append("")
        L.append("![reload](latest-reload.png)")
        L.append("")

    sy = [c for c in cases if c["scenario"] == "syn"]
    if sy:
        fx = next((c for c in sy if c.get("mode") == "fixed"), None)
        fixed = mpps(fx["rate_target"]) if fx else "?"
        L.append("## 6. SYN flood: spoofed SYNs (flat out, and at a fixed rate with legit handshakes) "
                 "to a local service")
        L.append("")
        L.append(f"| DUT | SYNs offered flat out (Mpps) | SYNs handled (Mpps) | ns/pkt | replies to the "
                 f"client side (Mpps) | legit handshakes completed under {fixed} Mpps | "
                 f"p99 handshake (ms) | DUT busy @ {fixed} Mpps | replies refused by the client's "
                 f"ring @ {fixed} Mpps | legit client packets refused by the DUT's ring |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for var in ("none", "guard", "cookies", "synproxy"):
            c = sl("syn", "flood", var, "flat")
            h = sl("syn", "flood", var, "fixed") or c
            if not c:
                if var == "cookies":
                    L.append(f"| {VARIANT_NAMES[var]} | not in this build | | | | | | | | |")
                continue
            busy = h.get("kthread_cpu_pct") if h is not c else None
            L.append(f"| {VARIANT_NAMES[var]} | {mpps(c['offered_pps'])} | {rate_cell(c, 'dut_pps')} | "
                     f"{num(c['ns_per_pkt'])} | {mpps(c['client_pps'])} | "
                     f"{h.get('handshakes_completed', 0)}/{h.get('handshakes_attempted', 0)} "
                     f"(median run {num(h.get('handshake_ok_pct'), '{:.0f}')}%) | "
                     f"{num(h.get('handshake_p99_ms'), '{:.1f}')} | "
                     f"{num(busy, '{:.0f}') + '%' if busy is not None else '-'} | "
                     f"{num(h.get('replies_refused_pct'), '{:.2f}') + '%' if 'replies_refused_pct' in h else '-'} | "
                     f"{h.get('legit_pkts_lost_at_dut', '-')} |")
        L.append("")
        L.append("Handshakes: one every 1/rate s from one legit source while the flood runs at the fixed "
                 "rate (from the moment it leaves the generator until the last handshake's timeout), each "
                 "given 1 s (a SYN the DUT lost needs a 1 s retransmit: counted as failed).  "
                 "SYNs handled: every SYN the DUT gave a verdict (dropped, answered, passed) per second, "
                 "flat out.  Replies refused by the client's ring: the DUT's SYN-ACKs (XDP_TX or the "
                 "stack's) that the client side's full veth ring dropped (up0's xdp_tx_errors + tx_dropped); "
                 "the client side's receive kthread runs SCHED_FIFO in the fixed-rate runs so that this "
                 "stays ~0, as in production, where the replies to spoofed sources never reach the legit "
                 "client's link (bench/README.md).  Legit client packets refused by the DUT's ring: the "
                 "client's SYNs/ACKs that up0's full ring dropped (c0's tx drops beyond the generator's): "
                 "the DUT saturated.")
        L.append("")

    L.extend(feedload_md(meta.get("feedload")))
    return "\n".join(L) + "\n"


def feedload_md(fl):
    """The feedload scenario's section (no traffic: times and memory)."""
    if not fl:
        return []
    ph = fl["phases"]
    maps = fl.get("maps", {}).get("maps", {})
    mib = 1024 * 1024
    L = [f"## 7. Feed load: {fl['prefixes_v4']} v4 + {fl['prefixes_v6']} v6 prefixes, one gzip "
         f"feed ({fl['feed_bytes'] / mib:.1f} MiB) through the daemon", ""]
    same = sorted(fl["reload_same_ms"])
    L.append("| path (production: the daemon, parse to generation switch) | seconds | target |")
    L.append("|---|---|---|")
    rows = []
    if fl.get("start_to_switch_s"):
        rows.append(("`sluice run` to the first generation switch (the commit: the feed in force)",
                     fl["start_to_switch_s"]))
    rows.append(("`sluice run` to its \"applied\" line (BPF load + attach + feed + the other "
                 "generation)", fl["start_to_applied_s"]))
    for label, sec in rows + [
                       ("`sluice reload`, feed unchanged (median of 3)", same[len(same) // 2] / 1000),
                       ("`sluice reload`, 10% of the v4 lines gone", fl["reload_fewer_ms"] / 1000),
                       ("`sluice reload`, those lines back", fl["reload_more_ms"] / 1000)]:
        L.append(f"| {label} | {sec:.2f} | {'met' if sec < 2 else 'missed'} (< 2 s) |")
    applied = sorted(r.get("applied_ms") or 0 for r in fl.get("reloads_same", []))
    if applied and applied[0] > 0:
        sec = applied[len(applied) // 2] / 1000
        L.append(f"| `sluice reload`, feed unchanged, start to the switch (applied; median of 3) | "
                 f"{sec:.2f} | {'met' if sec < 2 else 'missed'} (< 2 s) |")
    L.append("")
    sw = fl.get("start_switch")
    if sw:
        L.append(f"The start's generation switch took {sw['switch_ms']} ms (compile {sw['compile_ms']}, lists "
                 f"into the inactive generation {sw['lists_ms']}); the rest of `sluice run` to the switch is "
                 f"process start, read + parse, the BPF object's load (its preallocated arrays) and attach.")
        L.append("")
    if fl.get("reloads_same"):
        L.append("The daemon's own split of each reload (ms; `took:` line of `sluice reload`):")
        L.append("")
        L.append("| reload | total (reply) | applied (switch) | read + parse | file checks | "
                 "compile + tables + map writes + switch | after the switch (config diff) |")
        L.append("|---|---|---|---|---|---|---|")
        rows = [(f"unchanged #{i + 1}", r) for i, r in enumerate(fl["reloads_same"])]
        rows += [("10% v4 gone", fl["reload_fewer"]), ("lines back", fl["reload_more"])]
        for label, r in rows:
            L.append(f"| {label} | {r['total_ms']} | {r.get('applied_ms', '-')} | {r['read_parse_ms']} | {r['file_checks_ms']} | "
                     f"{r['switch_ms']} | {r['diff_ms']} |")
        L.append("")
    L.append(f"Where the time goes (sluice-feedload: the daemon's functions, medians of {ph['repeat']}):")
    L.append("")
    L.append("| phase | ms |")
    L.append("|---|---|")
    for key, label in (("read_parse_ms", "read + parse (config, gzip inflate, lines; model_load)"),
                       ("inflate_only_ms", "  of which zlib inflate alone"),
                       ("compile_ms", "compile (allowlist precedence, duplicates, sort; compile_verdicts)"),
                       ("build_ms", "build the fast tables in memory (verdict_tables_build)"),
                       ("write_classes_ms", "write: verdict classes"),
                       ("write_tries_ms", "write: overflow tries (verdicts_apply)"),
                       ("write_hash6_ms", "write: IPv6 hash (256-entry batches)"),
                       ("write_chunks_ms", "write: IPv4 chunks (mmap copy)"),
                       ("write_fast4_ms", "write: IPv4 /24 summary 4 MiB + rank 1 MiB + details (mmap copy)"),
                       ("write_fast6_ms", "write: IPv6 top-24 table 16 MiB + rank 1 MiB + bucket entries (mmap copy)"),
                       ("write_lists_start_ms", "dp_write_lists into fresh maps (a start): total"),
                       ("write_lists_start_build_ms", "  of which build"),
                       ("write_lists_start_write_ms", "  of which map writes"),
                       ("copy_lists_after_start_ms", "dp_copy_lists into the other generation (for "
                        "reference: the start no longer does this, dp_prime_tries copies only the tries)"),
                       ("write_lists_again_ms", "dp_write_lists over the same lists (a reload): total"),
                       ("write_lists_again_build_ms", "  of which build"),
                       ("write_lists_again_write_ms", "  of which map writes (hash drained + rewritten)")):
        if key in ph:
            L.append(f"| {label} | {ph[key]:.0f} |")
    L.append("")
    L.append(f"Fast tables: {ph.get('details_v4', 0)} detailed IPv4 /24s ({ph.get('ranges_v4', 0)} as ranges, "
             f"{ph.get('chunks_v4', 0)} chunks), {ph.get('buckets_v6', 0)} IPv6 buckets "
             f"({ph.get('dense_v6', 0)} in the dense array), {ph.get('hash_v6_entries', 0)} IPv6 hash entries; overflow tries {ph.get('trie_v4_entries', 0)} v4 + "
             f"{ph.get('trie_v6_entries', 0)} v6 entries ({ph.get('deeper_v4', 0)} + {ph.get('deeper_v6', 0)} "
             f"/24s past the pool/hash); compiled entries {ph['compiled']}.  "
             f"Peak RSS of the loader: {ph['peak_rss_kib'] / 1024:.0f} MiB.")
    L.append("")
    L.append("Memory (the kernel's memlock account per pinned map of the running daemon, both generations; "
             "arrays preallocated, the IPv6 hash per element, tries their nodes):")
    L.append("")
    L.append("| map | MiB |")
    L.append("|---|---|")
    for name in sorted(maps):
        if name.startswith(("fast", "verdict_")):
            L.append(f"| {name} | {maps[name] / mib:.1f} |")
    if "memlock_total" in fl.get("maps", {}):
        L.append(f"| all pinned maps of the data path | {fl['maps']['memlock_total'] / mib:.1f} |")
    if ph.get("mmapped_bytes"):
        L.append("")
        L.append(f"Of which mmapped by the daemon (fast_v4 + fast4_detail + fast4_chunks + fast_v6 + "
                 f"fast6_rank + fast6_dense): "
                 f"{ph['mmapped_bytes'] / mib:.0f} MiB.")
    L.append("")
    return L


# ---- plots ---------------------------------------------------------------------------

def gnuplot(out, name, script, data):
    if not shutil.which("gnuplot"):
        return False
    term = "pngcairo size 1000,420 font 'sans,10'"
    probe = subprocess.run(["gnuplot", "-e", "set terminal pngcairo"], capture_output=True)
    if probe.returncode != 0:
        term = "png size 1000,420"
    dat = os.path.join(out, f".{name}.dat")
    with open(dat, "w") as f:
        f.write(data)
    full = f"set terminal {term}\nset termoption noenhanced\nset output '{os.path.join(out, 'latest-' + name + '.png')}'\n" \
           f"dat = '{dat}'\n" + script
    r = subprocess.run(["gnuplot"], input=full.encode(), capture_output=True)
    os.unlink(dat)
    if r.returncode != 0:
        print(f"report: gnuplot {name}: {r.stderr.decode()}", file=sys.stderr)
    return r.returncode == 0


BARS = """set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.8
set grid ytics
set xtics noenhanced
set key off
set multiplot layout 1,2 title '{title}'
set title '{left}'
set yrange [0:*]
plot dat using 2:xtic(1) lc rgb '#3a7bd5'
set title '{right}'
plot dat using 3:xtic(1) lc rgb '#d5663a'
unset multiplot
"""


def bar_data(rows):
    return "".join(f'"{n}" {a if a is not None else 0} {b if b is not None else 0}\n' for n, a, b in rows)


def plots(out, cases, st):
    made = []
    rows = []
    for var in ("sluice", "xdp_drop", "nft_netdev", "iptables_raw", "iptables_ipset"):
        f, x = find(cases, "drop", "flood", var, "flat"), find(cases, "drop", "flood", var, "fixed")
        if f and x:
            rows.append((PLOT_NAMES[var], round(f["out_pps"] / 1e6, 3), f["ns_per_pkt"]))
    if rows and gnuplot(out, "drop", BARS.format(
            title="SYN flood drop", left="max drop rate, flat out (Mpps; most DUTs not saturated)",
            right="DUT CPU ns per packet, flat out"), bar_data(rows)):
        made.append("drop")
    pts = {}
    for c in cases:
        if c["scenario"] == "scale" and c["case"] == "v4flood" and c["mode"] == "flat" \
                and c["variant"] in ("sluice", "lpm_drop"):
            pts.setdefault(c["prefixes_v4"], {})[c["variant"]] = c["ns_per_pkt"]
    ceil = find(cases, "scale", "v4flood", "xdp_drop", "flat")
    if pts:
        data = "".join(f"{n} {v.get('sluice') or 'NaN'} {v.get('lpm_drop') or 'NaN'} "
                       f"{ceil['ns_per_pkt'] if ceil else 'NaN'}\n" for n, v in sorted(pts.items()))
        script = """set logscale x
set grid
set key top left
set title 'Blocklist scaling: DUT CPU ns per dropped packet, flat out'
set xlabel 'IPv4 prefixes loaded (+ 256k IPv6 per 1M)'
set ylabel 'ns / packet'
set yrange [0:*]
plot dat using 1:2 with linespoints lw 2 title 'sluice', \\
     dat using 1:3 with linespoints lw 2 title 'LPM-trie XDP', \\
     dat using 1:4 with lines dt 2 lw 2 title 'bare XDP_DROP'
"""
        if gnuplot(out, "scale", script, data):
            made.append("scale")
    rows = []
    for var in ("sluice", "xdp_tx", "nft_dnat"):
        f, x = find(cases, "lb", "fwd", var, "flat"), find(cases, "lb", "fwd", var, "fixed")
        if f and x:
            rows.append((PLOT_NAMES[var], round(f["out_pps"] / 1e6, 3), f["ns_per_pkt"]))
    if rows and gnuplot(out, "lb", BARS.format(title="Load balancing, 1 VIP / 8 backends",
                                                 left="forwarded, flat out (Mpps)",
                                                 right="DUT CPU ns per packet, flat out"),
                        bar_data(rows)):
        made.append("lb")
    rows = []
    for var in ("sluice", "nft"):
        c = find(cases, "mixed", "mix", var, "fixed")
        if c:
            rows.append((PLOT_NAMES[var], c.get("legit_delivered_pct"),
                         c["kthread_cpu_pct"]))
    if rows and gnuplot(out, "mixed", BARS.format(
            title=f"90% flood + 10% legit at {st['rate_mixed'] / 1e6:.1f} Mpps",
            left="legit delivered (%)", right="DUT CPU busy (%)"), bar_data(rows)):
        made.append("mixed")
    rl = [c for c in cases if c["scenario"] == "reload"]
    if rl and rl[0]["reload"]["series"]:
        rd = rl[0]["reload"]
        data = "".join(f"{t} {a / 1e3:.1f} {b / 1e3:.1f}\n" for t, a, b in rd["series"])
        rects = "".join(
            f"set object {i + 1} rect from {w0},graph 0 to {w1 + 0.02},graph 1 "
            f"fc rgb '#f2c14e' fs solid 0.4 noborder behind\n"
            for i, (w0, w1, _lbl) in enumerate(rd["windows_rel"]))
        script = rects + """set grid
set key bottom right
set title 'Legit traffic during reloads (shaded: signal to generation switch)'
set xlabel 'seconds'
set ylabel 'kpps'
set yrange [0:*]
plot dat using 1:2 with lines lw 2 title 'legit sent', \
     dat using 1:3 with lines lw 2 title 'legit delivered'
"""
        if gnuplot(out, "reload", script, data):
            made.append("reload")
    return made


def git(root, *args):
    try:
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def main():
    ap = argparse.ArgumentParser()
    for a in ("raw", "out", "command", "smoke", "duration", "repeats", "gen-ceiling",
              "sluice-mode", "elapsed", "root", "settings"):
        ap.add_argument("--" + a, required=a not in ("sluice-mode", "gen-ceiling"))
    a = ap.parse_args()
    with open(a.raw) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    # feedload has no traffic: its record is reported on its own
    feedload = [r for r in runs if r.get("scenario") == "feedload"]
    runs = [r for r in runs if r.get("scenario") != "feedload"]
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = git(a.root, "rev-parse", "--short", "HEAD") or "?"
    if git(a.root, "status", "--porcelain", "--untracked-files=no"):
        commit += " (+ uncommitted changes)"
    st = json.loads(a.settings)
    meta = {"command": a.command, "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "kernel": platform.release(), "cpu": cpu, "cpus": os.cpu_count(), "commit": commit,
            "smoke": a.smoke == "1", "duration": float(a.duration), "repeats": int(a.repeats),
            "sluice_mode": a.sluice_mode, "elapsed_s": int(a.elapsed), "settings": st}
    if feedload:
        meta["feedload"] = feedload[-1]
        # kept on its own too: a run of other scenarios leaves it in place
        with open(os.path.join(a.out, "feedload.json"), "w") as f:
            json.dump({"command": a.command, "date": meta["date"], "commit": commit,
                       "kernel": meta["kernel"], "cpu": cpu, "feedload": feedload[-1]}, f, indent=1)
        with open(os.path.join(a.out, "feedload.md"), "w") as f:
            f.write(f"Produced by `{a.command}` on {meta['date']}, commit {commit}, "
                    f"kernel {meta['kernel']}, {cpu}.\n\n" + "\n".join(feedload_md(feedload[-1])) + "\n")
    if a.gen_ceiling and os.path.exists(a.gen_ceiling):
        with open(a.gen_ceiling) as f:
            meta["gen_ceiling"] = json.load(f)
    cases = aggregate(runs)
    scale_sizes = [int(x) for x in st.get("scale_sizes", "").split()]
    tgts = targets(cases, scale_sizes)
    meta["plots"] = plots(a.out, cases, st)
    with open(os.path.join(a.out, "latest.json"), "w") as f:
        json.dump({"meta": meta, "targets": tgts, "cases": cases, "runs": runs}, f, indent=1)
    with open(os.path.join(a.out, "latest.md"), "w") as f:
        f.write(markdown(meta, cases, tgts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
