#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_lb.sh - the service load balancer, end to end, with real servers and
# real clients.
#
# In the load-balancer lab (tests/lab/lab.sh, lab_up_lb): two client
# namespaces and three backend namespaces on one bridge with the node's
# uplink; each backend runs an HTTP/1.1 server on 8080 and a UDP echo server
# on 5353 that answer with the backend's name.  sluice is attached natively
# on up0 and gets its services from a config file (sluice check, then sluice
# apply):
#   web   TCP 192.0.2.10:80        -> 203.0.113.11-13:8080  weights 1 1 2
#   web6  TCP [2001:db8:10::10]:80 -> [2001:db8:20::11-13]:8080
#   dns   UDP 192.0.2.53:53        -> 203.0.113.11-13:5353
# Checks that
#   - curl and wrk to the VIPs (IPv4 and IPv6) all succeed, and the backends
#     see the real client address;
#   - a UDP question to the VIP is answered from the VIP (reverse NAT);
#   - `sluice stats --json` counts the traffic as lb_forward/tx and
#     lb_reply/tx, and nothing is dropped;
#   - fresh connections spread over the backends as the weights say;
#   - draining a backend keeps an open keep-alive connection on it and sends
#     it no new connection; making it active again brings new ones back;
#   - killing a backend's server and marking it down: new connections all
#     succeed elsewhere, an established connection to another backend stays.
#
# Prints "ok NAME" / "FAIL NAME: why" per check and ends with the line
# "N passed, N failed" (tests/run.sh parses it); exits non-zero on failure.
# Run as root from anywhere; needs build/sluice and build/xdp_pass.bpf.o
# (make), curl and wrk (make deps).
set -euo pipefail

# shellcheck source=tests/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

SPREAD_N=${SPREAD_N:-300}     # fresh connections for the weight check
SPREAD_TOL=${SPREAD_TOL:-0.07} # allowed |share - weight share|
PHASE_N=${PHASE_N:-100}       # fresh connections per drain/down check
KEEP_GETS=5                   # requests on a held connection per check
WRK_SECONDS=${WRK_SECONDS:-3}

# shellcheck source=tests/lab/report.sh
source "$(dirname "${BASH_SOURCE[0]}")/report.sh"

report_traps test_lb

CLIENT1_V4=${LAB_LB_CLIENT_V4[0]}
CLIENT1_V6=${LAB_LB_CLIENT_V6[0]}
VIP4=$LAB_LB_VIP_WEB_V4
VIP6=$LAB_LB_VIP_WEB_V6
CONF="$LAB_TMP/sluice.conf"

one_line() { tr '\n' ' ' <<<"$1" | head -c 300; }

# ---- config --------------------------------------------------------------

# apply_states NAME STATE1 STATE2 STATE3: write the config with these
# backend states, check it, apply it (an ok/FAIL line either way).
apply_states() {
	local name=$1 out
	shift
	lab_lb_write_config "$CONF" "$@"
	if ! out=$(lab_sluice check -c "$CONF" 2>&1); then
		fail "$name" "sluice check refused the config: $(one_line "$out")"
		return 1
	fi
	if out=$(lab_sluice apply -c "$CONF" 2>&1); then
		echo "# $out"
		ok "$name"
	else
		fail "$name" "sluice apply: $(one_line "$out")"
		return 1
	fi
}

# ---- fresh connections ----------------------------------------------------

# spread NS SRC DST SPORT COUNT: COUNT fresh connections, one GET each, from
# source ports SPORT.. (fixed ports: the same flows every run).  Sets
# SPREAD (the JSON labnet prints, or an {"error": ...} one).
spread() {
	local ns=$1 src=$2 dst=$3 sport=$4 count=$5
	if ! SPREAD=$(lab_in "$ns" python3 "$LAB_NET_PY" http-spread --src "$src" --dst "$dst" \
		--port "$LAB_LB_VIP_WEB_PORT" --sport "$sport" --count "$count" 2>&1); then
		SPREAD="{\"error\": $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$SPREAD")}"
	fi
}

# spread_check MODE ARG: judge $SPREAD; prints nothing if fine, else why.
#   all-ok            every connection got a 200 from a backend
#   weights W1,W2,W3  ... and each backend's share within SPREAD_TOL of its
#                     weight's share
#   avoid NAME        ... and none reached backend NAME
#   reach NAME        ... and some reached backend NAME
#   client ADDR       the backends saw the connections come from ADDR only
spread_check() {
	python3 - "$SPREAD" "$1" "${2:-}" "$SPREAD_TOL" "${LAB_LB_BACKEND_NAME[*]}" <<'PY'
import json, sys
raw, mode, arg, tol, names = sys.argv[1:6]
names = names.split()
d = json.loads(raw)
if "error" in d:
    print("client failed: %s" % d["error"][:200]); sys.exit()
per = d["backends"]
if mode == "client":
    if d["clients_seen"] != [arg]:
        print("backends saw the connections come from %s, not %s" % (d["clients_seen"], arg))
    sys.exit()
if d["n_errors"]:
    print("%d of %d connections failed (%s); per backend %s"
          % (d["n_errors"], d["count"], "; ".join(d["errors"][:3]), per)); sys.exit()
if mode == "weights":
    w = [float(x) for x in arg.split(",")]
    bad = []
    for name, wi in zip(names, w):
        want = wi / sum(w)
        got = per.get(name, 0) / d["ok"]
        if abs(got - want) > float(tol):
            bad.append("%s %.3f (want %.3f +- %s)" % (name, got, want, tol))
    if bad:
        print("shares off: %s; counts %s" % (", ".join(bad), per))
elif mode == "avoid" and per.get(arg, 0):
    print("%d of %d new connections still reached %s: %s" % (per[arg], d["count"], arg, per))
elif mode == "reach" and not per.get(arg, 0):
    print("no new connection reached %s: %s" % (arg, per))
PY
}

spread_summary() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(" ".join("%s=%d" % kv for kv in sorted(d.get("backends", {}).items())))' "$SPREAD"
}

# check NAME WHY: ok if WHY is empty, else FAIL with it.
check() {
	if [[ -z $2 ]]; then ok "$1"; else fail "$1" "$2"; fi
}

# ---- held keep-alive connections -----------------------------------------

# One http-session process in client 1 holds named keep-alive connections
# to the IPv4 VIP; sess CMD NAME sends one command and puts the answer line
# ("NAME BACKEND LOCALPORT" or "NAME error WHY") in SESS_LINE.
sess_start() {
	coproc SESS { exec nsenter --net="/run/netns/$LAB_NS_CLIENT" -- \
		python3 -u "$LAB_NET_PY" http-session --src "$CLIENT1_V4" --dst "$VIP4" \
		--port "$LAB_LB_VIP_WEB_PORT" 2>&1; }
	LAB_PIDS+=("$SESS_PID")
}
sess() {
	SESS_LINE=""
	if [[ -z ${SESS[1]:-} ]]; then
		SESS_LINE="$2 error the session process is gone"
		return
	fi
	echo "$1 $2" >&"${SESS[1]}"
	if ! read -r -t 10 SESS_LINE <&"${SESS[0]}"; then
		SESS_LINE="$2 error no answer from the session process"
	fi
}

# held_check NAME CONN BACKEND LPORT: KEEP_GETS more requests on connection
# CONN all answered by BACKEND over the same connection (local port LPORT).
held_check() {
	local name=$1 conn=$2 be=$3 lport=$4 k
	for ((k = 1; k <= KEEP_GETS; k++)); do
		sess get "$conn"
		if [[ $SESS_LINE != "$conn $be $lport" ]]; then
			fail "$name" "request $k on the held connection to $be (port $lport): got '$SESS_LINE'"
			return
		fi
	done
	ok "$name"
}

# ---- counters ---------------------------------------------------------------

stats_to() { lab_sluice stats --json >"$1"; }

# ---- the test -----------------------------------------------------------------

[[ -x $LAB_SLUICE ]] || bail "build" "$LAB_SLUICE missing or not executable (run make)"
command -v curl >/dev/null || bail "tools" "curl not installed (make deps)"
check_setup "lab-up" lab_up_lb
check_setup "backends-up" lab_lb_servers_start

if out=$(lab_sluice attach "$LAB_IF_NODE" 2>&1); then
	echo "# $out"
	mode=$(lab_xdp_mode)
	[[ $mode == xdp ]] ||
		bail "attach-native" "ip link shows XDP mode '${mode:-none}' on $LAB_IF_NODE, not native 'xdp'"
	ok "attach-native"
else
	bail "attach-native" "native XDP could not attach to $LAB_IF_NODE: $(tail -n 1 <<<"$out")"
fi

# No service yet: the VIP is on no interface, so nothing answers for it.
# (What answers later is sluice's doing.)
if lab_exec_client curl -sS --max-time 2 "http://$VIP4/" >/dev/null 2>&1; then
	fail "vip-dead-without-services" "http://$VIP4/ answered before any service was applied"
else
	ok "vip-dead-without-services"
fi

apply_states "apply" active active active || bail "apply" "no services, nothing to test"
stats_to "$LAB_TMP/start.json"

# ---- real clients -----------------------------------------------------------

stats_to "$LAB_TMP/before.json"
out=$(lab_exec_client curl -sS --max-time 3 -D - "http://$VIP4/" 2>&1) && rc=0 || rc=$?
sleep 0.3 # the connection's last packets
stats_to "$LAB_TMP/after.json"
body=$(tail -n 1 <<<"$out" | tr -d '\r')
if [[ $rc == 0 && $out == "HTTP/1.1 200"* ]] && lab_lb_backend_index "$body" >/dev/null; then
	ok "curl-v4"
else
	fail "curl-v4" "curl http://$VIP4/ exit $rc: $(one_line "$out")"
fi
seen=$(tr -d '\r' <<<"$out" | sed -n 's/^X-Client: \([^ ]*\) .*/\1/p')
if [[ $seen == "$CLIENT1_V4" ]]; then
	ok "backend-sees-client-v4"
else
	fail "backend-sees-client-v4" "backend saw the connection come from '${seen:-?}', not $CLIENT1_V4"
fi
delta=$(lab_stats_delta "$LAB_TMP/before.json" "$LAB_TMP/after.json" | sort)
if grep -q '^lb_forward/tx [1-9]' <<<"$delta" && grep -q '^lb_reply/tx [1-9]' <<<"$delta" &&
	! grep -qv '^lb_forward/tx \|^lb_reply/tx ' <<<"$delta"; then
	ok "stats-lb-forward-reply-tx"
else
	fail "stats-lb-forward-reply-tx" "counters moved by [$(one_line "$delta")], expected lb_forward/tx and lb_reply/tx only"
fi

out=$(lab_exec_client curl -sS --max-time 3 -g -D - "http://[$VIP6]/" 2>&1) && rc=0 || rc=$?
body=$(tail -n 1 <<<"$out" | tr -d '\r')
seen=$(tr -d '\r' <<<"$out" | sed -n 's/^X-Client: \([^ ]*\) .*/\1/p')
if [[ $rc == 0 && $out == "HTTP/1.1 200"* ]] && lab_lb_backend_index "$body" >/dev/null; then
	ok "curl-v6"
else
	fail "curl-v6" "curl http://[$VIP6]/ exit $rc: $(one_line "$out")"
fi
if [[ $seen == "$CLIENT1_V6" ]]; then
	ok "backend-sees-client-v6"
else
	fail "backend-sees-client-v6" "backend saw the connection come from '${seen:-?}', not $CLIENT1_V6"
fi

out=$(lab_exec_client2 curl -sS --max-time 3 "http://$VIP4/" 2>&1) && rc=0 || rc=$?
if [[ $rc == 0 ]] && lab_lb_backend_index "$out" >/dev/null; then
	ok "curl-v4-client2"
else
	fail "curl-v4-client2" "curl http://$VIP4/ from client 2 exit $rc: $(one_line "$out")"
fi

# UDP: the answer must come from the VIP and port the question went to
# (recvfrom on an unconnected socket shows where it really came from).
stats_to "$LAB_TMP/before.json"
out=$(lab_exec_client python3 "$LAB_NET_PY" udp-ask --src "$CLIENT1_V4" \
	--dst "$LAB_LB_VIP_DNS_V4" --port "$LAB_LB_VIP_DNS_PORT" 2>&1) && rc=0 || rc=$?
sleep 0.3
stats_to "$LAB_TMP/after.json"
read -r ans from fport <<<"$out" || true
if [[ $rc == 0 ]] && lab_lb_backend_index "$ans" >/dev/null &&
	[[ $from == "$LAB_LB_VIP_DNS_V4" && $fport == "$LAB_LB_VIP_DNS_PORT" ]]; then
	ok "udp-reply-from-vip"
else
	fail "udp-reply-from-vip" "want a backend name from $LAB_LB_VIP_DNS_V4:$LAB_LB_VIP_DNS_PORT, got: $(one_line "$out")"
fi
# One question (11 payload bytes), one answer (a 3-byte name), exactly.
delta=$(lab_stats_delta "$LAB_TMP/before.json" "$LAB_TMP/after.json" | sort)
want=$(printf 'lb_forward/tx 1 %d\nlb_reply/tx 1 %d' $((14 + 20 + 8 + 11)) $((14 + 20 + 8 + 3)))
if [[ $delta == "$want" ]]; then
	ok "udp-stats-exact"
else
	fail "udp-stats-exact" "counters moved by [$(one_line "$delta")], expected [$(one_line "$want")]"
fi

# ---- weights ----------------------------------------------------------------

spread "$LAB_NS_CLIENT" "$CLIENT1_V4" "$VIP4" 20000 "$SPREAD_N"
echo "# $SPREAD_N fresh connections to $VIP4: $(spread_summary) (weights ${LAB_LB_WEIGHT_V4[*]})"
check "spread-v4-weights" "$(spread_check weights "$(IFS=,; echo "${LAB_LB_WEIGHT_V4[*]}")")"
check "spread-v4-client-address" "$(spread_check client "$CLIENT1_V4")"
spread "$LAB_NS_CLIENT" "$CLIENT1_V6" "$VIP6" 20000 150
echo "# 150 fresh connections to [$VIP6]: $(spread_summary) (weights 1 1 1)"
check "spread-v6-weights" "$(SPREAD_TOL=0.1 spread_check weights 1,1,1)"

# wrk: keep-alive load for a few seconds; every request must get a 2xx.
wrk_check() {
	local name=$1 ns=$2 url=$3 out rc n
	if ! command -v wrk >/dev/null; then
		fail "$name" "wrk not installed (Debian package wrk; make deps)"
		return
	fi
	out=$(lab_in "$ns" wrk -t 2 -c 16 -d "${WRK_SECONDS}s" --timeout 2s "$url" 2>&1) && rc=0 || rc=$?
	n=$(sed -n 's/^ *\([0-9]\+\) requests in .*/\1/p' <<<"$out")
	echo "# wrk $url: ${n:-?} requests in ${WRK_SECONDS}s"
	if [[ $rc != 0 || -z $n || $n == 0 ]]; then
		fail "$name" "wrk exit $rc: $(one_line "$out")"
	elif grep -q 'Socket errors\|Non-2xx' <<<"$out"; then
		fail "$name" "$(grep 'Socket errors\|Non-2xx' <<<"$out" | tr '\n' ' ')"
	else
		ok "$name"
	fi
}
wrk_check "wrk-v4" "$LAB_NS_CLIENT2" "http://$VIP4/"
wrk_check "wrk-v6" "$LAB_NS_CLIENT2" "http://[$VIP6]/"

# ---- draining ---------------------------------------------------------------

sess_start
sess open drain
read -r _ DRAIN_BE DRAIN_PORT <<<"$SESS_LINE"
if ! DRAIN_I=$(lab_lb_backend_index "$DRAIN_BE"); then
	bail "drain-open" "could not open a keep-alive connection to $VIP4: $SESS_LINE"
fi
echo "# held connection from port $DRAIN_PORT is served by $DRAIN_BE: draining it"
states=(active active active)
states[DRAIN_I]=draining
apply_states "apply-draining" "${states[@]}"
held_check "drain-held-connection-stays" drain "$DRAIN_BE" "$DRAIN_PORT"
spread "$LAB_NS_CLIENT" "$CLIENT1_V4" "$VIP4" 21000 "$PHASE_N"
echo "# $PHASE_N new connections while $DRAIN_BE drains: $(spread_summary)"
check "drain-no-new-connections" "$(spread_check avoid "$DRAIN_BE")"
# The backend's own log agrees: no connection from those ports reached it.
n=$(awk -v lo=21000 -v hi=$((21000 + PHASE_N)) '$1 == "conn" && $3 >= lo && $3 < hi' \
	"$LAB_TMP/http-$DRAIN_BE.log" | wc -l)
check "drain-backend-log-quiet" "$([[ $n == 0 ]] || echo "$DRAIN_BE accepted $n of the new connections")"
held_check "drain-held-connection-still-stays" drain "$DRAIN_BE" "$DRAIN_PORT"
sess close drain

apply_states "apply-undrain" active active active
spread "$LAB_NS_CLIENT" "$CLIENT1_V4" "$VIP4" 22000 "$PHASE_N"
echo "# $PHASE_N new connections after $DRAIN_BE is active again: $(spread_summary)"
check "undrain-new-connections-return" "$(spread_check reach "$DRAIN_BE")"

# ---- down ----------------------------------------------------------------------

# Two held connections: "keep" on backend KEEP_BE and "victim" on another
# one, DOWN_BE (reopened until it lands elsewhere).
sess open keep
read -r _ KEEP_BE KEEP_PORT <<<"$SESS_LINE"
if ! lab_lb_backend_index "$KEEP_BE" >/dev/null; then
	bail "down-open" "could not open a keep-alive connection to $VIP4: $SESS_LINE"
fi
DOWN_BE=""
for ((k = 0; k < 30; k++)); do
	sess open victim
	read -r _ DOWN_BE DOWN_PORT <<<"$SESS_LINE"
	[[ $DOWN_BE != "$KEEP_BE" ]] && break
done
if [[ $DOWN_BE == "$KEEP_BE" ]] || ! DOWN_I=$(lab_lb_backend_index "$DOWN_BE"); then
	bail "down-open" "no keep-alive connection landed on a backend other than $KEEP_BE: $SESS_LINE"
fi
echo "# held connections: port $KEEP_PORT on $KEEP_BE, port $DOWN_PORT on $DOWN_BE"

# First, with its server still running: "down" (unlike "draining") moves a
# backend's established flows too.  The victim's next request goes to
# another backend, which knows no such connection and resets it; "keep"
# does not notice.  (This is also the control for the drain checks above:
# a held connection does break when the data path lets its flow move.)
states=(active active active)
states[DOWN_I]=down
apply_states "apply-down-alive" "${states[@]}"
sess get victim
echo "# next request on the held connection to $DOWN_BE: $SESS_LINE"
if [[ $SESS_LINE == "victim error "*[Rr]eset* ]]; then
	ok "down-moves-its-established-flows"
else
	fail "down-moves-its-established-flows" "want the held connection to $DOWN_BE (down) reset by the backend its flow moved to, got '$SESS_LINE'"
fi
held_check "down-other-held-connection-stays" keep "$KEEP_BE" "$KEEP_PORT"
apply_states "apply-up-again" active active active

# Then the real thing: the backend's server dies, the operator marks it
# down.  New connections all succeed, none reaches it; the held connection
# to another backend stays where it is.
echo "# killing $DOWN_BE's HTTP server and marking it down"
lab_lb_http_kill "$DOWN_I"
apply_states "apply-down" "${states[@]}"
spread "$LAB_NS_CLIENT" "$CLIENT1_V4" "$VIP4" 23000 "$PHASE_N"
echo "# $PHASE_N new connections with $DOWN_BE down: $(spread_summary)"
check "down-new-connections-succeed-elsewhere" "$(spread_check avoid "$DOWN_BE")"
spread "$LAB_NS_CLIENT" "$CLIENT1_V6" "$VIP6" 23000 60
echo "# 60 new IPv6 connections with $DOWN_BE down: $(spread_summary)"
check "down-new-connections-succeed-elsewhere-v6" "$(spread_check avoid "$DOWN_BE")"
held_check "down-other-held-connection-still-stays" keep "$KEEP_BE" "$KEEP_PORT"
sess close keep

# ---- nothing dropped, over the whole run ------------------------------------

stats_to "$LAB_TMP/end.json"
delta=$(lab_stats_delta "$LAB_TMP/start.json" "$LAB_TMP/end.json" | sort)
echo "# counters over the run: $(one_line "$delta")"
bad=$(grep -v '^lb_forward/tx \|^lb_reply/tx ' <<<"$delta" || true)
if [[ -z $bad ]]; then
	ok "no-drops-all-tx"
else
	fail "no-drops-all-tx" "unexpected counters: $(one_line "$bad")"
fi

if out=$(lab_sluice detach "$LAB_IF_NODE" 2>&1); then
	ok "detach"
else
	fail "detach" "$(tail -n 1 <<<"$out")"
fi

summary
[[ $FAILED == 0 ]]
