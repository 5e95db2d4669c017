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

For the load-balancer lab (lab_up_lb):

  http-server  a backend's HTTP/1.1 server (keep-alive, IPv4 + IPv6): every
               GET is answered 200 with the backend's name as the body and
               in X-Backend, plus X-Client: the address and port the backend
               saw the connection come from.
  udp-echo     a backend's UDP server: answers every datagram with its name.
  http-spread  N fresh TCP connections (one GET each) from fixed, consecutive
               source ports; prints JSON: connections per backend, errors.
  http-session keep-alive HTTP connections driven line by line from stdin
               ("open NAME" / "get NAME" / "close NAME"); one line answered
               per command, so a test can hold a connection open while it
               reconfigures sluice, then check the SAME connection again.
  udp-ask      one datagram from an unconnected socket; prints the reply and
               the address it came from.
"""
import argparse
import http.client
import ipaddress
import json
import os
import selectors
import signal
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BANNER = b"sluice-lab\n"


def family(addr):
    return socket.AF_INET6 if ipaddress.ip_address(addr).version == 6 else socket.AF_INET


def canon(addr):
    """One spelling per address, so log lines and arguments compare equal
    (an IPv4 client of a dual-stack socket shows up as ::ffff:a.b.c.d)."""
    ip = ipaddress.ip_address(addr.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip)


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


# ---- load-balancer lab: backends -------------------------------------------


def write_ready(path):
    # Written only once every socket is bound: the caller never races the
    # first request against bind().
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(os.getpid()))
    os.rename(tmp, path)


def stop_on_term():
    def stop(_sig, _frm):
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


class DualStackHTTPServer(ThreadingHTTPServer):
    """One socket on [::] that takes IPv4 (as v4-mapped) and IPv6."""

    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # Not HTTPServer.server_bind: it resolves the host name (getfqdn),
        # which in a namespace without DNS can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "sluice-lab"
        self.server_port = self.server_address[1]


def cmd_http_server(a):
    name = a.name
    log = open(a.log, "a", buffering=1) if a.log else None
    log_lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive unless the client says close
        server_version = "sluice-lab"
        sys_version = ""

        def setup(self):
            super().setup()
            # Headers and body are two writes: without this, Nagle holds
            # the body until the client's delayed ACK (40 ms a request).
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if log:
                with log_lock:
                    log.write("conn %s %d\n" % (canon(self.client_address[0]), self.client_address[1]))

        def do_GET(self):
            body = (name + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Backend", name)
            self.send_header("X-Client", "%s %d" % (canon(self.client_address[0]), self.client_address[1]))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            pass

    srv = DualStackHTTPServer(("::", a.port), Handler)
    stop_on_term()
    write_ready(a.ready)
    srv.serve_forever()


def cmd_udp_echo(a):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", a.port))
    stop_on_term()
    write_ready(a.ready)
    reply = a.name.encode()
    while True:
        _data, peer = s.recvfrom(65535)
        s.sendto(reply, peer)


# ---- load-balancer lab: clients -------------------------------------------------


def http_host(dst):
    return "[%s]" % dst if ":" in dst else dst


def http_get(conn, dst):
    """One GET on conn; returns the backend's name (from X-Backend)."""
    conn.request("GET", "/", headers={"Host": http_host(dst)})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise OSError("HTTP status %d" % r.status)
    be = r.getheader("X-Backend")
    if not be or body.decode(errors="replace").strip() != be:
        raise OSError("bad response: X-Backend %r, body %r" % (be, body[:40]))
    return be, r.getheader("X-Client", "")


def cmd_http_spread(a):
    """--count fresh connections from source ports --sport, --sport+1, ...:
    fixed ports make the flows (and so the spread) the same on every run."""
    per = {}
    errors = []
    clients = set()
    for i in range(a.count):
        sport = a.sport + i
        conn = http.client.HTTPConnection(a.dst, a.port, timeout=a.timeout, source_address=(a.src, sport))
        try:
            conn.connect()
            # Connection: close, and the server closes first: no TIME_WAIT
            # left on the client's side of these ports.
            conn.request("GET", "/", headers={"Host": http_host(a.dst), "Connection": "close"})
            r = conn.getresponse()
            body = r.read()
            be = r.getheader("X-Backend")
            if r.status != 200 or not be or body.decode(errors="replace").strip() != be:
                raise OSError("status %d, X-Backend %r, body %r" % (r.status, be, body[:40]))
            per[be] = per.get(be, 0) + 1
            clients.add(r.getheader("X-Client", "").split(" ")[0])
        except (OSError, http.client.HTTPException) as e:
            errors.append("sport %d: %s" % (sport, e or type(e).__name__))
        finally:
            conn.close()
    print(json.dumps({"count": a.count, "ok": a.count - len(errors), "backends": per,
                      "errors": errors[:5], "n_errors": len(errors), "clients_seen": sorted(clients)}))
    return 0


def cmd_http_session(a):
    """Line protocol on stdin/stdout, one answer line per command:
      open NAME   -> "NAME BACKEND LPORT"     new keep-alive connection + GET
      get NAME    -> "NAME BACKEND LPORT"     GET on the SAME connection
      close NAME  -> "NAME closed"
    or "NAME error WHY".  http.client would silently reconnect a dropped
    connection; auto_open = 0 makes that an error instead, and LPORT lets the
    caller see that the connection is the one it opened."""
    conns = {}
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 2:
            print("? error usage: open|get|close NAME", flush=True)
            continue
        cmd, name = parts
        try:
            if cmd == "open":
                if name in conns:
                    conns.pop(name).close()
                c = http.client.HTTPConnection(a.dst, a.port, timeout=a.timeout, source_address=(a.src, 0))
                c.connect()
                c.auto_open = 0
                conns[name] = c
                be, _ = http_get(c, a.dst)
                print("%s %s %d" % (name, be, c.sock.getsockname()[1]), flush=True)
            elif cmd == "get":
                c = conns[name]
                if c.sock is None:
                    raise OSError("connection is closed")
                lport = c.sock.getsockname()[1]
                be, _ = http_get(c, a.dst)
                print("%s %s %d" % (name, be, lport), flush=True)
            elif cmd == "close":
                conns.pop(name).close()
                print("%s closed" % name, flush=True)
            else:
                print("%s error unknown command %s" % (name, cmd), flush=True)
        except KeyError:
            print("%s error no such connection" % name, flush=True)
        except (OSError, http.client.HTTPException) as e:
            print("%s error %s" % (name, (str(e) or type(e).__name__).replace("\n", " ")), flush=True)
    return 0


def cmd_udp_ask(a):
    """One datagram from an unconnected socket (so a reply from any address
    is seen, and recvfrom says which); prints "REPLY FROM_ADDR FROM_PORT"."""
    s = socket.socket(family(a.dst), socket.SOCK_DGRAM)
    s.bind((a.src, a.sport))
    s.settimeout(a.timeout)
    s.sendto(b"sluice-lab?", (a.dst, a.port))
    try:
        data, peer = s.recvfrom(2048)
    except OSError as e:
        print("no reply from %s:%d: %s" % (a.dst, a.port, e or "timeout"))
        return 1
    print("%s %s %d" % (data.decode(errors="replace"), canon(peer[0]), peer[1]))
    return 0


# ---- pods lab (lab_pods_up): pod counters, marks, echoes ----------------------
#
#   pod-snapshot  the data path's pod and TC state from the pinned maps (via
#                 bpftool): per-pod counters summed over CPUs and keyed by pod
#                 name, the TC reason counters by name, and pod_ifindex
#                 (ifindex -> pod name); one JSON document.
#   pod-delta     difference of two pod-snapshots: one sorted line per value
#                 that moved, "pod/NAME/FIELD N" and "tc/REASON PACKETS BYTES".
#   mark-sink     UDP sink that reads each datagram's skb->mark (SO_RCVMARK)
#                 and logs "mark SRC 0xMARK LEN".
#   udp-echo-ask  N datagrams to an echo server, one at a time, each waiting
#                 for its reply; prints "sent N replies M".

POD_STATS_FIELDS = ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
                    "ingress_denied", "egress_denied")  # struct sluice_pod_stats
SO_RCVMARK = getattr(socket, "SO_RCVMARK", 75)  # Linux 5.19+, asm-generic value
SO_MARK = getattr(socket, "SO_MARK", 36)


def tc_reason_names():
    """STR_* names in enum order, from the header the programs are built
    from (so a reason added there shows up here without an edit)."""
    import re
    hdr = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "xdp", "sluice_maps.h")
    text = open(hdr).read()
    enum = re.search(r"enum sluice_tc_reason \{(.*?)\};", text, re.S).group(1)
    order = [m.group(1) for m in re.finditer(r"^\s*(STR_\w+)", enum, re.M) if m.group(1) != "STR_REASON_MAX"]
    names = dict(re.findall(r'\[(STR_\w+)\] = "(\w+)"', text))
    return [names.get(s, s.lower()) for s in order]


def bpftool_dump(path):
    import subprocess
    out = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", path],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def raw_bytes(v):
    return bytes(int(x, 16) for x in v)


def u64s(b):
    return [int.from_bytes(b[i:i + 8], "little") for i in range(0, len(b) - 7, 8)]


def pod_snapshot(pin_dir):
    names = {}
    for e in bpftool_dump(os.path.join(pin_dir, "pod_names")):
        n = raw_bytes(e["key"]), raw_bytes(e["value"]).split(b"\0")[0].decode()
        if n[1]:
            names[int.from_bytes(n[0], "little")] = n[1]
    pods = {}
    for e in bpftool_dump(os.path.join(pin_dir, "pod_stats")):
        pid = int.from_bytes(raw_bytes(e["key"]), "little")
        tot = [0] * len(POD_STATS_FIELDS)
        for c in e["values"]:
            for i, v in enumerate(u64s(raw_bytes(c["value"]))[:len(POD_STATS_FIELDS)]):
                tot[i] += v
        pods[names.get(pid, "id%d" % pid)] = dict(zip(POD_STATS_FIELDS, tot))
    tc = {}
    reasons = tc_reason_names()
    for e in bpftool_dump(os.path.join(pin_dir, "tc_counters")):
        k = int.from_bytes(raw_bytes(e["key"]), "little")
        p = b = 0
        for c in e["values"]:
            v = u64s(raw_bytes(c["value"]))
            p, b = p + v[0], b + v[1]
        tc[reasons[k] if k < len(reasons) else "reason%d" % k] = [p, b]
    ifx = {}
    for e in bpftool_dump(os.path.join(pin_dir, "pod_ifindex")):
        k = int.from_bytes(raw_bytes(e["key"]), "little")
        v = int.from_bytes(raw_bytes(e["value"]), "little")
        ifx[str(k)] = names.get(v, "id%d" % v)
    return {"pods": pods, "tc": tc, "ifindex": ifx, "names": {str(k): v for k, v in names.items()}}


def cmd_pod_snapshot(a):
    doc = pod_snapshot(a.pin_dir)
    if a.out:
        with open(a.out + ".tmp", "w") as f:
            json.dump(doc, f)
        os.rename(a.out + ".tmp", a.out)
    else:
        print(json.dumps(doc))


def cmd_pod_delta(a):
    with open(a.before) as f:
        d0 = json.load(f)
    with open(a.after) as f:
        d1 = json.load(f)
    lines = []
    for pod in sorted(set(d0["pods"]) | set(d1["pods"])):
        p0, p1 = d0["pods"].get(pod, {}), d1["pods"].get(pod, {})
        for fld in POD_STATS_FIELDS:
            d = p1.get(fld, 0) - p0.get(fld, 0)
            if d:
                lines.append("pod/%s/%s %d" % (pod, fld, d))
    for r in sorted(set(d0["tc"]) | set(d1["tc"])):
        (pa, ba), (pb, bb) = d0["tc"].get(r, [0, 0]), d1["tc"].get(r, [0, 0])
        if pa != pb or ba != bb:
            lines.append("tc/%s %d %d" % (r, pb - pa, bb - ba))
    for line in sorted(lines):
        print(line)


def cmd_mark_sink(a):
    sel = selectors.DefaultSelector()
    log = open(a.log, "a", buffering=1)
    for addr in a.addr:
        u = socket.socket(family(addr), socket.SOCK_DGRAM)
        u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        u.setsockopt(socket.SOL_SOCKET, SO_RCVMARK, 1)
        u.bind((addr, a.port))
        sel.register(u, selectors.EVENT_READ)
    stop_on_term()
    write_ready(a.ready)
    while True:
        for key, _ in sel.select():
            data, anc, _flags, peer = key.fileobj.recvmsg(65535, socket.CMSG_SPACE(4))
            mark = None
            for lvl, typ, val in anc:
                if lvl == socket.SOL_SOCKET and typ == SO_MARK and len(val) >= 4:
                    mark = int.from_bytes(val[:4], sys.byteorder)
            log.write("mark %s %s %d\n" % (canon(peer[0]), "none" if mark is None else "0x%08x" % mark, len(data)))


def cmd_udp_echo_ask(a):
    s = socket.socket(family(a.dst), socket.SOCK_DGRAM)
    s.bind((a.src, 0))
    s.connect((a.dst, a.port))
    s.settimeout(a.timeout)
    payload = b"q" * a.size
    replies = 0
    for _ in range(a.count):
        s.send(payload)
        try:
            s.recv(65535)
            replies += 1
        except OSError:
            pass
    print("sent %d replies %d" % (a.count, replies))


def add_flow_args(s, port=None, timeout=None):
    """--src, --dst and --port (required unless PORT is its default), and
    --timeout in seconds when TIMEOUT is given: what every command that talks
    from one address to another takes."""
    s.add_argument("--src", required=True)
    s.add_argument("--dst", required=True)
    if port is None:
        s.add_argument("--port", type=int, required=True)
    else:
        s.add_argument("--port", type=int, default=port)
    if timeout is not None:
        s.add_argument("--timeout", type=float, default=timeout)


def add_datagram_args(s):
    """--count and --size: how many datagrams, how big."""
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--size", type=int, default=32, help="payload bytes")


def add_before_after(sub, name, fn):
    """A command that compares two snapshot files."""
    s = sub.add_parser(name)
    s.add_argument("before")
    s.add_argument("after")
    s.set_defaults(fn=fn)


def add_pod_commands(sub):
    s = sub.add_parser("pod-snapshot")
    s.add_argument("pin_dir")
    s.add_argument("--out", help="write here (atomically) instead of stdout")
    s.set_defaults(fn=cmd_pod_snapshot)

    add_before_after(sub, "pod-delta", cmd_pod_delta)

    s = sub.add_parser("mark-sink")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--ready", required=True)
    s.add_argument("addr", nargs="+")
    s.set_defaults(fn=cmd_mark_sink)

    s = sub.add_parser("udp-echo-ask")
    add_flow_args(s)
    add_datagram_args(s)
    s.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for each reply")
    s.set_defaults(fn=cmd_udp_echo_ask)


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
    add_flow_args(s)
    add_datagram_args(s)
    s.add_argument("--interval", type=float, default=0.0, help="seconds between datagrams")
    s.add_argument("--duration", type=float, default=0.0, help="send for this long instead of --count")
    s.set_defaults(fn=cmd_udp_send)

    s = sub.add_parser("tcp-connect")
    add_flow_args(s, timeout=2.0)
    s.set_defaults(fn=cmd_tcp_connect)

    s = sub.add_parser("count")
    s.add_argument("log")
    s.add_argument("kind", choices=["udp", "tcp"])
    s.add_argument("src")
    s.set_defaults(fn=cmd_count)

    add_before_after(sub, "stats-delta", cmd_stats_delta)

    s = sub.add_parser("http-server")
    s.add_argument("--name", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--ready", required=True)
    s.add_argument("--log", help="one line per accepted connection")
    s.set_defaults(fn=cmd_http_server)

    s = sub.add_parser("udp-echo")
    s.add_argument("--name", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--ready", required=True)
    s.set_defaults(fn=cmd_udp_echo)

    s = sub.add_parser("http-spread")
    add_flow_args(s, port=80, timeout=2.0)
    s.add_argument("--sport", type=int, required=True, help="first source port")
    s.add_argument("--count", type=int, required=True)
    s.set_defaults(fn=cmd_http_spread)

    s = sub.add_parser("http-session")
    add_flow_args(s, port=80, timeout=3.0)
    s.set_defaults(fn=cmd_http_session)

    s = sub.add_parser("udp-ask")
    add_flow_args(s, timeout=2.0)
    s.add_argument("--sport", type=int, default=0)
    s.set_defaults(fn=cmd_udp_ask)

    add_pod_commands(sub)

    a = p.parse_args()
    sys.exit(a.fn(a) or 0)


if __name__ == "__main__":
    main()
