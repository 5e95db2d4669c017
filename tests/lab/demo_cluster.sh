#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# demo_cluster.sh - `make demo-cluster`: two sluice nodes behind a router's
# ECMP, VIPs announced over BGP by BIRD, live traffic, one node stopped
# half-way.
#
# In the cluster lab (tests/lab/lab.sh, lab_up_cluster): router (BIRD,
# multipath BGP, L4 hash), nodes n1 and n2 (sluice run + BIRD), backends
# be1..be3, a client behind the router.  The client opens ~10 fresh HTTP
# connections a second to the NAT VIP 192.0.2.10 from changing source
# ports, and holds 4 keep-alive connections to the DSR VIP 192.0.2.20 with
# a request on each every second.  Once a second a line shows the router's
# next hops, each node's new flows, where the fresh connections landed and
# the held connections: their node (from the nodes' connection tables), their
# backend, their requests ok/failed.  Half-way `sluice stop` on n2: it
# withdraws its routes, waits bgp.drain and exits; the router keeps n1, the
# fresh connections all go to n1, the held ones that were on n2 move to n1
# and keep their backend.  Then a summary, and everything is removed, also
# on Ctrl-C.
#
# Environment: DEMO_SECONDS (>= 10, default 30).
set -euo pipefail

# shellcheck source=tests/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

DEMO_SECONDS=${DEMO_SECONDS:-30}
if [[ ! $DEMO_SECONDS =~ ^[0-9]+$ ]] || ((DEMO_SECONDS < 10)); then
	echo "demo-cluster: DEMO_SECONDS must be a whole number of seconds, at least 10" >&2
	exit 2
fi
STOP_AT=$((DEMO_SECONDS / 2))
TRAFFIC="$LAB_TMP/traffic.py"
STATE="$LAB_TMP/traffic.json"

on_exit() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM # a second Ctrl-C must not cut the clean-up short
	echo "demo-cluster: cleaning up (namespaces, BIRD, daemons, pins)"
	lab_down
	exit "$rc"
}
trap on_exit EXIT
trap 'echo; echo "demo-cluster: interrupted"; exit 130' INT
trap 'exit 143' TERM

[[ -x $LAB_SLUICE ]] || {
	echo "demo-cluster: $LAB_SLUICE missing (run make)" >&2
	exit 1
}

# node_new_flows I: node I's new web flows so far ("-" once its daemon is gone).
node_new_flows() {
	lab_cl_exec_node "$1" python3 -c '
import urllib.request
try:
    body = urllib.request.urlopen("http://127.0.0.1:9541/metrics", timeout=1).read().decode()
    print(sum(int(l.split()[-1]) for l in body.splitlines()
              if l.startswith("sluice_service_new_flows_total{service=\"web\"")))
except OSError:
    print("-")'
}

echo "demo-cluster: building the lab (router, 2 nodes with sluice + BIRD, 3 backends, client)"
lab_up_cluster
lab_cluster_servers_start
for i in 0 1; do
	lab_cluster_node_start "$i"
done
lab_cluster_wait_nexthops "$LAB_CL_VIP_WEB" "${LAB_CL_NODE_V4[*]}" 15 >/dev/null
lab_cluster_wait_nexthops "$LAB_CL_VIP_DSR" "${LAB_CL_NODE_V4[*]}" 15 >/dev/null
echo "demo-cluster: the router's route to the NAT VIP, learnt over BGP from both nodes:"
ip -n "$LAB_CL_NS_ROUTER" route show "$LAB_CL_VIP_WEB/32" | sed 's/^/    /'
echo "demo-cluster: n1's view:"
lab_cl_sluice 0 status | sed -n '/^bgp:/,$p' | sed 's/^/    /'

cat >"$TRAFFIC" <<'PY'
# The client's traffic: fresh connections to the NAT VIP, held keep-alive
# connections to the DSR VIP; a JSON state file rewritten every second.
import http.client, json, random, sys, time
state_path, src_list, nat_vip, dsr_vip, dsr_port = sys.argv[1:6]
srcs = src_list.split(",")
held = []
for k in range(4):
    c = http.client.HTTPConnection(dsr_vip, int(dsr_port), timeout=2, source_address=(srcs[0], 0))
    c.connect()
    c.auto_open = 0
    held.append({"conn": c, "name": "h%d" % (k + 1), "lport": c.sock.getsockname()[1],
                 "backend": "", "ok": 0, "fail": 0})
fresh = {"ok": 0, "fail": 0, "backends": {}}
def get(c):
    c.request("GET", "/", headers={"Host": "vip"})
    r = c.getresponse()
    r.read()
    return r.getheader("X-Backend")
last = 0
while True:
    src = random.choice(srcs)
    c = http.client.HTTPConnection(nat_vip, 80, timeout=2, source_address=(src, 0))
    try:
        be = get(c)
        fresh["ok"] += 1
        fresh["backends"][be] = fresh["backends"].get(be, 0) + 1
    except (OSError, http.client.HTTPException):
        fresh["fail"] += 1
    finally:
        c.close()
    now = time.time()
    if now - last >= 1:
        last = now
        for h in held:
            try:
                be = get(h["conn"])
                if h["backend"] and be != h["backend"]:
                    raise OSError("backend changed")
                h["backend"] = be
                h["ok"] += 1
            except (OSError, http.client.HTTPException):
                h["fail"] += 1
        with open(state_path + ".tmp", "w") as f:
            json.dump({"fresh": fresh, "held": [{k: v for k, v in h.items() if k != "conn"} for h in held]}, f)
        import os
        os.replace(state_path + ".tmp", state_path)
    time.sleep(0.1)
PY
lab_bg "$LAB_NS_CLIENT" "$LAB_TMP/traffic.err" python3 "$TRAFFIC" "$STATE" \
	"$(
		IFS=,
		echo "${LAB_CL_CLIENT_SRCS[*]}"
	)" "$LAB_CL_VIP_WEB" "$LAB_CL_VIP_DSR" "$LAB_LB_HTTP_PORT"
for ((k = 0; k < 50; k++)); do
	[[ -s $STATE ]] && break
	sleep 0.1
done

echo
echo "demo-cluster: live, one line a second; sluice stop on n2 at ${STOP_AT}s"
echo "  t  router next hops for $LAB_CL_VIP_WEB    new flows n1/n2   fresh ok/fail  held DSR connections (node backend ok/fail)"
prev0=$(node_new_flows 0)
prev1=$(node_new_flows 1)
stop_pid=""
for ((t = 1; t <= DEMO_SECONDS; t++)); do
	sleep 1
	if ((t == STOP_AT)); then
		echo "---- sluice stop on n2 (withdraw, wait bgp.drain = $LAB_CL_DRAIN, exit) ----"
		lab_cl_sluice 1 stop >/dev/null &
		stop_pid=$!
	fi
	nh=$(lab_cluster_nexthops "$LAB_CL_VIP_WEB")
	cur0=$(node_new_flows 0)
	cur1=$(node_new_flows 1)
	d0=$([[ $cur0 == - || $prev0 == - ]] && echo "-" || echo "+$((cur0 - prev0))")
	d1=$([[ $cur1 == - || $prev1 == - ]] && echo "stopped" || echo "+$((cur1 - prev1))")
	prev0=$cur0
	prev1=$cur1
	lab_cluster_flows >"$LAB_TMP/conns.now"
	python3 - "$STATE" "$LAB_TMP/conns.now" "$LAB_CL_CLIENT_SRCS" "$LAB_CL_VIP_DSR" "$t" "${nh:-none}" "$d0" "$d1" <<'PY'
import json, sys
state, conns, src, vip, t, nh, d0, d1 = sys.argv[1:9]
s = json.load(open(state))
where = {}
for line in open(conns):
    node, c, sport, v, dport = line.split()
    if c == src and v == vip:
        where.setdefault(int(sport), []).append(node)
# A node keeps a moved flow's entry (its maps stay pinned): show the move as
# FIRST>NEW, FIRST being where the connection was first seen.
first_path = conns + ".first"
try:
    first = json.load(open(first_path))
except (OSError, ValueError):
    first = {}
def node_of(lport):
    now = sorted(where.get(lport, []))
    if not now:
        return "?"
    was = first.setdefault(str(lport), now)
    new = [n for n in now if n not in was]
    return "+".join(was) + (">" + "+".join(new) if new else "")
held = "  ".join("%s@%s %s %d/%d" % (h["name"], node_of(h["lport"]), h["backend"], h["ok"], h["fail"])
                 for h in s["held"])
json.dump(first, open(first_path, "w"))
print("%3s  %-34s %5s/%-8s %5d/%-4d   %s" % (t, nh, d0, d1, s["fresh"]["ok"], s["fresh"]["fail"], held))
PY
done
[[ -n $stop_pid ]] && wait "$stop_pid" || true

echo
echo "demo-cluster: summary"
python3 - "$STATE" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
f = s["fresh"]
print("  fresh connections to the NAT VIP: %d ok, %d failed; by backend %s" % (f["ok"], f["fail"], f["backends"]))
for h in s["held"]:
    print("  held DSR connection %s (port %d): backend %s, %d requests ok, %d failed" % (h["name"], h["lport"], h["backend"], h["ok"], h["fail"]))
PY
echo "  n2's log:"
grep "bgp:\|exiting" "${LAB_CL_DIR[1]}/sluice.log" | sed 's/^/    /'
echo "  the router now:"
ip -n "$LAB_CL_NS_ROUTER" route show "$LAB_CL_VIP_WEB/32" | sed 's/^/    /'
