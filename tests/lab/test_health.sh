#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_health.sh - backend health checks in the daemon, end to end, with real
# servers, real clients and the daemon's own checks through sluice's XDP.
#
# In the load-balancer lab (tests/lab/lab.sh, lab_up_lb) the daemon runs with
#   web   TCP 192.0.2.10:80        -> 203.0.113.11-13:8080, http check GET /healthz
#   web6  TCP [2001:db8:10::10]:80 -> [2001:db8:20::11-13]:8080, tcp check
#   dns   UDP (no check)
# every check every $INTERVAL_MS ms, rise $RISE, fall $FALL.  Checks that
#   - every backend is checked and up, the status says so (text, --json);
#   - killing be2's HTTP server: down after `fall` failed checks (not before),
#     logged, counted, in /metrics; fresh client connections all succeed
#     and none goes to be2; restarting it: up again after `rise`, and it
#     gets new connections again;
#   - the tcp check (web6) sees be3's server go and come back, too;
#   - a reload keeps a down backend down (its view survives);
#   - all servers killed: the service has 0 healthy backends and the status
#     says so; they come back;
#   - `sluice backend down` wins over a passing check (health still shows
#     up, the backend gets no new flows); `backend up` gives it back.
#
# Prints "ok NAME" / "FAIL NAME: why" per check and ends with the line
# "N passed, N failed"; exits non-zero on failure.  Run as root; needs
# build/sluice, build/xdp_pass.bpf.o (make), curl (make deps).
set -euo pipefail

# shellcheck source=tests/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"
# shellcheck source=tests/lab/report.sh
source "$(dirname "${BASH_SOURCE[0]}")/report.sh"

INTERVAL_MS=${INTERVAL_MS:-300}
TIMEOUT_MS=${TIMEOUT_MS:-200}
RISE=2
FALL=3
FRESH_N=${FRESH_N:-40} # fresh connections per "new flows avoid it" check
SOCK="$LAB_TMP/sluice.sock"
CONF="$LAB_TMP/sluice.conf"
DAEMON_LOG="$LAB_TMP/daemon.log"
METRICS="127.0.0.1:9541"
VIP4=$LAB_LB_VIP_WEB_V4
export SLUICE_SOCKET=$SOCK

test_cleanup() {
	if [[ $FAILED != 0 && -s ${DAEMON_LOG:-/nonexistent} ]]; then
		echo "# daemon log (last 30 lines):"
		tail -n 30 "$DAEMON_LOG" | sed 's/^/#   /'
	fi
	lab_down
	return 0
}
report_traps test_health

one_line() { tr '\n' ' ' <<<"$1" | head -c 300; }

# ---- config and daemon ----------------------------------------------------------

# write_conf [EXTRA]: the three services with their checks.
write_conf() {
	local i health_http health_tcp
	health_http="health = { type = \"http\"; path = \"/healthz\"; expect = 200;"
	health_http+=" interval = \"${INTERVAL_MS}ms\"; timeout = \"${TIMEOUT_MS}ms\"; rise = $RISE; fall = $FALL; };"
	health_tcp="health = { type = \"tcp\"; interval = \"${INTERVAL_MS}ms\"; timeout = \"${TIMEOUT_MS}ms\";"
	health_tcp+=" rise = $RISE; fall = $FALL; };"
	{
		echo "# test_health.sh"
		echo "interfaces = ( { name = \"$LAB_IF_NODE\"; allow_generic = false; } );"
		echo "services = ("
		echo "  { name = \"web\"; vip = \"$VIP4\"; port = $LAB_LB_VIP_WEB_PORT; protocol = \"tcp\";"
		echo "    $health_http"
		echo "    backends = ("
		for i in 0 1 2; do
			echo "      { address = \"${LAB_LB_BACKEND_V4[$i]}\"; port = $LAB_LB_HTTP_PORT; }$([[ $i == 2 ]] || echo ,)"
		done
		echo "    ); },"
		echo "  { name = \"web6\"; vip = \"$LAB_LB_VIP_WEB_V6\"; port = $LAB_LB_VIP_WEB_PORT; protocol = \"tcp\";"
		echo "    $health_tcp"
		echo "    backends = ("
		for i in 0 1 2; do
			echo "      { address = \"${LAB_LB_BACKEND_V6[$i]}\"; port = $LAB_LB_HTTP_PORT; }$([[ $i == 2 ]] || echo ,)"
		done
		echo "    ); },"
		echo "  { name = \"dns\"; vip = \"$LAB_LB_VIP_DNS_V4\"; port = $LAB_LB_VIP_DNS_PORT; protocol = \"udp\";"
		echo "    backends = ( { address = \"${LAB_LB_BACKEND_V4[0]}\"; port = $LAB_LB_UDP_PORT; } ); }"
		echo ");"
		echo "stats = { listen = \"$METRICS\"; };"
		echo "control = { socket = \"$SOCK\"; pin_dir = \"$LAB_PIN_DIR\"; };"
		echo "${1:-}"
	} >"$CONF"
	chmod 0644 "$CONF"
}

# ---- what the daemon says -----------------------------------------------------------

# hs SERVICE BACKEND FIELD: one field of `sluice status --json` for a backend
# ("203.0.113.12:8080"); FIELD healthy_backends reads the service's.
hs() {
	lab_sluice status --json | python3 -c '
import json, sys
svc, be, field = sys.argv[1:4]
for s in json.load(sys.stdin)["services"]:
    if s["name"] != svc:
        continue
    if field == "healthy_backends":
        print(s[field]); sys.exit(0)
    for b in s["backends"]:
        if b["backend"] == be:
            print(b[field]); sys.exit(0)
print("?")' "$@"
}

# wait_health SERVICE BACKEND up|down SECONDS: until the check's view is that;
# prints the seconds it took.  Fails after SECONDS.
wait_health() {
	local t0 i n
	t0=${EPOCHREALTIME/./}
	n=$(($4 * 20))
	for ((i = 0; i < n; i++)); do
		if [[ $(hs "$1" "$2" health) == "$3" ]]; then
			echo $(((${EPOCHREALTIME/./} - t0) / 1000))
			return 0
		fi
		sleep 0.05
	done
	return 1
}

metric() {
	lab_exec_node curl -sS --max-time 2 "http://$METRICS/metrics" | grep -F "$1" | awk '{print $NF}' | head -n 1
}

# fresh N: N fresh connections to the web VIP from client 1; prints how
# many each backend answered ("be1 12 be2 0 be3 28 fail 0").
fresh() {
	local i out name
	local -A n=([be1]=0 [be2]=0 [be3]=0 [fail]=0)
	for ((i = 0; i < $1; i++)); do
		if out=$(lab_exec_client curl -sS --max-time 2 "http://$VIP4/" 2>/dev/null); then
			name=$(tail -n 1 <<<"$out" | tr -d '\r')
			[[ -v n[$name] ]] || name=fail
		else
			name=fail
		fi
		n[$name]=$((n[$name] + 1))
	done
	echo "be1 ${n[be1]} be2 ${n[be2]} be3 ${n[be3]} fail ${n[fail]}"
}
count_of() { awk -v k="$1" '{for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1)}' <<<"$2"; }

# http_start I: (re)start backend I's HTTP server, as lab_lb_servers_start does.
http_start() {
	local i=$1 name=${LAB_LB_BACKEND_NAME[$1]} k
	rm -f "$LAB_TMP/http-$name.ready"
	lab_bg "${LAB_LB_BACKEND_NS[$i]}" "$LAB_TMP/http-$name.err" python3 "$LAB_NET_PY" \
		http-server --name "$name" --port "$LAB_LB_HTTP_PORT" \
		--ready "$LAB_TMP/http-$name.ready" --log "$LAB_TMP/http-$name.log"
	LAB_LB_HTTP_PIDS[i]=${LAB_PIDS[-1]}
	for ((k = 0; k < 100; k++)); do
		[[ -s $LAB_TMP/http-$name.ready ]] && return 0
		sleep 0.1
	done
	return 1
}

BE1=${LAB_LB_BACKEND_V4[0]}:$LAB_LB_HTTP_PORT
BE2=${LAB_LB_BACKEND_V4[1]}:$LAB_LB_HTTP_PORT
BE3=${LAB_LB_BACKEND_V4[2]}:$LAB_LB_HTTP_PORT
BE3_6="[${LAB_LB_BACKEND_V6[2]}]:$LAB_LB_HTTP_PORT"
# Seconds a transition may take at most: the checks, plus scheduling slack
# on a loaded machine.
SLACK_S=$(((INTERVAL_MS * (FALL + RISE) + TIMEOUT_MS) / 1000 + 5))

# ---- the test ----------------------------------------------------------------------

[[ -x $LAB_SLUICE ]] || bail "build" "$LAB_SLUICE missing or not executable (run make)"
command -v curl >/dev/null || bail "tools" "curl not installed (make deps)"
check_setup "lab-up" lab_up_lb
check_setup "backends-up" lab_lb_servers_start
write_conf
out=$(lab_sluice check -c "$CONF" 2>&1) || bail "config-check" "$(one_line "$out")"
ok "config-check"
check_daemon_start "daemon-starts" "$CONF" "$DAEMON_LOG"

# Every backend checked at least RISE times and up.
sleep $(((INTERVAL_MS * (RISE + 2)) / 1000 + 1))
bad=""
for be in "$BE1" "$BE2" "$BE3"; do
	[[ $(hs web "$be" health) == up && $(hs web "$be" checks_ok) -ge $RISE &&
		$(hs web "$be" checks_failed) == 0 ]] ||
		bad+=" $be:$(hs web "$be" health)/$(hs web "$be" checks_ok)ok/$(hs web "$be" checks_failed)failed"
done
for i in 0 1 2; do
	be="[${LAB_LB_BACKEND_V6[$i]}]:$LAB_LB_HTTP_PORT"
	[[ $(hs web6 "$be" health) == up && $(hs web6 "$be" checks_ok) -ge $RISE ]] ||
		bad+=" web6 $be:$(hs web6 "$be" health)/$(hs web6 "$be" checks_ok)ok"
done
check "all-checked-and-up" "$([[ -z $bad ]] && echo 0 || echo 1)" "not up or not checked:$bad ($(tail -n 2 "$DAEMON_LOG" | tr '\n' ' '))"
n=$(hs web - healthy_backends)
check "status-json-3-healthy" "$([[ $n == 3 ]] && echo 0 || echo 1)" "healthy_backends = $n, want 3"
txt=$(lab_sluice status)
check "status-text-health" "$(grep -q "web: http check every ${INTERVAL_MS}ms.*3 of 3 backends" <<<"$txt" && echo 0 || echo 1)" \
	"no health line for web in: $(grep -A2 'health checks' <<<"$txt" | one_line "$(cat)")"
dist=$(fresh "$FRESH_N")
echo "# all up: $dist"
check "all-serve" "$([[ $(count_of fail "$dist") == 0 && $(count_of be2 "$dist") -gt 0 ]] && echo 0 || echo 1)" "fresh connections: $dist"

# ---- be2's server dies --------------------------------------------------------------

ok_before=$(hs web "$BE2" checks_ok)
lab_lb_http_kill 1
t0=${EPOCHREALTIME/./}
if took=$(wait_health web "$BE2" down "$SLACK_S"); then
	failed=$(hs web "$BE2" checks_failed)
	echo "# be2 down after ${took} ms, $failed failed checks"
	check "down-after-fall" "$([[ $failed -ge $FALL ]] && echo 0 || echo 1)" "marked down after $failed failed checks, fall is $FALL"
	min_ms=$(((FALL - 1) * INTERVAL_MS))
	check "not-down-before-fall" "$([[ $took -ge $((min_ms - INTERVAL_MS)) ]] && echo 0 || echo 1)" \
		"down after $took ms: $FALL checks $INTERVAL_MS ms apart take at least ~$min_ms ms"
else
	fail "down-after-fall" "be2 still $(hs web "$BE2" health) after ${SLACK_S}s with its server killed"
fi
err=$(hs web "$BE2" last_error)
check "last-error" "$([[ $err == *"connect"* ]] && echo 0 || echo 1)" "last_error '$err', want a connect failure"
check "state-down" "$([[ $(hs web "$BE2" state) == down ]] && echo 0 || echo 1)" "effective state $(hs web "$BE2" state)"
check "logged-down-at-fall" "$(grep -q "health: web $BE2 is down ($FALL failed http checks in a row, last: connect" "$DAEMON_LOG" && echo 0 || echo 1)" \
	"no 'health: web $BE2 is down ($FALL failed http checks in a row' in the log: $(grep "health: web $BE2" "$DAEMON_LOG" | one_line "$(cat)")"
check "metric-health-0" "$([[ $(metric "sluice_backend_health{service=\"web\",backend=\"$BE2\"}") == 0 ]] && echo 0 || echo 1)" \
	"sluice_backend_health for be2 is '$(metric "sluice_backend_health{service=\"web\",backend=\"$BE2\"}")'"
check "metric-transition" "$([[ $(metric "sluice_backend_health_transitions_total{service=\"web\",backend=\"$BE2\",to=\"down\"}") == 1 ]] && echo 0 || echo 1)" \
	"transitions to down: '$(metric "sluice_backend_health_transitions_total{service=\"web\",backend=\"$BE2\",to=\"down\"}")'"
lab_sluice status | sed -n '/^health checks:/,/^[a-z]/p' | sed 's/^/# /'
n=$(hs web - healthy_backends)
check "2-healthy" "$([[ $n == 2 ]] && echo 0 || echo 1)" "healthy_backends = $n, want 2"
dist=$(fresh "$FRESH_N")
echo "# be2 down: $dist"
check "new-flows-avoid-down" "$([[ $(count_of fail "$dist") == 0 && $(count_of be2 "$dist") == 0 ]] && echo 0 || echo 1)" \
	"fresh connections: $dist (want no failure, none to be2)"

# A reload keeps the view of a backend that stays.
sleep 0.5
out=$(lab_sluice reload 2>&1) || fail "reload" "$(one_line "$out")"
check "reload-keeps-down" "$([[ $(hs web "$BE2" health) == down && $(hs web "$BE2" went_down) == 1 && $(hs web "$BE2" state) == down ]] && echo 0 || echo 1)" \
	"after reload: health $(hs web "$BE2" health), went_down $(hs web "$BE2" went_down), state $(hs web "$BE2" state)"

# ---- be2's server comes back ------------------------------------------------------------

http_start 1 || fail "restart-be2" "be2's HTTP server did not come back"
if took=$(wait_health web "$BE2" up "$SLACK_S"); then
	echo "# be2 up after ${took} ms"
	ok "up-after-rise"
	check "logged-up" "$(grep -q "health: web $BE2 is up ($RISE successful" "$DAEMON_LOG" && echo 0 || echo 1)" "no 'is up ($RISE successful' line in the log"
else
	fail "up-after-rise" "be2 still $(hs web "$BE2" health) ${SLACK_S}s after its server restarted"
fi
dist=$(fresh "$FRESH_N")
echo "# be2 back: $dist"
check "new-flows-back" "$([[ $(count_of fail "$dist") == 0 && $(count_of be2 "$dist") -gt 0 ]] && echo 0 || echo 1)" "fresh connections: $dist"

# ---- the tcp check (web6) ------------------------------------------------------------------

lab_lb_http_kill 2
if wait_health web6 "$BE3_6" down "$SLACK_S" >/dev/null; then
	ok "tcp-check-down"
else
	fail "tcp-check-down" "web6 $BE3_6 still $(hs web6 "$BE3_6" health) with its server killed"
fi
out=$(lab_exec_client curl -sS --max-time 2 -g "http://[$LAB_LB_VIP_WEB_V6]/" 2>&1) || true
check "tcp-check-v6-serves" "$([[ $(tail -n 1 <<<"$out" | tr -d '\r') == be[12] ]] && echo 0 || echo 1)" "curl to the v6 VIP: $(one_line "$out")"
http_start 2 || fail "restart-be3" "be3's HTTP server did not come back"
if wait_health web6 "$BE3_6" up "$SLACK_S" >/dev/null; then
	ok "tcp-check-up"
else
	fail "tcp-check-up" "web6 $BE3_6 still $(hs web6 "$BE3_6" health) after its server restarted"
fi
wait_health web "$BE3" up "$SLACK_S" >/dev/null || true

# ---- every backend down ---------------------------------------------------------------------

for i in 0 1 2; do lab_lb_http_kill "$i"; done
for be in "$BE1" "$BE2" "$BE3"; do
	wait_health web "$be" down "$SLACK_S" >/dev/null || fail "all-down" "$be still $(hs web "$be" health)"
done
n=$(hs web - healthy_backends)
check "zero-healthy" "$([[ $n == 0 ]] && echo 0 || echo 1)" "healthy_backends = $n, want 0"
txt=$(lab_sluice status)
check "status-says-no-healthy" "$(grep -q "web: .*0 of 3 backends taking new flows (NO HEALTHY BACKEND)" <<<"$txt" && echo 0 || echo 1)" \
	"status: $(grep 'web: ' <<<"$txt" | one_line "$(cat)")"
for i in 0 1 2; do http_start "$i" || fail "restart" "backend $i's server did not come back"; done
for be in "$BE1" "$BE2" "$BE3"; do
	wait_health web "$be" up "$SLACK_S" >/dev/null || fail "all-back" "$be still $(hs web "$be" health)"
done
n=$(hs web - healthy_backends)
check "all-back" "$([[ $n == 3 ]] && echo 0 || echo 1)" "healthy_backends = $n, want 3"

# ---- manual down wins over a passing check ---------------------------------------------------

out=$(lab_sluice backend down web "$BE1" 2>&1) || fail "manual-down" "$(one_line "$out")"
sleep $(((INTERVAL_MS * 3) / 1000 + 1))
check "manual-down-wins" "$([[ $(hs web "$BE1" health) == up && $(hs web "$BE1" state) == down && $(hs web - healthy_backends) == 2 ]] && echo 0 || echo 1)" \
	"health $(hs web "$BE1" health), state $(hs web "$BE1" state), healthy $(hs web - healthy_backends)"
dist=$(fresh "$FRESH_N")
echo "# be1 manually down, healthy: $dist"
check "manual-down-no-flows" "$([[ $(count_of fail "$dist") == 0 && $(count_of be1 "$dist") == 0 ]] && echo 0 || echo 1)" "fresh connections: $dist"
out=$(lab_sluice backend up web "$BE1" 2>&1) || fail "manual-up" "$(one_line "$out")"
check "manual-up-back" "$([[ $(hs web "$BE1" state) == active && $(hs web - healthy_backends) == 3 ]] && echo 0 || echo 1)" \
	"state $(hs web "$BE1" state), healthy $(hs web - healthy_backends)"

summary
