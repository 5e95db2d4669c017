#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""labnet.py - stdlib-only traffic tools for the sluice namespace lab.

Used by tests/lab/lab.sh (and through it by the lab tests, bench and demo);
it is run inside one of the lab's network namespaces, never on the host.

  sink        UDP + TCP sink for the node: logs one line per datagram /
              connection ("udp SRC LEN", "tcp SRC") so tests can count what
              actually reached the node's stack, per source address.
  udp-send    send exactly N datagrams from a bound source address.
  tcp-connect one TCP connection from a bound source; exit 0 only if the
              sink's banner came back.
  count       count sink log lines of one kind from one source.
  stats-delta difference of two `sluice stats --json` snapshots.
"""
import argparse
import ipaddress
import json
import os
import selectors
import signal
import socket
import sys
import time

BANNER = b"sluice-lab\n"


def family(addr):
    return socket.AF_INET6 if ipaddress.ip_address(addr).version == 6 else socket.AF_INET


def canon(addr):
    """One spelling per address, so log lines and arguments compare equal."""
    return str(ipaddress.ip_address(addr.split("%")[0]))


def cmd_sink(a):
    sel = selectors.DefaultSelector()
    log = open(a.log, "a", buffering=1)  # line buffered: tests read it live
    for addr in a.addr:
        fam = family(addr)
        u = socket.socket(fam, socket.SOCK_DGRAM)
        # A big receive buffer so a burst is counted, not dropped by the
        # socket (that would look like a filtering bug).
        u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        u.bind((addr, a.udp_port))
        sel.register(u, selectors.EVENT_READ, "udp")
        t = socket.socket(fam, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((addr, a.tcp_port))
        t.listen(16)
        sel.register(t, selectors.EVENT_READ, "tcp")

    def stop(_sig, _frm):
        log.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Readiness is a file, written only after every socket is bound, so the
    # caller never races the first datagram against bind().
    with open(a.ready, "w") as f:
        f.write(str(os.getpid()))
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if key.data == "udp":
                data, peer = s.recvfrom(65535)
                log.write("udp %s %d\n" % (canon(peer[0]), len(data)))
            else:
                c, peer = s.accept()
                try:
                    c.settimeout(1)
                    c.sendall(BANNER)
                finally:
                    c.close()
                log.write("tcp %s\n" % canon(peer[0]))


def cmd_udp_send(a):
    s = socket.socket(family(a.dst), socket.SOCK_DGRAM)
    s.bind((a.src, 0))
    payload = b"s" * a.size
    sent = 0
    deadline = time.monotonic() + a.duration if a.duration else None
    while True:
        if deadline is None and sent >= a.count:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        s.sendto(payload, (a.dst, a.port))
        sent += 1
        if a.interval:
            time.sleep(a.interval)
    print(sent)


def cmd_tcp_connect(a):
    s = socket.socket(family(a.dst), socket.SOCK_STREAM)
    s.bind((a.src, 0))
    s.settimeout(a.timeout)
    try:
        s.connect((a.dst, a.port))
        got = b""
        while len(got) < len(BANNER):
            chunk = s.recv(64)
            if not chunk:
                break
            got += chunk
    except OSError as e:  # socket.timeout is an OSError
        print("connect %s -> %s:%d failed: %s" % (a.src, a.dst, a.port, e or "timeout"))
        return 1
    finally:
        s.close()
    if got != BANNER:
        print("unexpected banner %r" % got)
        return 1
    print("connected")
    return 0


def cmd_count(a):
    want = canon(a.src)
    n = 0
    try:
        with open(a.log) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == a.kind and parts[1] == want:
                    n += 1
    except FileNotFoundError:
        pass
    print(n)


def load_stats(path):
    """(reason, action) -> (packets, bytes), plus aux name -> value."""
    with open(path) as f:
        doc = json.load(f)
    slots = {}
    for c in doc.get("counters", []):
        slots[(c["reason"], c["action"])] = (int(c["packets"]), int(c["bytes"]))
    aux = {k: int(v) for k, v in doc.get("aux", {}).items()}
    return slots, aux


def cmd_stats_delta(a):
    s0, x0 = load_stats(a.before)
    s1, x1 = load_stats(a.after)
    # One line per slot that moved: "reason/action packets bytes".  Sorted so
    # callers can compare against an expected text exactly.
    for key in sorted(set(s0) | set(s1)):
        p0, b0 = s0.get(key, (0, 0))
        p1, b1 = s1.get(key, (0, 0))
        if p1 != p0 or b1 != b0:
            print("%s/%s %d %d" % (key[0], key[1], p1 - p0, b1 - b0))
    for key in sorted(set(x0) | set(x1)):
        d = x1.get(key, 0) - x0.get(key, 0)
        if d:
            print("aux/%s %d" % (key, d))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("sink")
    s.add_argument("--log", required=True)
    s.add_argument("--ready", required=True)
    s.add_argument("--udp-port", type=int, required=True)
    s.add_argument("--tcp-port", type=int, required=True)
    s.add_argument("addr", nargs="+", help="local addresses to listen on")
    s.set_defaults(fn=cmd_sink)

    s = sub.add_parser("udp-send")
    s.add_argument("--src", required=True)
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--size", type=int, default=32, help="payload bytes")
    s.add_argument("--interval", type=float, default=0.0, help="seconds between datagrams")
    s.add_argument("--duration", type=float, default=0.0, help="send for this long instead of --count")
    s.set_defaults(fn=cmd_udp_send)

    s = sub.add_parser("tcp-connect")
    s.add_argument("--src", required=True)
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--timeout", type=float, default=2.0)
    s.set_defaults(fn=cmd_tcp_connect)

    s = sub.add_parser("count")
    s.add_argument("log")
    s.add_argument("kind", choices=["udp", "tcp"])
    s.add_argument("src")
    s.set_defaults(fn=cmd_count)

    s = sub.add_parser("stats-delta")
    s.add_argument("before")
    s.add_argument("after")
    s.set_defaults(fn=cmd_stats_delta)

    a = p.parse_args()
    sys.exit(a.fn(a) or 0)


if __name__ == "__main__":
    main()
