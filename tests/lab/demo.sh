#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh - `make demo`: the whole appliance, under a SYN flood, for a person
# to watch.
#
# In the namespace lab's load-balancer plan (tests/lab/lab.sh: lab_up_lb,
# plus two pods behind the node):
#
#   client 1  198.51.100.2   legit: curl loops to the web VIPs (IPv4, IPv6)
#                            and to pod web-1, UDP questions to the dns VIP
#                            and to pod cache-1
#   client 2  198.51.100.3   the attacker: sluice-gen, a spoofed SYN flood
#                            at DEMO_FLOOD_PPS to both web VIPs, sources
#                            random in 198.51.100.64/27 (in the blocklist
#                            file) and 2001:db8:f10d::/48 (listed nowhere);
#                            and a probe to pod web-1 that its policy denies
#   node      up0            `sluice run -c` a copy of conf/demo.conf (own
#                            control socket and pin dir): XDP, load balancer,
#                            uplink TC, pod veths
#   be1..be3  203.0.113.11-13  HTTP :8080 and UDP echo :5353
#   web-1, cache-1           pods (198.51.100.150, .151) on veths vpa0, vpb0
#
# For DEMO_SECONDS (default 30) a live view redraws every second: packets
# per second by XDP reason and action, per service and backend, per pod,
# the legit clients' successes and failures, and the flood's rate.  Half-way
# the flood's unlisted prefix is appended to the blocklist file and the
# daemon reloaded: its half of the flood moves from lb_forward (reaching the
# backends) to blocklist drops.  Then a summary, and everything is removed,
# also on Ctrl-C.  When stdout is not a terminal the view is one line per
# second instead of a redrawn screen.
#
# Environment: DEMO_SECONDS (>= 4, default 30), DEMO_FLOOD_PPS (offered SYN
# rate, default 100000; the machine this was written on has 2 vCPUs).
set -euo pipefail

# shellcheck source=tests/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

DEMO_SECONDS=${DEMO_SECONDS:-30}
DEMO_FLOOD_PPS=${DEMO_FLOOD_PPS:-100000}
if [[ ! $DEMO_SECONDS =~ ^[0-9]+$ ]] || ((DEMO_SECONDS < 4)); then
	echo "demo: DEMO_SECONDS must be a whole number of seconds, at least 4" >&2
	exit 2
fi
if [[ ! $DEMO_FLOOD_PPS =~ ^[0-9]+$ ]] || ((DEMO_FLOOD_PPS < 1)); then
	echo "demo: DEMO_FLOOD_PPS must be a positive number of packets per second" >&2
	exit 2
fi
RELOAD_AT=$((DEMO_SECONDS / 2))

CONF="$LAB_TMP/demo.conf"          # the lab copy of conf/demo.conf
LIST="$LAB_TMP/demo-blocklist.txt" # ... and of its list file
TOOL="$LAB_TMP/demo_tool.py"       # the view, the summary, the UDP askers
STATE="$LAB_TMP/view.json"
EVENTS="$LAB_TMP/events.txt"
DAEMON_LOG="$LAB_TMP/daemon.log"
SERIES="$LAB_TMP/flood.series"
METRICS=127.0.0.1:9541             # stats.listen in conf/demo.conf (node namespace)
export SLUICE_SOCKET="$LAB_TMP/sluice.sock"

# The flood: two prefixes, one in conf/demo-blocklist.txt, one listed nowhere
# until the reload half-way.
FLOOD_BLOCKED=198.51.100.64/27
FLOOD_OPEN=2001:db8:f10d::/48
WEB_V4=$LAB_LB_VIP_WEB_V4
WEB_V6=$LAB_LB_VIP_WEB_V6
DNS_V4=$LAB_LB_VIP_DNS_V4
POD_WEB=0   # lab pod index: pod-a, "web-1" in demo.conf (HTTP :8080)
POD_CACHE=1 # lab pod index: pod-b, "cache-1" in demo.conf (UDP echo :9000)

GEN_PID=
TRAFFIC_PIDS=()
TTY=0
[[ -t 1 ]] && TTY=1

# ---- output -------------------------------------------------------------------

say() {
	if ((TTY)); then
		printf '\n\033[1m==> %s\033[0m\n' "$*"
	else
		printf '\n==> %s\n' "$*"
	fi
}
indent() { sed 's/^/    /'; }

# ---- clean-up: on every exit, Ctrl-C included ------------------------------

stop_traffic() {
	local pid
	# the generator first, politely: it prints what it sent on SIGTERM
	if [[ -n $GEN_PID ]]; then
		kill -TERM "$GEN_PID" 2>/dev/null || true
		wait "$GEN_PID" 2>/dev/null || true
		GEN_PID=
	fi
	for pid in "${TRAFFIC_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${TRAFFIC_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	TRAFFIC_PIDS=()
	# a curl the loops had running when they were stopped
	for pid in $(ip netns pids "$LAB_NS_CLIENT" 2>/dev/null) $(ip netns pids "$LAB_NS_CLIENT2" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null || true
	done
}

on_exit() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM # a second Ctrl-C must not cut the clean-up short
	if ((TTY)); then
		printf '\033[0m' # interrupted in the middle of a bold heading
	fi
	if [[ ${LAB_IS_UP:-0} == 1 ]]; then
		say "Cleaning up: traffic, daemon, pods, lab $LAB_ID"
		stop_traffic
		# The daemon, and sluice off up0.  A Ctrl-C reaches the daemon too
		# (it stops on SIGINT, leaving XDP attached); -c FILE then lets
		# `stop --detach` detach and unpin without it.
		if [[ -n $LAB_DAEMON_PID && -e $CONF ]]; then
			timeout 10 nsenter --net="/run/netns/$LAB_NS_NODE" -- env LIBXDP_BPFFS="$LAB_XDP_BPFFS" \
				"$LAB_SLUICE" --pin-dir "$LAB_PIN_DIR" stop --detach -c "$CONF" 2>&1 | indent || true
			wait "$LAB_DAEMON_PID" 2>/dev/null || true
		fi
		lab_down
		echo "    removed: namespaces $LAB_PREFIX-*, $LAB_PIN_DIR, $LAB_TMP"
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT
trap 'exit 143' TERM

# ---- the helper tool (written into the lab's temp dir) ---------------------

write_tool() {
	cat >"$TOOL" <<'PY'
#!/usr/bin/env python3
"""demo_tool.py - the live view and the summary of tests/lab/demo.sh, and a
paced UDP asker for its legit clients.

  udp      ask DST:PORT one datagram at a time (wait for the answer), RATE a
           second; keep "OK FAILED" in OUT
  view     frames FROM..TO, frame k drawn at T0 + k seconds: metrics (the
           daemon's Prometheus endpoint), pod counters (pinned maps), the
           clients' counter files, the flood's series; deltas per second
  summary  what happened since the first frame
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import sys
import time
import urllib.request

LAB_DIR = os.environ.get("DEMO_LAB_DIR", "")
if LAB_DIR:
    sys.path.insert(0, LAB_DIR)

# legit counter files: (file, what, expectation)
LEGIT = [
    ("web4", "web     curl http://192.0.2.10/", "ok"),
    ("web6", "web6    curl http://[2001:db8:10::10]/", "ok"),
    ("dns", "dns     UDP 192.0.2.53:53", "ok"),
    ("podweb", "web-1   curl http://198.51.100.150:8080/", "ok"),
    ("podcache", "cache-1 UDP 198.51.100.151:9000", "ok"),
    ("probe", "client 2 -> web-1:8080 (not a partner)", "denied"),
]

WHY = {
    ("blocklist", "drop"): "source in a blocklist",
    ("lb_forward", "tx"): "to a VIP: DNAT to a backend, XDP_TX",
    ("lb_forward", "pass"): "to a VIP, next hop not resolved yet",
    ("lb_reply", "tx"): "backend reply: back to the VIP, XDP_TX",
    ("lb_fib_fail", "drop"): "reply without a route (SYN-ACKs to spoofed sources)",
    ("passed", "pass"): "to the node's stack (pods, the node)",
    ("allowlisted", "pass"): "source in the allowlist",
    ("non_ip", "pass"): "ARP and friends",
}


# ---- udp ----------------------------------------------------------------------

def cmd_udp(a):
    fam = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    ok = failed = 0

    def save():
        with open(a.out + ".tmp", "w") as f:
            f.write("%d %d\n" % (ok, failed))
        os.replace(a.out + ".tmp", a.out)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    t0 = time.monotonic()
    i = 0
    while True:
        i += 1
        s.setblocking(False)
        try:
            while True:  # a late answer to an earlier question is not this one's
                s.recv(2048)
        except OSError:
            pass
        s.settimeout(a.timeout)
        try:
            s.sendto(b"question %d" % i, (a.dst, a.port))
            s.recv(2048)
            ok += 1
        except OSError:
            failed += 1
        save()
        wait = t0 + i / a.rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)


# ---- collecting -----------------------------------------------------------------

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metrics(url):
    out = {}
    try:
        text = urllib.request.urlopen(url, timeout=2).read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        labels = tuple(LABEL.findall(m.group(2) or ""))
        out["%s|%s" % (m.group(1), json.dumps(labels))] = float(m.group(3))
    return out


def series(m, name):
    """{labels-dict-as-tuple: value} of one metric."""
    r = {}
    pre = name + "|"
    for k, v in m.items():
        if k.startswith(pre):
            r[tuple(tuple(x) for x in json.loads(k[len(pre):]))] = v
    return r


def lab(labels, key):
    return dict(labels).get(key, "")


def pods(pin_dir):
    try:
        import labnet
        snap = labnet.pod_snapshot(pin_dir)
        return {n: dict(v) for n, v in snap["pods"].items()}
    except Exception:  # pylint: disable=broad-except
        return {}


def counters(tmp):
    r = {}
    for name, _, _ in LEGIT:
        try:
            ok, failed = open(os.path.join(tmp, "legit-%s.cnt" % name)).read().split()
            r[name] = [int(ok), int(failed)]
        except (OSError, ValueError):
            r[name] = [0, 0]
    return r


def flood(tmp):
    """Packets per second the flood sent over its last second or so, from
    the series sluice-gen writes ("UNIX_SECONDS FLOOD LEGIT" lines), and
    how many in all."""
    try:
        with open(os.path.join(tmp, "flood.series"), "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 4096))
            pts = [(float(p[0]), int(p[1])) for p in
                   (l.split() for l in f.read().decode(errors="replace").splitlines()[1:])
                   if len(p) == 3]
    except (OSError, ValueError):
        return [0.0, 0]
    if not pts:
        return [0.0, 0]
    t, n = pts[-1]
    old = [p for p in pts if p[0] <= t - 1.0] or pts[:1]
    dt = t - old[-1][0]
    return [(n - old[-1][1]) / dt if dt > 0 else 0.0, n]


def sample(a):
    return {"t": time.time(), "m": metrics(a.metrics) or {}, "pods": pods(a.pin_dir),
            "legit": counters(a.tmp), "flood": flood(a.tmp)}


# ---- formatting -----------------------------------------------------------------

def si(x):
    x = float(x)
    if abs(x) >= 1e6:
        return "%.2fM" % (x / 1e6)
    if abs(x) >= 1e4:
        return "%.1fk" % (x / 1e3)
    return "%d" % round(x)


def rates(cur, prev, dt, name):
    c, p = series(cur["m"], name), series(prev["m"], name)
    return {k: (v - p.get(k, 0)) / dt for k, v in c.items()}


def reason_rows(cur, prev, base, dt):
    pk = rates(cur, prev, dt, "sluice_packets_total")
    tot = series(cur["m"], "sluice_packets_total")
    b = series(base["m"], "sluice_packets_total")
    rows = []
    for k, v in tot.items():
        since = v - b.get(k, 0)
        if since <= 0 and pk.get(k, 0) <= 0:
            continue
        rows.append((lab(k, "reason"), lab(k, "action"), pk.get(k, 0), since))
    rows.sort(key=lambda r: (-r[2], -r[3]))
    return rows


def flood_rate(cur, prev):
    return cur["flood"][0] if cur["flood"] else 0.0


def events(tmp, n):
    try:
        return open(os.path.join(tmp, "events.txt")).read().splitlines()[-n:]
    except OSError:
        return []


def backend_name(a, label):
    """be1.. for a backend label (203.0.113.11:8080, [2001:db8:20::11]:8080)."""
    addr = label.rsplit(":", 1)[0].strip("[]")
    return a.names.get(addr, label)


def list_label(source):
    """'block /tmp/x/demo-blocklist.txt' -> 'demo-blocklist.txt (block)'."""
    kind, _, what = source.partition(" ")
    return "%s (%s)" % (os.path.basename(what) or what, kind) if "/" in what else source


def frame(a, k, cur, prev, base):
    dt = max(cur["t"] - prev["t"], 1e-3)
    out = []
    w = out.append
    after = k > a.reload_at
    w("sluice demo %d/%d s   lab %s   %s   Ctrl-C stops and cleans up"
      % (k, a.total, a.lab_id, "reloaded at %d s" % a.reload_at if after else "reload at %d s" % a.reload_at))
    w("flood: client 2 -> web and web6 VIPs, spoofed SYNs: %s pps asked, %s pps sent"
      % (si(a.flood_pps), si(flood_rate(cur, prev))))
    w("       from %s (in demo-blocklist.txt) + %s (%s)"
      % (a.flood_blocked, a.flood_open, "added by the reload" if after else "listed nowhere"))
    w("")
    w("%-19s %9s %12s   %s" % ("XDP reason/action", "pps", "since start", ""))
    lists = rates(cur, prev, dt, "sluice_list_packets_total")
    lt = series(cur["m"], "sluice_list_packets_total")
    lb = series(base["m"], "sluice_list_packets_total")
    for reason, action, r, since in reason_rows(cur, prev, base, dt)[:7]:
        w("%-19s %9s %12s   %s" % (reason + "/" + action, si(r), si(since), WHY.get((reason, action), "")))
        if reason == "blocklist":
            for key in sorted(lt, key=lambda x: int(lab(x, "list_id") or 0)):
                if lt[key] - lb.get(key, 0) > 0:
                    w("  %-17s %9s %12s   %s" % ("list %s" % lab(key, "list_id"), si(lists.get(key, 0)),
                                                 si(lt[key] - lb.get(key, 0)),
                                                 list_label(lab(key, "source"))))
    w("")
    svc = rates(cur, prev, dt, "sluice_service_packets_total")
    svcn = rates(cur, prev, dt, "sluice_service_new_flows_total")
    be = rates(cur, prev, dt, "sluice_backend_packets_total")
    state, members = {}, {}
    for key, v in series(cur["m"], "sluice_backend_state").items():
        members.setdefault(lab(key, "service"), [])
        if lab(key, "backend") not in members[lab(key, "service")]:
            members[lab(key, "service")].append(lab(key, "backend"))
        if v == 1:
            state[lab(key, "backend")] = lab(key, "state")
    w("%-7s %-25s %7s %6s   %s" % ("service", "", "pps", "new/s", "forwarded to backends, pps"))
    for key in sorted(svc, key=lambda x: list(members).index(lab(x, "service")) if lab(x, "service") in members else 99):
        name = lab(key, "service")
        vip = lab(key, "vip")
        vip = "[%s]" % vip if ":" in vip else vip
        cells = []
        for b in members.get(name, []):
            r = sum(v for kk, v in be.items() if lab(kk, "backend") == b)
            st = state.get(b, "active")
            cells.append("%s %s%s" % (backend_name(a, b), si(r), "" if st == "active" else " (" + st + ")"))
        w("%-7s %-25s %7s %6s   %s" % (name, "%s:%s/%s" % (vip, lab(key, "port"), lab(key, "protocol")),
                                      si(svc[key]), si(svcn.get(key, 0)), "  ".join(cells)))
    w("")
    if cur["pods"]:
        w("%-8s %7s %7s %12s %12s" % ("pod", "rx pps", "tx pps", "denied in/s", "denied out/s"))
        for name in sorted(cur["pods"]):
            c, p = cur["pods"][name], prev["pods"].get(name, {})
            d = {f: (c.get(f, 0) - p.get(f, 0)) / dt for f in c}
            w("%-8s %7s %7s %12s %12s" % (name, si(d["rx_packets"]), si(d["tx_packets"]),
                                         si(d["ingress_denied"]), si(d["egress_denied"])))
        w("")
    w("%-42s %7s %7s %6s" % ("legit clients", "ok", "failed", "ok/s"))
    for name, what, expect in LEGIT:
        c, p = cur["legit"][name], prev["legit"][name]
        w("%-42s %7d %7d %6s%s" % (what, c[0], c[1], si((c[0] - p[0]) / dt),
                                   "  (denied: expected)" if expect == "denied" else ""))
    m = cur["m"]
    rl = series(m, "sluice_reloads_total")
    w("")
    w("daemon: reloads %d ok, %d failed; config serial %d, generation %d"
      % (sum(v for kk, v in rl.items() if lab(kk, "result") == "ok"),
         sum(v for kk, v in rl.items() if lab(kk, "result") == "failed"),
         m.get("sluice_config_serial|[]", 0), m.get("sluice_generation|[]", 0)))
    for ev in events(a.tmp, 5):
        w("  " + ev.replace(a.tmp + "/", ""))
    return out


def line(a, k, cur, prev, base):
    dt = max(cur["t"] - prev["t"], 1e-3)
    rows = reason_rows(cur, prev, base, dt)
    verdicts = "  ".join("%s/%s %s" % (r[0], r[1], si(r[2])) for r in rows[:4] if r[2] >= 1)
    ok = sum((cur["legit"][n][0] - prev["legit"][n][0]) for n, _, e in LEGIT if e == "ok")
    failed = sum(cur["legit"][n][1] for n, _, e in LEGIT if e == "ok")
    return ("[%2d/%ds] flood %6s pps | %s | legit %d ok/s, %d failed so far"
            % (k, a.total, si(flood_rate(cur, prev)), verdicts or "-", round(ok / dt), failed))


def cmd_view(a):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    st = {}
    if os.path.exists(a.state):
        st = json.load(open(a.state))
    if "base" not in st:
        st["base"] = st["prev"] = sample(a)
    try:
        for k in range(a.first, a.last + 1):
            wait = a.t0 + k - time.time()
            if wait > 0:
                time.sleep(wait)
            cur = sample(a)
            if a.tty:
                cols = shutil.get_terminal_size((100, 40)).columns
                text = [l[:cols] for l in frame(a, k, cur, st["prev"], st["base"])]
                sys.stdout.write("\033[H\033[J" + "\n".join(text) + "\n")
            else:
                sys.stdout.write(line(a, k, cur, st["prev"], st["base"]) + "\n")
            sys.stdout.flush()
            st["prev"] = cur
    except KeyboardInterrupt:
        # die of the signal, so that the shell runs its INT trap
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    finally:
        if a.mid:
            st["mid"] = st["prev"]  # the last sample before the reload
        with open(a.state + ".tmp", "w") as f:
            json.dump(st, f)
        os.replace(a.state + ".tmp", a.state)


def cmd_summary(a):
    st = json.load(open(a.state))
    base, cur = st["base"], sample(a)
    mid = st.get("mid", cur)
    w = print
    w("%d s of legit traffic and SYN flood; the reload came after %d s." % (a.total, a.reload_at))
    try:
        g = json.loads([l for l in open(os.path.join(a.tmp, "flood.log")) if l.startswith("{")][-1])
        w("flood: %s SYNs in %.1f s = %s pps (%s pps asked): %s from %s, %s from %s"
          % (si(g["flood"]), g["seconds"], si(g["pps"]), si(a.flood_pps), si(g["flood_v4"]),
             a.flood_blocked, si(g["flood_v6"]), a.flood_open))
        if g["pps"] < 0.8 * a.flood_pps:
            w("       (sluice-gen sends what the CPU left over lets it: every packet crosses veths,")
            w("       a bridge and sluice's XDP on the same 2 vCPUs as everything else)")
    except (OSError, IndexError, ValueError, KeyError):
        w("flood: (sluice-gen left no report: see %s)" % os.path.join(a.tmp, "flood.log"))
    w("")
    w("legit clients during the flood:")
    tot_ok = tot_failed = 0
    for name, what, expect in LEGIT:
        ok, failed = cur["legit"][name]
        b = base["legit"][name]
        ok, failed = ok - b[0], failed - b[1]
        if expect == "denied":
            w("  %-42s %6d answered %6d denied (expected: web-1 admits partners only)"
              % (what, ok, failed))
        else:
            tot_ok, tot_failed = tot_ok + ok, tot_failed + failed
            w("  %-42s %6d ok %6d failed" % (what, ok, failed))
    w("  %-42s %6d ok %6d failed" % ("all legit requests and questions", tot_ok, tot_failed))
    w("")
    t1, t2 = max(mid["t"] - base["t"], 1e-3), max(cur["t"] - mid["t"], 1e-3)
    w("XDP verdicts          avg pps before  avg pps after      packets   ")
    w("                          the reload     the reload     in all")
    pb, pm = series(base["m"], "sluice_packets_total"), series(mid["m"], "sluice_packets_total")
    rows = []
    for k, v in series(cur["m"], "sluice_packets_total").items():
        if v - pb.get(k, 0) > 0:
            rows.append((lab(k, "reason") + "/" + lab(k, "action"), (pm.get(k, 0) - pb.get(k, 0)) / t1,
                         (v - pm.get(k, 0)) / t2, v - pb.get(k, 0), WHY.get((lab(k, "reason"), lab(k, "action")), "")))
    for r in sorted(rows, key=lambda r: -r[3]):
        w("  %-19s %14s %14s %12d   %s" % (r[0], si(r[1]), si(r[2]), r[3], r[4]))
    lb, lm = series(base["m"], "sluice_list_packets_total"), series(mid["m"], "sluice_list_packets_total")
    for k, v in sorted(series(cur["m"], "sluice_list_packets_total").items(),
                       key=lambda x: int(lab(x[0], "list_id") or 0)):
        if v - lb.get(k, 0) > 0:
            w("    %-17s %14s %14s %12d   %s" % ("list " + lab(k, "list_id"), si((lm.get(k, 0) - lb.get(k, 0)) / t1),
                                                  si((v - lm.get(k, 0)) / t2), v - lb.get(k, 0),
                                                  list_label(lab(k, "source"))))
    w("")
    w("forwarded to backends (packets/new flows):")
    be, bb = series(cur["m"], "sluice_backend_packets_total"), series(base["m"], "sluice_backend_packets_total")
    bn, bnb = (series(cur["m"], "sluice_backend_new_flows_total"),
               series(base["m"], "sluice_backend_new_flows_total"))
    by_svc = {}
    for k in series(cur["m"], "sluice_backend_state"):
        b = lab(k, "backend")
        if b not in by_svc.setdefault(lab(k, "service"), []):
            by_svc[lab(k, "service")].append(b)
    for svc, backends in by_svc.items():
        cells = []
        for b in backends:
            p = sum(v - bb.get(k, 0) for k, v in be.items() if lab(k, "backend") == b)
            n = sum(v - bnb.get(k, 0) for k, v in bn.items() if lab(k, "backend") == b)
            cells.append("%s %s/%s" % (backend_name(a, b), si(p), si(n)))
        w("  %-5s %s" % (svc, "   ".join(cells)))
    if cur["pods"]:
        w("")
        w("pods (packets):")
        for name in sorted(cur["pods"]):
            c, b = cur["pods"][name], base["pods"].get(name, {})
            d = {f: c[f] - b.get(f, 0) for f in c}
            w("  %-8s rx %d, tx %d, ingress denied %d, egress denied %d"
              % (name, d["rx_packets"], d["tx_packets"], d["ingress_denied"], d["egress_denied"]))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("udp")
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--rate", type=float, default=20)
    s.add_argument("--timeout", type=float, default=1)
    s.add_argument("--out", required=True)
    for n in ("view", "summary"):
        s = sub.add_parser(n)
        s.add_argument("--metrics", required=True)
        s.add_argument("--pin-dir", required=True)
        s.add_argument("--tmp", required=True)
        s.add_argument("--state", required=True)
        s.add_argument("--lab-id", default="")
        s.add_argument("--total", type=int, default=0)
        s.add_argument("--reload-at", type=int, default=0)
        s.add_argument("--flood-pps", type=float, default=0)
        s.add_argument("--flood-blocked", default="")
        s.add_argument("--flood-open", default="")
        s.add_argument("--t0", type=float, default=0)
        s.add_argument("--first", type=int, default=1)
        s.add_argument("--last", type=int, default=0)
        s.add_argument("--tty", type=int, default=0)
        s.add_argument("--mid", type=int, default=0, help="remember the last sample as the reload's")
        s.add_argument("--names", type=lambda v: dict(x.split("=", 1) for x in v.split(",") if x),
                       default={}, help="ADDR=NAME,... for the backends")
    a = ap.parse_args()
    {"udp": cmd_udp, "view": cmd_view, "summary": cmd_summary}[a.cmd](a)


if __name__ == "__main__":
    main()
PY
}

# "ADDRESS=NAME,..." of the backends (be1..), for the view.
backend_names() {
	local i
	for i in "${!LAB_LB_BACKEND_NAME[@]}"; do
		printf '%s=%s,%s=%s,' "${LAB_LB_BACKEND_V4[$i]}" "${LAB_LB_BACKEND_NAME[$i]}" \
			"${LAB_LB_BACKEND_V6[$i]}" "${LAB_LB_BACKEND_NAME[$i]}"
	done
}

# demo_tool view|summary ARGS...: in the node namespace (the metrics endpoint
# listens on its loopback).
demo_tool() {
	local cmd=$1
	shift
	lab_exec_node env DEMO_LAB_DIR="$LAB_DIR" python3 "$TOOL" "$cmd" \
		--metrics "http://$METRICS/metrics" --pin-dir "$LAB_PIN_DIR" --tmp "$LAB_TMP" \
		--state "$STATE" --lab-id "$LAB_ID" --total "$DEMO_SECONDS" --reload-at "$RELOAD_AT" \
		--flood-pps "$DEMO_FLOOD_PPS" --flood-blocked "$FLOOD_BLOCKED" --flood-open "$FLOOD_OPEN" \
		--names "$(backend_names)" "$@"
}

# ---- traffic ------------------------------------------------------------------

# curl_loop NS NAME URL INTERVAL TIMEOUT: fresh connections, one GET each,
# until stopped; "OK FAILED" in $LAB_TMP/legit-NAME.cnt after every one.
curl_loop() {
	local ns=$1 name=$2 url=$3 interval=$4 timeout=$5
	echo "0 0" >"$LAB_TMP/legit-$name.cnt"
	# shellcheck disable=SC2016 # expanded by the inner bash
	lab_bg "$ns" "$LAB_TMP/legit-$name.err" bash -c '
		ok=0 failed=0
		while :; do
			if curl -s -o /dev/null --fail -m "$3" "$1"; then
				ok=$((ok + 1))
			else
				failed=$((failed + 1))
			fi
			echo "$ok $failed" >"$2.tmp" && mv -f "$2.tmp" "$2"
			sleep "$4"
		done' curl-loop "$url" "$LAB_TMP/legit-$name.cnt" "$timeout" "$interval"
	TRAFFIC_PIDS+=("${LAB_PIDS[-1]}")
}

# udp_loop NS NAME DST PORT RATE: paced UDP questions, each waiting for its
# answer (1 s at most).
udp_loop() {
	local ns=$1 name=$2 dst=$3 port=$4 rate=$5
	echo "0 0" >"$LAB_TMP/legit-$name.cnt"
	lab_bg "$ns" "$LAB_TMP/legit-$name.err" python3 "$TOOL" udp --dst "$dst" --port "$port" \
		--rate "$rate" --out "$LAB_TMP/legit-$name.cnt"
	TRAFFIC_PIDS+=("${LAB_PIDS[-1]}")
}

# wait_ready FILE WHAT: up to 5 s for a server's ready file.
wait_ready() {
	local k
	for ((k = 0; k < 50; k++)); do
		[[ -s $1 ]] && return 0
		sleep 0.1
	done
	echo "demo: $2 did not come up" >&2
	return 1
}

# ---- set-up ---------------------------------------------------------------------

for f in "$LAB_SLUICE" "$LAB_REPO/build/sluice-gen" "$LAB_LB_XDP_PASS"; do
	[[ -e $f ]] || {
		echo "demo: $f not built (run make, or make demo)" >&2
		exit 1
	}
done
for c in curl bpftool; do
	command -v "$c" >/dev/null || {
		echo "demo: $c not found (make deps installs it)" >&2
		exit 1
	}
done

say "Building the lab $LAB_ID: fabric bridge, 2 clients, the sluice node, 3 backends"
lab_up_lb
lab_lb_servers_start
echo "    backends be1..be3 (${LAB_LB_BACKEND_V4[*]}): HTTP :$LAB_LB_HTTP_PORT, UDP echo :$LAB_LB_UDP_PORT"

say "Two pods behind the node: web-1 (${LAB_POD_V4[POD_WEB]}, veth ${LAB_POD_VETH[POD_WEB]}), cache-1 (${LAB_POD_V4[POD_CACHE]}, veth ${LAB_POD_VETH[POD_CACHE]})"
lab_lb_pods_up "$POD_WEB" "$POD_CACHE"
rm -f "$LAB_TMP/pod-web.ready" "$LAB_TMP/pod-cache.ready"
lab_bg "${LAB_POD_NS[POD_WEB]}" "$LAB_TMP/pod-web.err" python3 "$LAB_NET_PY" http-server \
	--name web-1 --port 8080 --ready "$LAB_TMP/pod-web.ready"
lab_bg "${LAB_POD_NS[POD_CACHE]}" "$LAB_TMP/pod-cache.err" python3 "$LAB_NET_PY" udp-echo \
	--name cache-1 --port 9000 --ready "$LAB_TMP/pod-cache.ready"
wait_ready "$LAB_TMP/pod-web.ready" "web-1's HTTP server"
wait_ready "$LAB_TMP/pod-cache.ready" "cache-1's UDP echo server"

say "sluice run -c conf/demo.conf (a lab copy: its own control socket and pin dir)"
cp "$LAB_REPO/conf/demo.conf" "$CONF"
cp "$LAB_REPO/conf/demo-blocklist.txt" "$LIST"
echo "control = { socket = \"$SLUICE_SOCKET\"; pin_dir = \"$LAB_PIN_DIR\"; };" >>"$CONF"
chmod 0644 "$CONF" "$LIST" # sluice refuses files that others can write
lab_sluice check -c "$CONF" | indent
if ! lab_daemon_start "$CONF" "$DAEMON_LOG"; then
	echo "demo: the daemon did not start:" >&2
	indent <"$DAEMON_LOG" >&2
	exit 1
fi
indent <"$DAEMON_LOG"

say "A first request through each service"
echo "    curl http://$WEB_V4/ -> $(lab_exec_client curl -s -m 3 "http://$WEB_V4/" || echo FAILED)"
echo "    curl http://[$WEB_V6]/ -> $(lab_exec_client curl -s -m 3 "http://[$WEB_V6]/" || echo FAILED)"
echo "    curl http://${LAB_POD_V4[POD_WEB]}:8080/ -> $(lab_exec_client curl -s -m 3 "http://${LAB_POD_V4[POD_WEB]}:8080/" || echo FAILED)"

say "Traffic for ${DEMO_SECONDS}s: legit clients, and a ${DEMO_FLOOD_PPS} pps SYN flood; reload at ${RELOAD_AT}s"
write_tool
: >"$EVENTS"
rm -f "$STATE" "$SERIES"
demo_tool view --t0 0 --first 1 --last 0 # baseline counters, before any traffic
curl_loop "$LAB_NS_CLIENT" web4 "http://$WEB_V4/" 0.05 2
curl_loop "$LAB_NS_CLIENT" web6 "http://[$WEB_V6]/" 0.05 2
curl_loop "$LAB_NS_CLIENT" podweb "http://${LAB_POD_V4[POD_WEB]}:8080/" 0.1 2
udp_loop "$LAB_NS_CLIENT" dns "$DNS_V4" "$LAB_LB_VIP_DNS_PORT" 20
udp_loop "$LAB_NS_CLIENT" podcache "${LAB_POD_V4[POD_CACHE]}" 9000 10
curl_loop "$LAB_NS_CLIENT2" probe "http://${LAB_POD_V4[POD_WEB]}:8080/" 0.5 0.5
# The attacker: XDP_TX frames out of client 2's c0 (its bridge port runs
# xdp_pass to take them), to the node's MAC, spoofed sources.
lab_lb_client_gen_ready 1
lab_bg "$LAB_NS_CLIENT2" "$LAB_TMP/flood.log" "$LAB_REPO/build/sluice-gen" --engine xdp \
	--dev "$LAB_IF_CLIENT" --src-mac "${LAB_LB_CLIENT_MAC[1]}" --dst-mac "$LAB_MAC_NODE" \
	--dst "$WEB_V4" --dst "$WEB_V6" --dport "$LAB_LB_VIP_WEB_PORT" --syn \
	--src "$FLOOD_BLOCKED" --src "$FLOOD_OPEN" \
	--rate "$DEMO_FLOOD_PPS" --duration $((DEMO_SECONDS + 10)) --series "$SERIES" --series-ms 100
GEN_PID=${LAB_PIDS[-1]}
T0=${EPOCHREALTIME/,/.} # the locale may write a comma
((TTY)) || echo "    (one line per second: the 4 busiest XDP verdicts in pps, the legit clients)"

demo_tool view --t0 "$T0" --first 1 --last "$RELOAD_AT" --tty "$TTY" --mid 1

# Half-way: the operator adds the flood's second range to the list file.
echo "$FLOOD_OPEN      ; added by make demo: the SYN flood's unlisted range" >>"$LIST"
t=${EPOCHREALTIME/,/.}
if out=$(lab_sluice reload 2>&1); then
	status=ok
else
	status=FAILED
fi
{
	printf 't=%.1fs: appended %s to demo-blocklist.txt; sluice reload (%s):\n' \
		"$(awk -v a="$t" -v b="$T0" 'BEGIN { print a - b }')" "$FLOOD_OPEN" "$status"
	while IFS= read -r l; do echo "  $l"; done <<<"$out"
} >>"$EVENTS"
((TTY)) || sed 's/^/    /' "$EVENTS"

demo_tool view --t0 "$T0" --first $((RELOAD_AT + 1)) --last "$DEMO_SECONDS" --tty "$TTY"

stop_traffic
say "Summary"
demo_tool summary | indent
echo
echo "    reload:"
indent <"$EVENTS"
echo
echo "    sluice stats (the CLI, over the whole life of the lab):"
lab_sluice stats | indent
