#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""measure.py - the bench's measuring hands (python3 stdlib only).

  measure.py napi IFNAME
      PIDs of the NAPI kthreads of IFNAME (threaded NAPI), one a line, from
      the kernel's netdev netlink family (napi-get dump).  Run it inside the
      interface's network namespace.  Exact, unlike `pgrep napi/up0`, which
      also finds every other lab's up0.
  measure.py snap OUT [PID...]
      CPU counters now, as JSON: /proc/stat per CPU, NET_RX/NET_TX from
      /proc/softirqs per CPU, and each PID's time on CPU
      (/proc/PID/schedstat, nanoseconds).
  measure.py record --name N --before A --after B --gen GEN.json
                    [--counters-before C --counters-after D] [--meta JSON]
      One measurement as one JSON line: what the generator sent, what the
      DUT's own counters moved (named counters, see bench.sh), and the CPU
      time each CPU and each watched kthread spent, also per million packets.
  measure.py sluice-counters KEYS CLIENT < STATS   counters JSON from sluice stats
  measure.py nft-sum < NFT_JSON           packets of nft -j counter listings
  measure.py reload --watch F --gen-series S --gen G --windows JSON
      the reload scenario's legit loss per apply window (see reload_analysis)
  measure.py handshakes SRC DST PORT RATE SECONDS TIMEOUT [FLOOD_IF]
      legit TCP handshakes (the syn scenario): a new connection from SRC to
      DST:PORT every 1/RATE s for SECONDS, each given TIMEOUT s to complete,
      the first once FLOOD_IF has sent 1000 packets (the flood is on);
      JSON: attempted, completed, failed, p50/p99 handshake ms, when each
      failed attempt started, how long the client waited for the flood
  measure.py links OUT IFNAME...
      the interfaces' counters now, as JSON (run it inside their namespace):
      `ethtool -S` (veth: per-queue XDP packets, XDP_TX, XDP_TX errors =
      frames the peer's full ring refused), `ip -s link` rx/tx and drops,
      and the namespace's TCP counters (nstat: active opens, SYN retransmits)
  measure.py delta BEFORE AFTER
      what moved between two `links` snapshots (non-zero differences only)
  measure.py merge-last RAW KEY FILE
      add FILE's JSON as KEY to the last record of RAW (a .jsonl file)
  measure.py hup PID STATE_PIN
      SIGHUP the daemon PID and wait for the generation switch: polls the
      pinned sluice_state map (bpf syscalls) until its serial moves, then
      prints one JSON line: the signal and the switch on the wall clock and
      the time between them, from the state's switched_ns (CLOCK_MONOTONIC,
      written by the daemon as it switches) against the monotonic time of
      the signal, so the polling interval adds nothing to the figure.
"""
import json
import os
import socket
import struct
import sys
import time

# ---- generic netlink: netdev napi-get ------------------------------------

NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 0x10, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
NETDEV_A_NAPI_IFINDEX, NETDEV_A_NAPI_PID = 1, 4
NETDEV_CMD_NAPI_GET = 11  # include/uapi/linux/netdev.h (kernel >= 6.9)


def _attrs(buf):
    """type -> payload of a run of netlink attributes."""
    out, off = {}, 0
    while off + 4 <= len(buf):
        ln, typ = struct.unpack_from("=HH", buf, off)
        if ln < 4:
            break
        out.setdefault(typ & 0x3FFF, []).append(buf[off + 4 : off + ln])
        off += (ln + 3) & ~3
    return out


def _attr(typ, payload):
    ln = 4 + len(payload)
    return struct.pack("=HH", ln, typ) + payload + b"\0" * (((ln + 3) & ~3) - ln)


def _genl_talk(sock, family, cmd, flags, payload):
    """Send one genl request, collect the messages of the answer."""
    seq = int(time.time()) & 0xFFFF
    body = struct.pack("=BBH", cmd, 1, 0) + payload
    sock.send(struct.pack("=IHHII", 16 + len(body), family, NLM_F_REQUEST | flags, seq, 0) + body)
    msgs = []
    while True:
        data = sock.recv(1 << 16)
        off = 0
        while off + 16 <= len(data):
            ln, typ, _fl, _seq, _pid = struct.unpack_from("=IHHII", data, off)
            if typ == NLMSG_DONE:
                return msgs
            if typ == NLMSG_ERROR:
                err = struct.unpack_from("=i", data, off + 16)[0]
                if err:
                    raise OSError(-err, os.strerror(-err))
                return msgs
            msgs.append(data[off + 20 : off + ln])  # past nlmsghdr + genlmsghdr
            off += (ln + 3) & ~3
        if not flags & NLM_F_DUMP and msgs:
            return msgs


def napi_pids(ifname):
    ifindex = socket.if_nametoindex(ifname)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)  # NETLINK_GENERIC
    sock.bind((0, 0))
    sock.settimeout(5)
    # no NLM_F_ACK: its ACK would come after the answer and be read as the
    # (empty) end of the dump below
    fam = _genl_talk(sock, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0,
                     _attr(CTRL_ATTR_FAMILY_NAME, b"netdev\0"))
    a = _attrs(fam[0])
    family = struct.unpack("=H", a[CTRL_ATTR_FAMILY_ID][0][:2])[0]
    msgs = _genl_talk(sock, family, NETDEV_CMD_NAPI_GET, NLM_F_DUMP,
                      _attr(NETDEV_A_NAPI_IFINDEX, struct.pack("=I", ifindex)))
    pids = []
    for m in msgs:
        a = _attrs(m)
        if NETDEV_A_NAPI_PID in a:
            pids.append(struct.unpack("=I", a[NETDEV_A_NAPI_PID][0][:4])[0])
    return pids


# ---- snapshots -------------------------------------------------------------

STAT_COLS = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
TICK = os.sysconf("SC_CLK_TCK")


def snap(pids):
    s = {"t": time.monotonic(), "cpu": {}, "softirq": {}, "pids": {}}
    with open("/proc/stat") as f:
        for line in f:
            w = line.split()
            if w[0].startswith("cpu") and w[0] != "cpu":
                s["cpu"][w[0][3:]] = dict(zip(STAT_COLS, map(int, w[1:9])))
    with open("/proc/softirqs") as f:
        rows = [line.split() for line in f]
    cpus = [c.lower().replace("cpu", "") for c in rows[0]]
    for r in rows[1:]:
        if r[0] in ("NET_RX:", "NET_TX:"):
            s["softirq"][r[0][:-1]] = dict(zip(cpus, map(int, r[1:])))
    for p in pids:
        try:
            with open(f"/proc/{p}/schedstat") as f:
                s["pids"][str(p)] = int(f.read().split()[0])
        except OSError:
            pass
    return s


def load(path):
    with open(path) as f:
        return json.load(f)


def record(args):
    """Deltas of two snapshots plus the generator's report -> one JSON line."""
    a, b = load(args["before"]), load(args["after"])
    gen = load(args["gen"])
    c0 = load(args["counters-before"]) if "counters-before" in args else {}
    c1 = load(args["counters-after"]) if "counters-after" in args else {}
    counters = {k: c1[k] - c0.get(k, 0) for k in c1 if c1[k] != c0.get(k, 0) or ":" not in k}
    secs = gen.get("seconds") or (b["t"] - a["t"])
    ms = 1000.0 / TICK
    cpu = {}
    for c in b["cpu"]:
        d = {k: (b["cpu"][c][k] - a["cpu"][c][k]) * ms for k in STAT_COLS}
        d["busy"] = sum(d[k] for k in STAT_COLS if k not in ("idle", "iowait"))
        d["net_rx"] = (b["softirq"].get("NET_RX", {}).get(c, 0)
                       - a["softirq"].get("NET_RX", {}).get(c, 0))
        cpu[c] = {k: round(v, 1) for k, v in d.items()}  # ms, net_rx: count
    kthread_ms = sum(b["pids"].get(p, 0) - a["pids"].get(p, 0) for p in a["pids"]) / 1e6
    rec = {"name": args["name"], "gen": gen, "counters": counters,
           "seconds": round(secs, 3), "cpu_ms": cpu, "kthread_ms": round(kthread_ms, 2),
           "wall": round(b["t"] - a["t"], 3)}
    rec.update(json.loads(args.get("extra", "{}")))
    rec.update(json.loads(args.get("meta", "{}")))
    # the DUT's packet count and rates; "processed" is what the DUT program
    # (or stack) handled, "out" what it did with them that the case is about
    proc = counters.get("processed", 0)
    rec["dut_pps"] = round(proc / secs) if secs else 0
    rec["out_pps"] = round(counters.get("out", proc) / secs) if secs else 0
    rec["client_pps"] = round(counters.get("client", 0) / secs) if secs else 0
    if proc:
        dut = str(rec.get("dut_cpu", 1))
        rec["kthread_ns_per_pkt"] = round(kthread_ms * 1e6 / proc, 1)
        rec["dut_cpu_ms_per_mpkt"] = {k: round(cpu[dut][k] * 1e6 / proc, 1)
                                      for k in ("softirq", "system", "busy")}
        rec["dut_cpu_ms_per_mpkt"]["softirq+system"] = round(
            (cpu[dut]["softirq"] + cpu[dut]["system"]) * 1e6 / proc, 1)
        rec["dut_busy_ns_per_pkt"] = round(cpu[dut]["busy"] * 1e6 / proc, 1)
    # Was the DUT the bottleneck?  Only a DUT busy (nearly) all the time
    # shows its own maximum; otherwise the rate is the rig's (generator,
    # ring, wakeups) and the CPU time per packet is the comparison.
    rec["dut_busy_pct"] = round(100 * kthread_ms / (1000 * secs), 1) if secs else 0
    rec["saturated"] = rec["dut_busy_pct"] >= 85
    print(json.dumps(rec, sort_keys=True))


def sluice_counters(keys, client):
    """`sluice stats --json` on stdin -> counters JSON: processed (every
    verdict the XDP program counted), out (the (reason/action) slots in
    keys; "client" for the client sink's count), client, and every slot."""
    st = json.load(sys.stdin)
    want = set(keys.split(","))
    c = {"processed": 0, "out": 0, "client": int(client)}
    for s in st.get("counters", []):
        slot = f'{s["reason"]}/{s["action"]}'
        c["processed"] += s["packets"]
        c["slot:" + slot] = s["packets"]
        if slot in want:
            c["out"] += s["packets"]
    if keys == "client":
        c["out"] = c["client"]
    print(json.dumps(c))


def nft_sum():
    """`nft -j list counters table ...` on stdin -> total packets."""
    doc = json.load(sys.stdin)
    print(sum(i["counter"].get("packets", 0) for i in doc.get("nftables", []) if "counter" in i))


def _series(path, cols):
    out = []
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) == cols:
                out.append((float(w[0]), *map(int, w[1:])))
    return out


def _at(samples, t, col=1):
    """A counter's value at time t, linear between samples."""
    for a, b in zip(samples, samples[1:]):
        if a[0] <= t <= b[0]:
            f = (t - a[0]) / (b[0] - a[0]) if b[0] > a[0] else 0
            return a[col] + (b[col] - a[col]) * f
    return samples[0][col] if t < samples[0][0] else samples[-1][col]


def reload_analysis(args):
    """The reload scenario: what the generator sent (its --series file:
    "UNIX_SECONDS FLOOD LEGIT") and what reached the client's sink (watch
    file: "UNIX_SECONDS COUNT"; only legit packets get there), over time,
    and the apply windows -> legit loss in each window and overall, plus the
    series (legit sent and delivered per second) for the plot."""
    sent = _series(args["gen-series"], 3)
    got = _series(args["watch"], 2)
    gen = load(args["gen"])
    windows = json.loads(args["windows"])  # [[start, end, "label"], ...]
    t_start, t_stop = sent[0][0], sent[-1][0]
    out = {"legit_offered_pps": round(gen["legit"] / gen["seconds"]) if gen["seconds"] else 0,
           "windows": []}
    for w0, w1, label in windows:
        # the window: the apply, plus 100 ms for what was still in flight
        # or queued when it ended
        ls = _at(sent, w1 + 0.1, 2) - _at(sent, w0, 2)
        ld = _at(got, w1 + 0.1) - _at(got, w0)
        out["windows"].append({"label": label, "apply_seconds": round(w1 - w0, 3),
                               "legit_sent": round(ls), "legit_delivered": round(ld),
                               "legit_loss_pct": round(max(0.0, 100 * (1 - ld / ls)), 3)
                               if ls else None})
    # the same measure outside every window (+100 ms): loss the reloads did
    # not cause (a shared machine, a ring overflowing), to compare with
    out_s = out_d = 0.0
    for a, b in zip(sent, sent[1:]):
        if any(w0 <= b[0] and a[0] <= w1 + 0.1 for w0, w1, _l in windows):
            continue
        out_s += b[2] - a[2]
        out_d += _at(got, b[0]) - _at(got, a[0])
    out["legit_loss_outside_windows_pct"] = (round(max(0.0, 100 * (1 - out_d / out_s)), 3)
                                             if out_s else None)
    total_sent = sent[-1][2] - sent[0][2]
    total_got = _at(got, t_stop + 0.1) - _at(got, t_start)
    out["legit_delivered_pct"] = round(100 * total_got / total_sent, 3) if total_sent else None
    series = []
    for a, b in zip(sent, sent[1:]):
        if b[0] - a[0] > 0.005:
            dt = b[0] - a[0]
            series.append([round(a[0] - t_start, 3), round((b[2] - a[2]) / dt),
                           round((_at(got, b[0]) - _at(got, a[0])) / dt)])
    out["series"] = series
    out["windows_rel"] = [[round(w0 - t_start, 3), round(w1 - t_start, 3), label]
                          for w0, w1, label in windows]
    print(json.dumps(out))


def wait_flood(ifname, packets=1000, limit=15.0):
    """Wait until IFNAME (this namespace's /proc/net/dev) has sent PACKETS
    more: the flood is on.  The handshakes are judged under the flood only,
    not in the moments before the generator starts."""
    def tx():
        with open("/proc/net/dev") as f:
            for line in f:
                name, sep, rest = line.partition(":")
                if sep and name.strip() == ifname:
                    return int(rest.split()[9])
        raise SystemExit(f"handshakes: no interface {ifname} in this namespace")
    start, t_end = tx(), time.monotonic() + limit
    while tx() - start < packets:
        if time.monotonic() > t_end:
            raise SystemExit(f"handshakes: no flood on {ifname} within {limit:.0f} s")
        time.sleep(0.005)


def handshakes(src, dst, port, rate, secs, timeout, flood_if=None):
    """Non-blocking connects, paced; a handshake is complete when connect()
    reports success (the SYN-ACK came and our ACK went), counted only within
    timeout (a SYN the flood made the DUT lose needs a 1 s retransmit: that
    is a failure here).  With flood_if: the first connect once the flood
    leaves that interface."""
    import selectors
    t_start = time.monotonic()
    if flood_if:
        wait_flood(flood_if)
    waited = time.monotonic() - t_start
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    sel = selectors.DefaultSelector()
    pending = {}  # socket -> start time
    done_ms, failed, attempted = [], 0, 0
    failed_at = []  # when each failed attempt started, s from the first
    t0 = time.monotonic()
    nxt = t0
    while True:
        now = time.monotonic()
        if now - t0 < secs and now >= nxt:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setblocking(False)
            s.bind((src, 0))
            try:
                s.connect((dst, port))
            except BlockingIOError:
                pass
            except OSError:
                failed += 1
                failed_at.append(round(now - t0, 3))
                attempted += 1
                s.close()
                nxt += 1.0 / rate
                continue
            pending[s] = now
            sel.register(s, selectors.EVENT_WRITE)
            attempted += 1
            nxt += 1.0 / rate
        if now - t0 >= secs and not pending:
            break
        wait = max(0.0, min(nxt - now, 0.01))
        for key, _ in sel.select(wait):
            s = key.fileobj
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            sel.unregister(s)
            if err == 0:
                done_ms.append((time.monotonic() - pending.pop(s)) * 1000)
            else:
                failed_at.append(round(pending.pop(s) - t0, 3))
                failed += 1
            s.close()
        now = time.monotonic()
        for s in [s for s, t in pending.items() if now - t > timeout]:
            sel.unregister(s)
            failed_at.append(round(pending.pop(s) - t0, 3))
            failed += 1
            s.close()
    done_ms.sort()

    def pct(p):
        return round(done_ms[min(len(done_ms) - 1, int(p * len(done_ms)))], 2) if done_ms else None

    print(json.dumps({"attempted": attempted, "completed": len(done_ms), "failed": failed,
                      "p50_ms": pct(0.5), "p99_ms": pct(0.99),
                      "failed_at_s": sorted(failed_at), "flood_waited_s": round(waited, 3)}))


# ---- where packets are lost on the rig's links (the syn scenario) ---------

TCP_KEYS = ("TcpActiveOpens", "TcpRetransSegs", "TcpExtTCPSynRetrans", "TcpAttemptFails",
            "TcpInSegs", "TcpOutSegs", "TcpExtTCPTimeouts")


def links(out, ifnames):
    import subprocess
    snap_ = {}
    for ifname in ifnames:
        c = {}
        txt = subprocess.run(["ethtool", "-S", ifname], capture_output=True, text=True).stdout
        for line in txt.splitlines():
            k, sep, v = line.strip().rpartition(":")
            if sep and v.strip().isdigit():
                c[k.strip()] = int(v)
        js = subprocess.run(["ip", "-j", "-s", "link", "show", "dev", ifname],
                            capture_output=True, text=True).stdout
        for d in ("rx", "tx"):
            for k, v in json.loads(js)[0]["stats64"][d].items():
                c["link_%s_%s" % (d, k)] = v
        snap_[ifname] = c
    js = subprocess.run(["nstat", "-asz", "--json"], capture_output=True, text=True).stdout
    kern = json.loads(js)["kernel"]
    snap_["tcp"] = {k: kern[k] for k in TCP_KEYS if k in kern}
    # the receive kthreads of these links (LINKS_NAPI_PIDS): time on the CPU
    # and time runnable but waiting for it (a starved receive path)
    napi = {"cpu_ns": 0, "wait_ns": 0}
    for p in os.environ.get("LINKS_NAPI_PIDS", "").split():
        with open(f"/proc/{p}/schedstat") as f:
            run_ns, wait_ns = map(int, f.read().split()[:2])
        napi["cpu_ns"] += run_ns
        napi["wait_ns"] += wait_ns
    snap_["napi"] = napi
    with open(out, "w") as f:
        json.dump(snap_, f)


def delta(before, after):
    a, b = load(before), load(after)
    out = {}
    for grp, vals in b.items():
        d = {k: v - a.get(grp, {}).get(k, 0) for k, v in vals.items()
             if isinstance(v, int) and v != a.get(grp, {}).get(k, 0)}
        out[grp] = d
    print(json.dumps(out))


def merge_last(raw, key, path):
    with open(raw) as f:
        lines = f.read().splitlines()
    rec = json.loads(lines[-1])
    rec[key] = load(path)
    lines[-1] = json.dumps(rec)
    with open(raw, "w") as f:
        f.write("\n".join(lines) + "\n")
# ---- the daemon's generation switch: sluice_state through bpf(2) ---------

SYS_BPF = 321  # x86_64
BPF_MAP_LOOKUP_ELEM, BPF_OBJ_GET = 1, 7


def _bpf(cmd, attr):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(bytes(attr), 128)
    rc = libc.syscall(SYS_BPF, cmd, buf, 128)
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return rc


def _state_reader(pin):
    """A function returning (serial, switched_ns) of the pinned sluice_state
    (struct sluice_state: gen u32, serial u32, switched_ns u64, ...)."""
    import ctypes
    path = ctypes.create_string_buffer(pin.encode())
    fd = _bpf(BPF_OBJ_GET, struct.pack("QII", ctypes.addressof(path), 0, 0))
    key = ctypes.create_string_buffer(4)
    val = ctypes.create_string_buffer(256)

    def read():
        _bpf(BPF_MAP_LOOKUP_ELEM, struct.pack("IIQQQ", fd, 0, ctypes.addressof(key),
                                               ctypes.addressof(val), 0))
        _gen, serial, switched = struct.unpack_from("IIQ", val.raw)
        return serial, switched
    return read


def _task_sched(pid):
    """(on-CPU ns, runqueue-wait ns) summed over the threads of pid."""
    run = wait = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                a, b, _ = f.read().split()
            run, wait = run + int(a), wait + int(b)
        except (OSError, ValueError):
            pass
    return run, wait


def hup(pid, pin, timeout=60.0):
    import signal
    read = _state_reader(pin)
    serial0, _ = read()
    sched0 = _task_sched(pid)
    real0, mono0 = time.time(), time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while True:
        serial, switched = read()
        if serial != serial0:
            break
        if time.monotonic() > deadline:
            print(json.dumps({"error": f"no generation switch within {timeout:.0f} s"}))
            return 1
        time.sleep(0.002)
    secs = (switched - mono0) / 1e9
    sched1 = _task_sched(pid)
    # the daemon's threads: time on a CPU and time runnable but waiting for
    # one, from the signal to (a poll interval after) the switch
    print(json.dumps({"signal_real": real0, "switch_real": real0 + secs,
                      "seconds": round(secs, 4), "serial_before": serial0,
                      "serial_after": serial,
                      "daemon_cpu_s": round((sched1[0] - sched0[0]) / 1e9, 4),
                      "daemon_runqueue_wait_s": round((sched1[1] - sched0[1]) / 1e9, 4)}))
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "napi":
        for p in napi_pids(argv[1]):
            print(p)
        return 0
    if len(argv) >= 2 and argv[0] == "snap":
        with open(argv[1], "w") as f:
            json.dump(snap(argv[2:]), f)
        return 0
    if argv and argv[0] in ("record", "reload"):
        args, it = {}, iter(argv[1:])
        for k in it:
            args[k.lstrip("-")] = next(it)
        (record if argv[0] == "record" else reload_analysis)(args)
        return 0
    if len(argv) == 3 and argv[0] == "sluice-counters":
        sluice_counters(argv[1], argv[2])
        return 0
    if len(argv) in (7, 8) and argv[0] == "handshakes":
        handshakes(argv[1], argv[2], int(argv[3]), float(argv[4]), float(argv[5]),
                   float(argv[6]), argv[7] if len(argv) == 8 else None)
        return 0
    if len(argv) >= 3 and argv[0] == "links":
        links(argv[1], argv[2:])
        return 0
    if len(argv) == 3 and argv[0] == "delta":
        delta(argv[1], argv[2])
        return 0
    if len(argv) == 4 and argv[0] == "merge-last":
        merge_last(argv[1], argv[2], argv[3])
        return 0
    if len(argv) == 3 and argv[0] == "hup":
        return hup(int(argv[1]), argv[2])
    if argv == ["nft-sum"]:
        nft_sum()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
