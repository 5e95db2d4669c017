#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_synflood.sh - XDP SYN cookies under a spoofed SYN flood, end to end.
#
# In the namespace lab (tests/lab/lab.sh): sluice on the node's uplink with
# syn_cookies mode "always" for the node's HTTP service (192.0.2.1 and
# 2001:db8::1, port $PORT), and the node's nft SYNPROXY rules of
# docs/syn-cookies.md.  hping3 floods the service with SYNs from random
# (spoofed) sources at a fixed rate while curl connects again and again,
# over IPv4 and IPv6.  Checks that
#   - every legitimate connection succeeds (HTTP 200), during the flood too;
#   - the flood is answered from XDP (syncookie_sent moves by about the
#     flood's size) and every curl handshake is completed by a valid cookie
#     ACK (syncookie_ack_valid);
#   - the node allocates nothing for the flood: no SYN-RECV sockets, no
#     listen queue overflows, and the conntrack table stays at the size of
#     the legitimate connections;
#   - forged ACKs (hping3 -A with random sequence numbers) are dropped and
#     counted as syncookie_ack_invalid.
# Then, on lab_up_lb's topology, the same for a NAT VIP with
# `syn_cookies = true` (IPv4 and IPv6 services over three backends): curl
# through the VIP always succeeds during a spoofed flood at the VIP, sluice
# completes every handshake with the backend (synproxy_backend_syn/ack), and
# neither sluice's connection table nor the backends' SYN backlog grows with
# the flood.
#
# Prints "ok NAME" / "FAIL NAME: why" per check and ends with the line
# "N passed, N failed".  Run as root; needs build/sluice, build/xdp_pass.bpf.o,
# hping3, curl, nft.
set -euo pipefail

# shellcheck source=tests/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"
# shellcheck source=tests/lab/report.sh
source "$(dirname "${BASH_SOURCE[0]}")/report.sh"

PORT=${PORT:-8080}
FLOOD_US=${FLOOD_US:-500}    # hping3 -i uN: one SYN every N µs (2000/s)
FLOOD_SECS=${FLOOD_SECS:-6}  # flood duration
CURLS_V4=${CURLS_V4:-30}     # legitimate connections during the flood
CURLS_V6=${CURLS_V6:-10}
XDP_PASS_OBJ=${XDP_PASS_OBJ:-$LAB_REPO/build/xdp_pass.bpf.o}
# The flood must be one: hping3's own count, whatever the machine's load
# makes of the nominal rate, must reach this.
MIN_FLOOD=${MIN_FLOOD:-1000}

# hping_sent LOG: the "N packets transmitted" hping3 prints when stopped
# with SIGINT (0 if it did not).
hping_sent() {
	sed -n 's/^\([0-9]\+\) packets transmitted.*/\1/p' "$1" | tail -n 1 | grep . || echo 0
}

report_traps test_synflood

for tool in hping3 curl nft; do
	command -v "$tool" >/dev/null || bail setup "$tool not found: make deps installs it"
done
[[ -f $XDP_PASS_OBJ ]] || bail setup "$XDP_PASS_OBJ missing: run make"

lab_up || bail lab-up "lab_up failed"

# The client's veth receives the SYN-ACKs sluice sends with XDP_TX: veth
# delivers XDP frames only to a peer that runs XDP itself.
ip -n "$LAB_NS_CLIENT" link set dev "$LAB_IF_CLIENT" xdp obj "$XDP_PASS_OBJ" sec xdp ||
	bail setup "cannot attach xdp_pass on the client's veth"

# ---- the node: HTTP service, SYNPROXY rules, sluice ------------------------

mkdir -p "$LAB_TMP/www"
echo "hello from the node" >"$LAB_TMP/www/index.html"
lab_bg "$LAB_NS_NODE" "$LAB_TMP/http.log" python3 -m http.server "$PORT" --bind :: \
	--directory "$LAB_TMP/www"

# docs/syn-cookies.md: the ACK that answers a cookie has no conntrack entry;
# with loose tracking off it is INVALID, and SYNPROXY checks the cookie
# (same kernel secret as the XDP helper) and opens the connection to the
# listener.  SYNs never reach these rules while sluice answers them; the
# rules also serve when cookies are off (mode "flood" outside a flood).
lab_exec_node sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0
lab_exec_node nft -f - <<EOF || bail setup "nft SYNPROXY rules refused"
table inet sluice_synproxy {
	chain prerouting {
		type filter hook prerouting priority raw; policy accept;
		tcp dport $PORT tcp flags syn notrack
	}
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport $PORT ct state invalid,untracked synproxy mss 1460
		tcp dport $PORT ct state invalid drop
	}
}
EOF

cat >"$LAB_TMP/sluice.conf" <<EOF
interfaces = ( { name = "$LAB_IF_NODE"; } );
syn_cookies = {
	mode = "always";
	local = ( { address = "$LAB_NODE_V4"; ports = [ $PORT ]; },
		  { address = "$LAB_NODE_V6"; ports = [ $PORT ]; } );
};
EOF
chmod 600 "$LAB_TMP/sluice.conf"

out=$(lab_sluice attach "$LAB_IF_NODE" 2>&1) || bail attach "$out"
out=$(lab_sluice apply -c "$LAB_TMP/sluice.conf" 2>&1) || bail apply "$out"
ok attach-and-apply

# ---- helpers -------------------------------------------------------------

# curl_ok URL: 0 when the page (the node's, a VIP's) came back with HTTP 200.
curl_ok() {
	local code
	code=$(lab_exec_client curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$1" 2>/dev/null) ||
		return 1
	[[ $code == 200 ]]
}

# under_flood LOG DST PORT URL4 URL6 GAUGE1 GAUGE2: a spoofed hping3 SYN
# flood at DST:PORT for FLOOD_SECS (output to LOG) while a legit client
# curls URL4 CURLS_V4 times and URL6 CURLS_V6 times; sets good4 and good6
# (curls that worked) and max1 and max2, the peaks of the GAUGE functions
# read after each round.
under_flood() {
	local log=$1 dst=$2 port=$3 url4=$4 url6=$5 gauge1=$6 gauge2=$7 flood i n
	lab_bg "$LAB_NS_CLIENT" "$log" timeout -s INT "$FLOOD_SECS" \
		hping3 -q -S -p "$port" --rand-source -i "u$FLOOD_US" "$dst"
	flood=${LAB_PIDS[-1]}
	sleep 1
	good4=0 good6=0 max1=0 max2=0
	for ((i = 0; i < CURLS_V4; i++)); do
		curl_ok "$url4" && good4=$((good4 + 1))
		if ((i < CURLS_V6)); then
			curl_ok "$url6" && good6=$((good6 + 1))
		fi
		n=$("$gauge1")
		((n > max1)) && max1=$n
		n=$("$gauge2")
		((n > max2)) && max2=$n
	done
	wait "$flood" 2>/dev/null || true
	sleep 0.3
}

# slot_delta BEFORE AFTER SLOT: packets counted under SLOT between snapshots.
slot_delta() {
	lab_stats_delta "$1" "$2" | awk -v s="$3" '$1 == s { print $2; found = 1 }
		END { if (!found) print 0 }'
}

syn_recv() { lab_exec_node ss -Hnt state syn-recv | wc -l; }
ct_count() { lab_exec_node cat /proc/sys/net/netfilter/nf_conntrack_count; }
listen_drops() {
	lab_exec_node nstat -az TcpExtListenOverflows TcpExtListenDrops |
		awk '/TcpExtListen/ { n += $2 } END { print n + 0 }'
}

URL4="http://$LAB_NODE_V4:$PORT/"
URL6="http://[$LAB_NODE_V6]:$PORT/"

# wait for the HTTP server
for ((i = 0; i < 50; i++)); do
	lab_exec_node ss -Hltn "sport = :$PORT" | grep -q . && break
	sleep 0.1
done

# ---- without a flood: the handshake goes through cookies ---------------------

lab_stats_snapshot "$LAB_TMP/s0.json"
curl_ok "$URL4" && r4=0 || r4=1
curl_ok "$URL6" && r6=0 || r6=1
sleep 0.3
lab_stats_snapshot "$LAB_TMP/s1.json"
check curl-v4-through-cookies "$r4" "curl $URL4 failed"
check curl-v6-through-cookies "$r6" "curl $URL6 failed"
sent=$(slot_delta "$LAB_TMP/s0.json" "$LAB_TMP/s1.json" syncookie_sent/tx)
valid=$(slot_delta "$LAB_TMP/s0.json" "$LAB_TMP/s1.json" syncookie_ack_valid/pass)
[[ $sent -ge 2 && $valid -ge 2 ]] && r=0 || r=1
check handshakes-answered-by-xdp "$r" "syncookie_sent moved by $sent, syncookie_ack_valid by $valid (want >= 2 each)"

# ---- under a spoofed flood ---------------------------------------------------

ct_before=$(ct_count)
drops_before=$(listen_drops)
lab_stats_snapshot "$LAB_TMP/f0.json"
under_flood "$LAB_TMP/hping.log" "$LAB_NODE_V4" "$PORT" "$URL4" "$URL6" syn_recv ct_count
max_synrecv=$max1 max_ct=$max2
lab_stats_snapshot "$LAB_TMP/f1.json"
drops_after=$(listen_drops)

sent=$(slot_delta "$LAB_TMP/f0.json" "$LAB_TMP/f1.json" syncookie_sent/tx)
valid=$(slot_delta "$LAB_TMP/f0.json" "$LAB_TMP/f1.json" syncookie_ack_valid/pass)
flood_syns=$(hping_sent "$LAB_TMP/hping.log")
echo "# flood: hping3 sent $flood_syns spoofed SYNs in ${FLOOD_SECS}s (nominal $((1000000 / FLOOD_US))/s)," \
	"$sent SYNs answered from XDP," \
	"legit v4 $good4/$CURLS_V4 v6 $good6/$CURLS_V6, max SYN-RECV $max_synrecv," \
	"conntrack $ct_before -> max $max_ct, listen drops +$((drops_after - drops_before))"
check legit-v4-during-flood "$([[ $good4 == "$CURLS_V4" ]] && echo 0 || echo 1)" \
	"$good4/$CURLS_V4 curls succeeded"
check legit-v6-during-flood "$([[ $good6 == "$CURLS_V6" ]] && echo 0 || echo 1)" \
	"$good6/$CURLS_V6 curls succeeded"
check flood-was-a-flood "$([[ $flood_syns -ge $MIN_FLOOD ]] && echo 0 || echo 1)" \
	"hping3 sent only $flood_syns SYNs (want >= $MIN_FLOOD): $(tail -n 2 "$LAB_TMP/hping.log" | tr '\n' ' ')"
# every spoofed SYN (and every curl's) got its cookie SYN-ACK from XDP
check flood-answered-from-xdp "$([[ $sent -ge $flood_syns ]] && echo 0 || echo 1)" \
	"syncookie_sent moved by $sent, hping3 sent $flood_syns"
check curl-acks-valid "$([[ $valid -ge $((CURLS_V4 + CURLS_V6)) ]] && echo 0 || echo 1)" \
	"syncookie_ack_valid moved by $valid, want >= $((CURLS_V4 + CURLS_V6))"
check no-syn-backlog "$([[ $max_synrecv -le 2 ]] && echo 0 || echo 1)" \
	"up to $max_synrecv SYN-RECV sockets on the node during the flood"
check no-listen-overflows "$([[ $drops_after == "$drops_before" ]] && echo 0 || echo 1)" \
	"ListenOverflows+ListenDrops moved by $((drops_after - drops_before))"
# conntrack holds the legitimate connections (and their TIME_WAIT-like
# entries), never one per spoofed SYN
check conntrack-does-not-grow "$([[ $max_ct -le $((ct_before + 2 * (CURLS_V4 + CURLS_V6) + 4)) ]] && echo 0 || echo 1)" \
	"conntrack count reached $max_ct (was $ct_before) with $sent spoofed SYNs"

# ---- forged ACKs ---------------------------------------------------------------

lab_stats_snapshot "$LAB_TMP/a0.json"
lab_exec_client hping3 -q -A -p "$PORT" --rand-source -c 200 -i u1000 "$LAB_NODE_V4" \
	>/dev/null 2>&1 || true
sleep 0.3
lab_stats_snapshot "$LAB_TMP/a1.json"
invalid=$(slot_delta "$LAB_TMP/a0.json" "$LAB_TMP/a1.json" syncookie_ack_invalid/drop)
check forged-acks-dropped "$([[ $invalid == 200 ]] && echo 0 || echo 1)" \
	"syncookie_ack_invalid/drop moved by $invalid, want 200"
curl_ok "$URL4" && r=0 || r=1
check curl-after-the-flood "$r" "curl $URL4 failed after the flood"

# ==== a NAT VIP with syn_cookies = true (lab_up_lb topology) ===================

lab_down
LAB_PIDS=()
setup_or_bail vip-lab-up lab_up_lb
setup_or_bail vip-backends-up lab_lb_servers_start
VIP4=$LAB_LB_VIP_WEB_V4
VIP6=$LAB_LB_VIP_WEB_V6
{
	echo "interfaces = ( { name = \"$LAB_IF_NODE\"; } );"
	echo "services = ("
	for fam in 4 6; do
		if [[ $fam == 4 ]]; then vip=$VIP4 name=web; else vip=$VIP6 name=web6; fi
		echo "  { name = \"$name\"; vip = \"$vip\"; port = $LAB_LB_VIP_WEB_PORT;"
		echo "    protocol = \"tcp\"; mode = \"nat\"; syn_cookies = true;"
		echo "    backends = ("
		for i in 0 1 2; do
			if [[ $fam == 4 ]]; then a=${LAB_LB_BACKEND_V4[$i]}; else a=${LAB_LB_BACKEND_V6[$i]}; fi
			echo "      { address = \"$a\"; port = $LAB_LB_HTTP_PORT; }$([[ $i == 2 ]] || echo ,)"
		done
		echo "    ); }$([[ $fam == 6 ]] || echo ,)"
	done
	echo ");"
} >"$LAB_TMP/vip.conf"
chmod 600 "$LAB_TMP/vip.conf"
out=$(lab_sluice attach "$LAB_IF_NODE" 2>&1) || bail vip-attach "$out"
out=$(lab_sluice apply -c "$LAB_TMP/vip.conf" 2>&1) || bail vip-apply "$out"
ok vip-attach-and-apply

# entries in sluice's connection table
conns() {
	bpftool map dump pinned "$LAB_PIN_DIR/lb_conns" 2>/dev/null | grep -c '"key"' || true
}
backend_synrecv() {
	local i n=0
	for i in 0 1 2; do
		n=$((n + $(lab_in "${LAB_LB_BACKEND_NS[$i]}" ss -Hnt state syn-recv | wc -l)))
	done
	echo "$n"
}

VURL4="http://$VIP4/"
VURL6="http://[$VIP6]/"
lab_stats_snapshot "$LAB_TMP/v0.json"
curl_ok "$VURL4" && r4=0 || r4=1
curl_ok "$VURL6" && r6=0 || r6=1
sleep 0.3
lab_stats_snapshot "$LAB_TMP/v1.json"
check vip-curl-v4 "$r4" "curl $VURL4 failed"
check vip-curl-v6 "$r6" "curl $VURL6 failed"
bsyn=$(slot_delta "$LAB_TMP/v0.json" "$LAB_TMP/v1.json" synproxy_backend_syn/tx)
back=$(slot_delta "$LAB_TMP/v0.json" "$LAB_TMP/v1.json" synproxy_backend_ack/tx)
check vip-handshakes-by-sluice "$([[ $bsyn -ge 2 && $back -ge 2 ]] && echo 0 || echo 1)" \
	"synproxy_backend_syn/tx moved by $bsyn, synproxy_backend_ack/tx by $back (want >= 2)"

conns_before=$(conns)
lab_stats_snapshot "$LAB_TMP/vf0.json"
under_flood "$LAB_TMP/hping-vip.log" "$VIP4" "$LAB_LB_VIP_WEB_PORT" "$VURL4" "$VURL6" conns backend_synrecv
max_conns=$max1 max_bsr=$max2
lab_stats_snapshot "$LAB_TMP/vf1.json"
sent=$(slot_delta "$LAB_TMP/vf0.json" "$LAB_TMP/vf1.json" syncookie_sent/tx)
flood_syns=$(hping_sent "$LAB_TMP/hping-vip.log")
echo "# VIP flood: hping3 sent $flood_syns spoofed SYNs, $sent SYNs answered from XDP in ${FLOOD_SECS}s," \
	"legit v4 $good4/$CURLS_V4 v6 $good6/$CURLS_V6," \
	"sluice connections $conns_before -> max $max_conns, backends' max SYN-RECV $max_bsr"
check vip-legit-v4-during-flood "$([[ $good4 == "$CURLS_V4" ]] && echo 0 || echo 1)" \
	"$good4/$CURLS_V4 curls succeeded"
check vip-legit-v6-during-flood "$([[ $good6 == "$CURLS_V6" ]] && echo 0 || echo 1)" \
	"$good6/$CURLS_V6 curls succeeded"
check vip-flood-was-a-flood "$([[ $flood_syns -ge $MIN_FLOOD ]] && echo 0 || echo 1)" \
	"hping3 sent only $flood_syns SYNs (want >= $MIN_FLOOD)"
check vip-flood-answered-from-xdp "$([[ $sent -ge $flood_syns ]] && echo 0 || echo 1)" \
	"syncookie_sent moved by $sent, hping3 sent $flood_syns"
# one entry per legitimate connection at most, none per spoofed SYN
check vip-conn-table-does-not-grow \
	"$([[ $max_conns -le $((conns_before + CURLS_V4 + CURLS_V6 + 2)) ]] && echo 0 || echo 1)" \
	"sluice's connection table reached $max_conns entries (was $conns_before) with $sent spoofed SYNs"
check vip-no-backend-syn-backlog "$([[ $max_bsr -le 2 ]] && echo 0 || echo 1)" \
	"up to $max_bsr SYN-RECV sockets on the backends during the flood"

summary
