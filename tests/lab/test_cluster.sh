#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_cluster.sh - scale-out: two sluice nodes behind a router's ECMP, the
# VIPs announced over BGP by BIRD 2 (sluice writes the include file and
# asks BIRD to reconfigure over its control socket).
#
# In the cluster lab (tests/lab/lab.sh, lab_up_cluster): a router running
# BIRD with multipath BGP and an L4 ECMP hash, nodes n1 and n2 each running
# `sluice run` + BIRD, three backends, a client behind the router.  Checks:
#   - every VIP appears on the router with both nodes as next hops within
#     seconds of the daemons' start; status/--json/metrics say announced;
#   - fresh connections from many client ports spread over both nodes
#     (each node's own new-flow counter);
#   - a service whose backends are all down (effective state) is withdrawn
#     by both nodes and comes back when one is up again;
#   - health checks (spare: tcp, 300 ms, fall 2, rise 2): all of a service's
#     servers killed -> every node withdraws its VIP; restarted -> announced
#     again by both;
#   - BIRD unreachable: the hand-over fails, is counted and retried, and
#     succeeds once BIRD is back;
#   - `sluice stop` on n2 withdraws its routes (the router keeps n1 only),
#     after which n2's daemon is gone;
#   - keep-alive connections through n1 keep going; in DSR mode those that
#     were on n2 keep going too, on the same backend (ECMP moves them to
#     n1, Maglev on n1 picks what n2 picked); NAT-mode ones that were on n2
#     are reported (they survive here: the reverse NAT is stateless);
#   - both nodes choose the same backend for the same flow: the same flows
#     (source address and port) sent again after n2's stop all go through
#     n1 and reach the backend they reached before, as the backends' own
#     logs show, including those that first went through n2;
#   - SIGTERM on n1: its VIPs are withdrawn before the daemon exits.
#
# Prints "ok NAME" / "FAIL NAME: why" per check and ends with the line
# "N passed, N failed"; exits non-zero on failure.  Run as root; needs
# build/sluice, build/xdp_pass.bpf.o (make), bird and birdc (bird2; make deps).
set -euo pipefail

# shellcheck source=tests/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"
# shellcheck source=tests/lab/report.sh
source "$(dirname "${BASH_SOURCE[0]}")/report.sh"

ROUTE_SECS=${ROUTE_SECS:-10}  # VIP on the router with the expected next hops
FLOWS_PER_SRC=${FLOWS_PER_SRC:-16}
SESSIONS=${SESSIONS:-8}       # keep-alive connections per VIP
BOTH="${LAB_CL_NODE_V4[0]} ${LAB_CL_NODE_V4[1]}"
N1=${LAB_CL_NODE_V4[0]}

report_traps test_cluster

one_line() { tr '\n' ' ' <<<"$1" | head -c 300; }
# check NAME WHY: ok if WHY is empty, else FAIL with it.
check() {
	if [[ -z $2 ]]; then ok "$1"; else fail "$1" "$2"; fi
}
# joined: "SRC:PORT BACKEND_BEFORE NODE_BEFORE BACKEND_AFTER NODE_AFTER" per flow.
joined() {
	join -j1 <(awk '{print $1":"$2, $3, $4}' "$LAB_TMP/flows-before" | LC_ALL=C sort) \
		<(awk '{print $1":"$2, $3, $4}' "$LAB_TMP/flows-after" | LC_ALL=C sort)
}

# node_metric I REGEX: the sum of node I's metric lines matching REGEX.
node_metric() {
	lab_cl_exec_node "$1" python3 -c '
import re, sys, urllib.request
try:
    body = urllib.request.urlopen("http://127.0.0.1:9541/metrics", timeout=3).read().decode()
except OSError:
    print(-1); sys.exit()
pat = re.compile(sys.argv[1])
print(sum(int(float(l.split()[-1])) for l in body.splitlines() if not l.startswith("#") and pat.search(l)))' "$2"
}

# wait_vips WANT SECS VIP...: every VIP with exactly next hops WANT; sets
# WAITED (seconds until the last one was there) or fails.
wait_vips() {
	local want=$1 secs=$2 v t
	shift 2
	WAITED=0
	for v in "$@"; do
		t=$(lab_cluster_wait_nexthops "$v" "$want" "$secs") || return 1
		WAITED=$(python3 -c "import sys; print(max(float(sys.argv[1]), float(sys.argv[2])))" "$WAITED" "$t")
	done
}

# spare_all up|down: `backend up|down` for every spare backend on both nodes.
spare_all() {
	local i b
	for i in 0 1; do
		for b in "${LAB_LB_BACKEND_V4[@]}"; do
			lab_cl_sluice "$i" backend "$1" spare "$b:$LAB_CL_SPARE_PORT" >/dev/null
		done
	done
}
# spare_be2_up NODE: spare's backend be2 up again on node NODE (0-based) only.
spare_be2_up() {
	lab_cl_sluice "$1" backend up spare "${LAB_LB_BACKEND_V4[1]}:$LAB_CL_SPARE_PORT" >/dev/null
}

# ---- flows and the backends' logs ---------------------------------------

# The same flows twice (before and after a node's stop) need the same
# source ports twice: SO_REUSEADDR, tcp_tw_reuse in the client namespace,
# and the client reads to EOF (the server closes first), so the client side
# keeps no TIME_WAIT.  Argv: SRC DST PORT FIRST_SPORT COUNT; exit 1 on any
# failed connection.
FLOWS_PY='
import socket, sys
src, dst, port, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
bad = []
for sport in range(first, first + count):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(3)
    try:
        s.bind((src, sport))
        s.connect((dst, port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        if not data.startswith(b"HTTP/1.1 200"):
            raise OSError("reply %r" % data[:40])
    except OSError as e:
        bad.append("sport %d: %s" % (sport, e))
    finally:
        s.close()
if bad:
    print("%d of %d failed: %s" % (len(bad), count, "; ".join(bad[:3])))
    sys.exit(1)
'

# spread_flows TAG: FLOWS_PER_SRC fresh connections to the NAT VIP from each
# client source, fixed source ports; the backend of each flow from the
# backends' logs ("conn CLIENT PORT" per accepted connection, NAT keeps the
# client's address and port) into $LAB_TMP/flows-TAG ("SRC PORT BACKEND NODE"
# with NODE the node whose connection table holds the flow, or with
# NODE_FROM=router the router's ECMP choice from `ip route get`).
spread_flows() {
	local tag=$1 src out be i n log node
	for log in "$LAB_TMP"/http-be*.log; do : >"$log"; done
	for src in "${LAB_CL_CLIENT_SRCS[@]}"; do
		if ! out=$(lab_exec_client python3 - "$src" "$LAB_CL_VIP_WEB" 80 41000 "$FLOWS_PER_SRC" <<<"$FLOWS_PY" 2>&1); then
			SPREAD_ERR="$src: $(one_line "$out")"
			return 1
		fi
	done
	: >"$LAB_TMP/flows-$tag"
	lab_cluster_flows >"$LAB_TMP/conns"
	for i in "${!LAB_LB_BACKEND_NAME[@]}"; do
		be=${LAB_LB_BACKEND_NAME[$i]}
		while read -r _ src port; do
			if [[ ${NODE_FROM:-conns} == router ]]; then
				node=$(lab_cluster_via "$src" "$port" "$LAB_CL_VIP_WEB" 80)
			else
				node=$(conn_node "$src" "$port" "$LAB_CL_VIP_WEB" 80)
			fi
			echo "$src $port $be $node"
		done <"$LAB_TMP/http-$be.log" >>"$LAB_TMP/flows-$tag"
	done
	sort -o "$LAB_TMP/flows-$tag" "$LAB_TMP/flows-$tag"
}

# conn_node SRC SPORT VIP DPORT: the node(s) whose connection table (as of
# the last lab_cluster_flows >$LAB_TMP/conns) holds the flow; "n1+n2" if
# both, "none" if neither.
conn_node() {
	awk -v s="$1" -v p="$2" -v v="$3" -v d="$4" '$2 == s && $3 == p && $4 == v && $5 == d {print $1}' \
		"$LAB_TMP/conns" | sort -u | paste -sd+ | sed 's/^$/none/'
}

# ---- held keep-alive connections ------------------------------------------

# sess_start NAME VIP PORT: an http-session process (labnet) in the client
# holding named keep-alive connections to VIP:PORT, as coprocess NAME.
declare -A SESS_IN SESS_OUT
sess_start() {
	local name=$1 vip=$2 port=$3 pid
	local fifo_in="$LAB_TMP/sess-$name.in" fifo_out="$LAB_TMP/sess-$name.out"
	mkfifo "$fifo_in" "$fifo_out"
	nsenter --net="/run/netns/$LAB_NS_CLIENT" -- python3 -u "$LAB_NET_PY" http-session \
		--src "$LAB_CL_CLIENT_V4" --dst "$vip" --port "$port" <"$fifo_in" >"$fifo_out" 2>&1 &
	pid=$!
	LAB_PIDS+=("$pid")
	exec {fd_in}>"$fifo_in"
	exec {fd_out}<"$fifo_out"
	SESS_IN[$name]=$fd_in
	SESS_OUT[$name]=$fd_out
}
# sess NAME CMD CONN: one command; the answer line in SESS_LINE.
sess() {
	SESS_LINE=""
	echo "$2 $3" >&"${SESS_IN[$1]}"
	read -r -t 10 SESS_LINE <&"${SESS_OUT[$1]}" || SESS_LINE="$3 error no answer"
}

# open_sessions NAME VIP PORT: SESSIONS connections c1.., and more (up to
# SESSIONS_MAX) until each node has at least one (ECMP decides where each
# goes); each one's "CONN BACKEND LPORT NODE" line in $LAB_TMP/held-NAME,
# NODE from the nodes' connection tables.
SESSIONS_MAX=${SESSIONS_MAX:-24}
open_sessions() {
	local name=$1 vip=$2 port=$3 k=0 conn be lport
	sess_start "$name" "$vip" "$port"
	: >"$LAB_TMP/held-$name"
	while ((k < SESSIONS_MAX)); do
		if ((k >= SESSIONS)) && (($(held_count "$name" n1) > 0 && $(held_count "$name" n2) > 0)); then
			break
		fi
		k=$((k + 1))
		sess "$name" open "c$k"
		read -r conn be lport <<<"$SESS_LINE"
		if [[ $be == error || -z $lport ]]; then
			echo "c$k error $SESS_LINE" >>"$LAB_TMP/held-$name"
			continue
		fi
		lab_cluster_flows >"$LAB_TMP/conns"
		echo "$conn $be $lport $(conn_node "$LAB_CL_CLIENT_V4" "$lport" "$vip" "$port")" >>"$LAB_TMP/held-$name"
	done
}

# held_check NAME NODE: a GET on each held connection that was on NODE;
# prints one "conn: what went wrong" per failure, "" if all fine.
held_check() {
	local name=$1 node=$2 conn be lport via bad=""
	while read -r conn be lport via; do
		[[ $via == "$node" ]] || continue
		sess "$name" get "$conn"
		[[ $SESS_LINE == "$conn $be $lport" ]] || bad+="$conn via $via to $be: got '$SESS_LINE'; "
	done <"$LAB_TMP/held-$name"
	echo "$bad"
}
held_count() { awk -v n="$2" '$4 == n' "$LAB_TMP/held-$1" | wc -l; }

# ---- the test ---------------------------------------------------------------

[[ -x $LAB_SLUICE ]] || bail "build" "$LAB_SLUICE missing or not executable (run make)"
command -v bird >/dev/null && command -v birdc >/dev/null ||
	bail "tools" "bird/birdc not installed (make deps installs bird2)"
setup_or_bail "lab-up" lab_up_cluster
lab_exec_client sh -c 'echo 1 >/proc/sys/net/ipv4/tcp_tw_reuse' 
ok "lab-up (router + 2 nodes with BIRD, 3 backends, client)"
check_setup "backends-up" lab_cluster_servers_start

t0=$(date +%s.%N)
for i in 0 1; do
	lab_cluster_node_start "$i" 2>"$UP_ERR" || bail "daemon-${LAB_CL_NODE_NAME[$i]}" "$(tail -n 1 "$UP_ERR")"
done
ok "daemons-up (sluice run on n1 and n2)"

# ---- announced ---------------------------------------------------------------
if wait_vips "$BOTH" "$ROUTE_SECS" "${LAB_CL_VIPS[@]}"; then
	t=$(python3 -c "import sys,time; print('%.1f' % (time.time() - float(sys.argv[1])))" "$t0")
	echo "# router: ${LAB_CL_VIPS[*]} via $BOTH, ${t}s after the first daemon started"
	ok "vips-on-router-both-nexthops"
else
	fail "vips-on-router-both-nexthops" "after ${ROUTE_SECS}s: $(for v in "${LAB_CL_VIPS[@]}"; do echo -n "$v -> [$(lab_cluster_nexthops "$v")] "; done)"
fi
ip -n "$LAB_CL_NS_ROUTER" route show "$LAB_CL_VIP_WEB/32" | sed 's/^/# /'

bad=""
for i in 0 1; do
	js=$(lab_cl_sluice "$i" status --json 2>&1) || true
	n=$(python3 -c 'import json,sys; print(sum(v["announced"] for v in json.loads(sys.argv[1])["bgp"]["vips"]))' "$js" 2>/dev/null || echo err)
	[[ $n == 3 ]] || bad+="${LAB_CL_NODE_NAME[$i]} status --json: $n announced ($(one_line "$js")); "
	m=$(node_metric "$i" '^sluice_vip_announced\{')
	[[ $m == 3 ]] || bad+="${LAB_CL_NODE_NAME[$i]} sluice_vip_announced sum $m; "
	lab_cl_sluice "$i" status | grep -q "^  $LAB_CL_VIP_WEB .*announced" || bad+="${LAB_CL_NODE_NAME[$i]} status text; "
done
check "status-json-metrics-say-announced" "$bad"

# ---- spread over both nodes ----------------------------------------------------
nf0=$(node_metric 0 'sluice_service_new_flows_total\{service="web"')
nf1=$(node_metric 1 'sluice_service_new_flows_total\{service="web"')
if spread_flows before; then
	a=$(($(node_metric 0 'sluice_service_new_flows_total\{service="web"') - nf0))
	b=$(($(node_metric 1 'sluice_service_new_flows_total\{service="web"') - nf1))
	total=$((${#LAB_CL_CLIENT_SRCS[@]} * FLOWS_PER_SRC))
	echo "# $total fresh connections to $LAB_CL_VIP_WEB:80: new flows n1 $a, n2 $b (node counters);" \
		"backends $(awk '{print $3}' "$LAB_TMP/flows-before" | sort | uniq -c | tr '\n' ' ')"
	if ((a + b == total && a >= total / 5 && b >= total / 5)); then
		ok "flows-spread-over-both-nodes"
	else
		fail "flows-spread-over-both-nodes" "n1 $a, n2 $b new flows of $total"
	fi
	# each flow in exactly one node's connection table, as many as counted
	va=$(awk '$4 == "n1"' "$LAB_TMP/flows-before" | wc -l)
	vb=$(awk '$4 == "n2"' "$LAB_TMP/flows-before" | wc -l)
	check "each-flow-in-one-nodes-conn-table" "$([[ $va == "$a" && $vb == "$b" ]] ||
		echo "conn tables: n1 $va, n2 $vb (others: $(awk '$4 != "n1" && $4 != "n2"' "$LAB_TMP/flows-before" | head -n 3 | tr '\n' ' '))")"
else
	fail "flows-spread-over-both-nodes" "$SPREAD_ERR"
fi

# ---- a service with no backend up is withdrawn, and comes back ------------------
spare_all down
if wait_vips "" "$ROUTE_SECS" "$LAB_CL_VIP_SPARE"; then
	echo "# all of spare's backends down on both nodes: $LAB_CL_VIP_SPARE gone from the router in ${WAITED}s"
	r=""
	[[ $(lab_cluster_nexthops "$LAB_CL_VIP_WEB") == "$BOTH" ]] ||
		r="web lost a next hop too: [$(lab_cluster_nexthops "$LAB_CL_VIP_WEB")] $(tail -n 5 "$LAB_TMP/bird-router.log" | tr '\n' ' ')"
	lab_cl_sluice 0 status | grep -q "^  $LAB_CL_VIP_SPARE .*withdrawn .*no backend up" || r+=" n1 status does not say withdrawn"
	check "all-backends-down-withdrawn" "$r"
else
	fail "all-backends-down-withdrawn" "$LAB_CL_VIP_SPARE still via [$(lab_cluster_nexthops "$LAB_CL_VIP_SPARE")]"
fi
spare_be2_up 0
if wait_vips "$N1" "$ROUTE_SECS" "$LAB_CL_VIP_SPARE"; then
	ok "one-backend-up-announced-again (n1 only, ${WAITED}s)"
else
	fail "one-backend-up-announced-again" "$LAB_CL_VIP_SPARE via [$(lab_cluster_nexthops "$LAB_CL_VIP_SPARE")]"
fi

# ---- health: all of spare's servers die -> withdrawn; back -> announced ------------
spare_all up
if ! wait_vips "$BOTH" "$ROUTE_SECS" "$LAB_CL_VIP_SPARE"; then
	fail "health-all-down-withdrawn" "spare not back via both nodes after backend up: [$(lab_cluster_nexthops "$LAB_CL_VIP_SPARE")]"
else
	t0=$(date +%s.%N)
	lab_cluster_spare_kill
	if wait_vips "" "$ROUTE_SECS" "$LAB_CL_VIP_SPARE"; then
		t=$(python3 -c "import sys,time; print('%.1f' % (time.time() - float(sys.argv[1])))" "$t0")
		r=$(grep -c "health: spare .* is down" "${LAB_CL_DIR[0]}/sluice.log" || true)
		echo "# spare's servers killed: health took its 3 backends down on each node (n1 logged $r), $LAB_CL_VIP_SPARE gone from the router ${t}s later"
		check "health-all-down-withdrawn" "$([[ $r -ge 3 && $(lab_cluster_nexthops "$LAB_CL_VIP_WEB") == "$BOTH" ]] ||
			echo "n1 logged $r health downs; web via [$(lab_cluster_nexthops "$LAB_CL_VIP_WEB")]")"
	else
		fail "health-all-down-withdrawn" "$LAB_CL_VIP_SPARE still via [$(lab_cluster_nexthops "$LAB_CL_VIP_SPARE")]"
	fi
	t0=$(date +%s.%N)
	lab_cluster_spare_start 2>"$UP_ERR" || fail "spare-restart" "$(tail -n 1 "$UP_ERR")"
	if wait_vips "$BOTH" "$ROUTE_SECS" "$LAB_CL_VIP_SPARE"; then
		t=$(python3 -c "import sys,time; print('%.1f' % (time.time() - float(sys.argv[1])))" "$t0")
		ok "health-up-announced-again (via both nodes ${t}s after the servers restarted)"
	else
		fail "health-up-announced-again" "$LAB_CL_VIP_SPARE via [$(lab_cluster_nexthops "$LAB_CL_VIP_SPARE")]"
	fi
fi
spare_all down
spare_be2_up 0
wait_vips "$N1" "$ROUTE_SECS" "$LAB_CL_VIP_SPARE" || true

# ---- BIRD unreachable: counted, retried --------------------------------------------
f0=$(node_metric 1 'sluice_bgp_handovers_total\{result="failed"')
kill "${LAB_CL_BIRD_PIDS[2]}" 2>/dev/null || true
wait "${LAB_CL_BIRD_PIDS[2]}" 2>/dev/null || true
spare_be2_up 1
sleep 2
f1=$(node_metric 1 'sluice_bgp_handovers_total\{result="failed"')
insync=$(node_metric 1 '^sluice_bgp_in_sync ')
if ((f1 > f0)) && [[ $insync == 0 ]] && grep -q "handing BIRD the VIPs failed" "${LAB_CL_DIR[1]}/sluice.log"; then
	ok "bird-down-handover-failure-counted ($((f1 - f0)) failures, not in sync, logged)"
else
	fail "bird-down-handover-failure-counted" "failures $f0 -> $f1, in_sync $insync"
fi
_lab_cl_bird_start n2 "${LAB_CL_NS_NODE[1]}" "${LAB_CL_DIR[1]}/bird.conf" 2>"$UP_ERR" ||
	fail "bird-restart" "$(tail -n 1 "$UP_ERR")"
LAB_CL_BIRD_PIDS[2]=${LAB_CL_BIRD_PIDS[-1]}
if wait_vips "$BOTH" 20 "${LAB_CL_VIPS[@]}" && [[ $(node_metric 1 '^sluice_bgp_in_sync ') == 1 ]]; then
	ok "bird-back-retried-in-sync (all VIPs via both nodes ${WAITED}s after BIRD restarted)"
else
	fail "bird-back-retried-in-sync" "in_sync $(node_metric 1 '^sluice_bgp_in_sync '); $(for v in "${LAB_CL_VIPS[@]}"; do echo -n "$v via [$(lab_cluster_nexthops "$v")] "; done)"
fi
spare_all up

# ---- held connections, then stop n2 --------------------------------------------------
open_sessions nat "$LAB_CL_VIP_WEB" 80
open_sessions dsr "$LAB_CL_VIP_DSR" "$LAB_LB_HTTP_PORT"
for s in nat dsr; do
	echo "# held $s connections: n1 $(held_count "$s" n1), n2 $(held_count "$s" n2)" \
		"($(awk '{print $1"="$2"@"$4}' "$LAB_TMP/held-$s" | tr '\n' ' '))"
done
r=$(held_check nat n1)$(held_check dsr n1)$(held_check nat n2)$(held_check dsr n2)
check "held-connections-open" "$r$(grep -h error "$LAB_TMP"/held-* | tr '\n' ' ')"

t0=$(date +%s.%N)
lab_cl_sluice 1 stop >/dev/null &
stop_pid=$!
if wait_vips "$N1" "$ROUTE_SECS" "${LAB_CL_VIPS[@]}"; then
	echo "# sluice stop on n2: every VIP via $N1 only after ${WAITED}s"
	ok "stop-withdraws-router-keeps-one-nexthop"
else
	fail "stop-withdraws-router-keeps-one-nexthop" "web via [$(lab_cluster_nexthops "$LAB_CL_VIP_WEB")]"
fi
wait "$stop_pid" || true
t=$(python3 -c "import sys,time; print('%.1f' % (time.time() - float(sys.argv[1])))" "$t0")
wait "${LAB_CL_DAEMON_PID[1]}" 2>/dev/null || true
LAB_CL_DAEMON_PID[1]=
if grep -q "bgp: stopping: VIPs withdrawn; waiting 1000 ms" "${LAB_CL_DIR[1]}/sluice.log" &&
	grep -q "^sluice: exiting" "${LAB_CL_DIR[1]}/sluice.log"; then
	ok "stop-withdraw-drain-exit (n2 gone ${t}s after sluice stop)"
else
	fail "stop-withdraw-drain-exit" "$(tail -n 3 "${LAB_CL_DIR[1]}/sluice.log" | tr '\n' ' ')"
fi

check "nat-connections-via-survivor-keep-going ($(held_count nat n1))" \
	"$( (($(held_count nat n1) > 0)) || echo "no held NAT connection went via n1"; held_check nat n1)"
check "dsr-connections-via-survivor-keep-going ($(held_count dsr n1))" \
	"$( (($(held_count dsr n1) > 0)) || echo "no held DSR connection went via n1"; held_check dsr n1)"
check "dsr-connections-from-stopped-node-survive ($(held_count dsr n2), same backend)" \
	"$( (($(held_count dsr n2) > 0)) || echo "no held DSR connection went via n2"; held_check dsr n2)"
r=$(held_check nat n2)
if (($(held_count nat n2) == 0)); then
	r="none this run (ECMP put every held NAT connection on n1)"
elif [[ -z $r ]]; then
	r="all kept going (the reverse NAT is stateless; XDP stays on n2 after sluice stop)"
fi
echo "# NAT connections that were on n2 ($(held_count nat n2)): $r"

# ---- the same flows again, all through n1 -------------------------------------------
if NODE_FROM=router spread_flows after; then
	moved=$(awk '$4 == "n2"' "$LAB_TMP/flows-before" | wc -l)
	notn1=$(awk '$4 != "n1"' "$LAB_TMP/flows-after" | wc -l)
	diffs=$(joined | awk '$2 != $4')
	same_moved=$(joined | awk '$3 == "n2" && $2 == $4' | wc -l)
	echo "# $(wc -l <"$LAB_TMP/flows-after") flows again: $notn1 not via n1; of the $moved that were on n2," \
		"$same_moved reached the same backend through n1"
	if [[ $notn1 == 0 && -z $diffs && $moved -gt 0 && $same_moved == "$moved" ]] &&
		[[ $(wc -l <"$LAB_TMP/flows-after") == $(wc -l <"$LAB_TMP/flows-before") ]]; then
		ok "same-flow-same-backend-on-both-nodes"
	else
		fail "same-flow-same-backend-on-both-nodes" "differences: $(one_line "$diffs")"
	fi
else
	fail "same-flow-same-backend-on-both-nodes" "$SPREAD_ERR"
fi

# ---- SIGTERM: withdraw before exit --------------------------------------------------
kill -TERM "${LAB_CL_DAEMON_PID[0]}"
if wait_vips "" "$ROUTE_SECS" "${LAB_CL_VIPS[@]}"; then
	wait "${LAB_CL_DAEMON_PID[0]}" 2>/dev/null || true
	LAB_CL_DAEMON_PID[0]=
	log=${LAB_CL_DIR[0]}/sluice.log
	w=$(grep -n "bgp: stopping: VIPs withdrawn" "$log" | cut -d: -f1)
	e=$(grep -n "^sluice: exiting" "$log" | cut -d: -f1)
	if [[ -n $w && -n $e ]] && ((w < e)) && lab_cl_xdp_attached 0; then
		ok "sigterm-withdraws-before-exit (routes gone in ${WAITED}s; XDP untouched)"
	else
		fail "sigterm-withdraws-before-exit" "log: $(tail -n 4 "$log" | tr '\n' ' ')"
	fi
else
	fail "sigterm-withdraws-before-exit" "web via [$(lab_cluster_nexthops "$LAB_CL_VIP_WEB")]"
fi

summary
