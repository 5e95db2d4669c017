# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# lab.sh - THE namespace lab for sluice.  Sourced (never executed) by the lab
# tests, the bench and the demo, so that all of them exercise the same
# topology and address plan:
#
#   netns "$LAB_NS_CLIENT"                      netns "$LAB_NS_NODE"
#   +--------------------------+   veth pair   +--------------------------+
#   | c0  192.0.2.2/24         |<------------->| up0  192.0.2.1/24        |
#   |     2001:db8::2/64       |               |      2001:db8::1/64      |
#   |  + source addresses:     |               |  XDP (sluice) goes here  |
#   |    clean / blocked /     |               |  routes back to the      |
#   |    allowlisted, v4 + v6  |               |  client's sources        |
#   +--------------------------+               +--------------------------+
#
# Nothing is connected to the root namespace.  Every name carries LAB_ID
# (default: the PID of the sourcing shell), so parallel runs do not collide.
#
# Counting is exact: after lab_up nothing but the traffic a test sends
# crosses the link (no DAD, no router solicitations, no RA, permanent
# neighbour entries both ways so no ARP/ND; the MLD reports that follow
# address assignment are over before lab_up returns).
#
# A second topology, for the service load balancer (clients and backends
# on a bridge with the node's uplink), comes up with lab_up_lb instead of
# lab_up; see "the load-balancer topology" near the end.  lab_down takes
# either down.
#
# With a bridge or VLANs, mind this machine's pitfalls:
# br_netfilter is loaded and new namespaces inherit it (set
# net.bridge.bridge-nf-call-{iptables,ip6tables,arptables}=0 in the bridge's
# namespace), and veth TX VLAN offload must be off (ethtool -K DEV txvlan
# off) or XDP sees untagged frames.  A veth that receives XDP_TX frames needs
# an XDP program on the peer.  Packets that sluice rewrites must carry
# finished checksums (sender's `ethtool -K DEV tx off`; see lab_up_lb).
#
# Usage:
#   source tests/lab/lab.sh
#   trap lab_down EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
#   lab_up
#   lab_sluice attach "$LAB_IF_NODE"
#   ...
#
# Why sluice runs via nsenter and not `ip netns exec`: `ip netns exec` gives
# the command a fresh mount namespace with its own /sys, so bpffs pins made
# there vanish when it exits.  nsenter --net switches only the network
# namespace and keeps the host's /sys/fs/bpf, so pins persist between CLI
# invocations.

# ---- identity and paths ---------------------------------------------------

LAB_ID=${LAB_ID:-$$}
LAB_PREFIX="sl-${LAB_ID}"
LAB_NS_CLIENT="${LAB_PREFIX}-client"
LAB_NS_NODE="${LAB_PREFIX}-node"
LAB_IF_CLIENT=c0
LAB_IF_NODE=up0
# Fixed, locally administered MACs so static neighbour entries can be
# written before any traffic (no ARP/ND noise in the counters).
LAB_MAC_CLIENT=02:5c:00:00:00:02
LAB_MAC_NODE=02:5c:00:00:00:01

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_REPO=$(cd "$LAB_DIR/../.." && pwd)
LAB_SLUICE=${LAB_SLUICE:-$LAB_REPO/build/sluice}
LAB_NET_PY="$LAB_DIR/labnet.py"
LAB_BPFFS=/sys/fs/bpf
LAB_PIN_DIR="$LAB_BPFFS/sluice-lab-${LAB_ID}"
# libxdp keeps its multiprog dispatcher state under $LIBXDP_BPFFS/xdp, named
# by ifindex.  Ifindexes are per network namespace (every lab's up0 is likely
# ifindex 2), while bpffs is shared, so parallel labs get a private libxdp
# state directory each (bpffs refuses names with a dot, hence "-libxdp").
LAB_XDP_BPFFS="$LAB_BPFFS/sluice-lab-${LAB_ID}-libxdp"
LAB_TMP="${TMPDIR:-/tmp}/sluice-lab-${LAB_ID}"
LAB_SINK_LOG="$LAB_TMP/sink.log"

# Seconds to wait after bringing links up so that MLD reports for the new
# addresses are over before anything is counted.
LAB_SETTLE=${LAB_SETTLE:-3}

# ---- address plan (documentation ranges only) ---------------------------

LAB_NODE_V4=192.0.2.1
LAB_NODE_V6=2001:db8::1
LAB_CLIENT_V4=192.0.2.2
LAB_CLIENT_V6=2001:db8::2

# Client source addresses, by what the standard lists below make of them.
LAB_BLOCKED_V4=198.51.100.10      # in 198.51.100.0/25 (blocked)
LAB_BLOCKED_V6=2001:db8:bad::10   # in 2001:db8:bad::/48 (blocked)
LAB_ALLOWED_V4=198.51.100.7       # allowlisted /32 inside the blocked /25
LAB_ALLOWED_V6=2001:db8:bad::7    # allowlisted /128 inside the blocked /48
LAB_CLEAN_V4=203.0.113.10         # not listed anywhere
LAB_EDGE_V4=198.51.100.200        # same /24 as the blocked /25, but outside it
LAB_CLEAN_V6=2001:db8:c1ea::10    # not listed anywhere

LAB_SOURCES_V4=("$LAB_BLOCKED_V4" "$LAB_ALLOWED_V4" "$LAB_CLEAN_V4" "$LAB_EDGE_V4")
LAB_SOURCES_V6=("$LAB_BLOCKED_V6" "$LAB_ALLOWED_V6" "$LAB_CLEAN_V6")
# Prefixes the node routes back to the client (replies must find their way).
LAB_ROUTES_V4=(198.51.100.0/24 203.0.113.0/24)
LAB_ROUTES_V6=(2001:db8:bad::/48 2001:db8:c1ea::/48)

# The standard lists that go with the plan (lab_write_lists writes them).
LAB_BLOCKLIST=(198.51.100.0/25 2001:db8:bad::/48)
LAB_ALLOWLIST=(198.51.100.7/32 2001:db8:bad::7/128)

LAB_UDP_PORT=${LAB_UDP_PORT:-9000}
LAB_TCP_PORT=${LAB_TCP_PORT:-9001}

# Background processes started by the lab (killed by lab_down, by PID).
LAB_PIDS=()

# ---- small helpers ----------------------------------------------------------

lab_require_root() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "error: must run as root (network namespaces, XDP and bpffs need it)" >&2
		return 1
	fi
}

# Pins live on bpffs; make sure /sys/fs/bpf is one.
lab_ensure_bpffs() {
	if [[ $(stat -f -c %T "$LAB_BPFFS" 2>/dev/null) != bpf_fs ]]; then
		mkdir -p "$LAB_BPFFS"
		mount -t bpf bpf "$LAB_BPFFS" || {
			echo "error: cannot mount bpffs on $LAB_BPFFS" >&2
			return 1
		}
	fi
}

# The cgroup2 mount (for the hostNetwork workload tests): /sys/fs/cgroup,
# or (hybrid hierarchy) wherever it is; nothing when there is none.
lab_cgroup2_root() {
	if [[ $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]]; then
		echo /sys/fs/cgroup
	else
		awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts
	fi
}

# Run a command in one of the lab namespaces (network namespace only; the
# mount namespace, and so /sys/fs/bpf and /tmp, stay the host's).
lab_in() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}
lab_exec_client() { lab_in "$LAB_NS_CLIENT" "$@"; }
lab_exec_node() { lab_in "$LAB_NS_NODE" "$@"; }

# The sluice CLI, in the node namespace, on the lab's own pin directory.
lab_sluice() {
	lab_exec_node env SLUICE_PIN_DIR="$LAB_PIN_DIR" LIBXDP_BPFFS="$LAB_XDP_BPFFS" \
		"$LAB_SLUICE" --pin-dir "$LAB_PIN_DIR" "$@"
}

# Node address of the same family as the given source address.
lab_node_addr_for() {
	if [[ $1 == *:* ]]; then echo "$LAB_NODE_V6"; else echo "$LAB_NODE_V4"; fi
}

# True if any XDP program (native, generic or offloaded) is on the node
# uplink: `ip link show` then names the mode (xdp, xdpgeneric, ...).
lab_xdp_attached() {
	ip -n "$LAB_NS_NODE" link show dev "$LAB_IF_NODE" 2>/dev/null | grep -q xdp
}

# The XDP mode word `ip link show` prints for the node uplink ("xdp" is
# native/driver mode, "xdpgeneric" is SKB mode), empty if none.
lab_xdp_mode() {
	ip -n "$LAB_NS_NODE" link show dev "$LAB_IF_NODE" 2>/dev/null |
		grep -o -w 'xdp\|xdpgeneric\|xdpdrv\|xdpoffload\|xdpmulti' | head -n 1 || true
}

# Write the standard blocklist and allowlist files into DIR (default:
# $LAB_TMP) as block.txt and allow.txt.
lab_write_lists() {
	local dir=${1:-$LAB_TMP} c
	{
		echo "# lab blocklist (tests/lab/lab.sh)"
		for c in "${LAB_BLOCKLIST[@]}"; do echo "$c"; done
	} >"$dir/block.txt"
	{
		echo "# lab allowlist: punched into the blocked ranges"
		for c in "${LAB_ALLOWLIST[@]}"; do echo "$c"; done
	} >"$dir/allow.txt"
}

# ---- traffic helpers (all sent from the client, to the node) -----------

# lab_ping SRC COUNT [ping options...]: echo requests from SRC to the node
# address of the same family.  Prints ping's output; exit status is ping's.
lab_ping() {
	local src=$1 count=$2
	shift 2
	lab_exec_client ping -n -q -c "$count" -i 0.2 -W 1 -I "$src" "$@" "$(lab_node_addr_for "$src")"
}

# lab_udp_send SRC COUNT [labnet udp-send options...]: exactly COUNT
# datagrams (default 32 payload bytes) from SRC to the node's UDP sink (the
# options come last, so --port P sends to another port of the node).
lab_udp_send() {
	local src=$1 count=$2
	shift 2
	lab_exec_client python3 "$LAB_NET_PY" udp-send --src "$src" \
		--dst "$(lab_node_addr_for "$src")" --port "$LAB_UDP_PORT" --count "$count" "$@"
}

# lab_tcp_connect SRC [TIMEOUT [PORT]]: one TCP connection to the node's
# sink (or PORT); succeeds only if a banner came back.
lab_tcp_connect() {
	local src=$1 timeout=${2:-2} port=${3:-$LAB_TCP_PORT}
	lab_exec_client python3 "$LAB_NET_PY" tcp-connect --src "$src" \
		--dst "$(lab_node_addr_for "$src")" --port "$port" --timeout "$timeout"
}

# lab_bg NS LOGFILE CMD...: run CMD in the background inside namespace NS
# (a lab namespace name), output appended to LOGFILE; lab_down kills it.
# nsenter is started straight from `&` (not through lab_in, which would fork
# a subshell first): nsenter execs CMD, so $! is CMD's own PID.
lab_bg() {
	local ns=$1 logf=$2
	shift 2
	nsenter --net="/run/netns/$ns" -- "$@" >>"$logf" 2>&1 &
	LAB_PIDS+=("$!")
}

# lab_daemon_start CONF LOG [OPTION...]: `sluice run -c CONF` in the node
# namespace on the lab's pin directory and libxdp state, output appended to
# LOG, OPTIONs (e.g. --socket PATH) before `run`; then wait until it answers
# `status` (with the same OPTIONs).  Its PID is in LAB_DAEMON_PID (lab_down
# kills it).  Fails when it exits first or has not answered within 10 s.
LAB_DAEMON_PID=
lab_daemon_start() {
	local conf=$1 logf=$2 k
	shift 2
	lab_bg "$LAB_NS_NODE" "$logf" env SLUICE_PIN_DIR="$LAB_PIN_DIR" LIBXDP_BPFFS="$LAB_XDP_BPFFS" \
		"$LAB_SLUICE" --pin-dir "$LAB_PIN_DIR" "$@" run -c "$conf"
	LAB_DAEMON_PID=${LAB_PIDS[-1]}
	for ((k = 0; k < 100; k++)); do
		kill -0 "$LAB_DAEMON_PID" 2>/dev/null || return 1
		lab_sluice "$@" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# lab_wait_exit PID TENTHS: give PID up to TENTHS tenths of a second to end
# by itself (e.g. `sluice events --count N` once it has N events); 0 if it
# did, 1 if it still runs.
lab_wait_exit() {
	local pid=$1 k
	for ((k = 0; k < $2; k++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# Start the UDP/TCP sink in the node namespace.
lab_sink_start() {
	local ready="$LAB_TMP/sink.ready" i
	rm -f "$ready"
	: >"$LAB_SINK_LOG"
	lab_bg "$LAB_NS_NODE" "$LAB_TMP/sink.err" python3 "$LAB_NET_PY" sink \
		--log "$LAB_SINK_LOG" --ready "$ready" \
		--udp-port "$LAB_UDP_PORT" --tcp-port "$LAB_TCP_PORT" \
		"$LAB_NODE_V4" "$LAB_NODE_V6"
	for ((i = 0; i < 50; i++)); do
		[[ -s $ready ]] && return 0
		sleep 0.1
	done
	echo "error: UDP/TCP sink did not come up in $LAB_NS_NODE" >&2
	return 1
}

# lab_sink_count udp|tcp SRC: datagrams/connections the sink got from SRC.
lab_sink_count() {
	python3 "$LAB_NET_PY" count "$LAB_SINK_LOG" "$1" "$2"
}

# Counters: snapshot to a file, and the per-slot difference of two
# snapshots ("reason/action packets bytes" lines, only slots that moved).
lab_stats_snapshot() { lab_sluice stats --json >"$1"; }
lab_stats_delta() { python3 "$LAB_NET_PY" stats-delta "$1" "$2"; }

# ---- up / down --------------------------------------------------------------

# Sysctls that keep a namespace silent: no router solicitations, no DAD
# probes, no RA processing, and quick MLD retransmits so the initial
# reports are over within the settle time.  Written straight to /proc/sys
# (net entries there belong to the writer's network namespace) so the lab
# does not need procps's sysctl.
_lab_quiet_sysctls() {
	local ns=$1
	# shellcheck disable=SC2016 # $scope expands in the inner bash, on purpose
	lab_in "$ns" bash -c '
		set -e
		for scope in default all; do
			echo 0 >"/proc/sys/net/ipv6/conf/$scope/accept_ra"
			echo 0 >"/proc/sys/net/ipv6/conf/$scope/router_solicitations"
			echo 0 >"/proc/sys/net/ipv6/conf/$scope/accept_dad"
			echo 0 >"/proc/sys/net/ipv6/conf/$scope/dad_transmits"
			echo 100 >"/proc/sys/net/ipv6/conf/$scope/mldv1_unsolicited_report_interval"
			echo 100 >"/proc/sys/net/ipv6/conf/$scope/mldv2_unsolicited_report_interval"
			echo 0 >"/proc/sys/net/ipv4/conf/$scope/arp_notify"
		done'
}

# _lab_reaches NS HOW ADDR...: one ping from namespace NS to each ADDR; the
# first that gets no answer is named ("NS cannot reach ADDR HOW") and fails
# it.  The plumbing checks at the end of each lab_up*: fail early and
# clearly when the lab itself is broken.
_lab_reaches() {
	local ns=$1 how=$2 a
	shift 2
	for a; do
		if ! lab_in "$ns" ping -n -q -c 1 -W 2 "$a" >/dev/null; then
			echo "error: lab $LAB_ID: $ns cannot reach $a $how" >&2
			return 1
		fi
	done
}

# Run one setup step; on failure say which, and fail.  lab_up checks every
# step itself because callers may run it as `if ! lab_up`, where bash
# suspends set -e inside the function.
_lab_do() {
	"$@" || {
		echo "error: lab $LAB_ID: failed: $*" >&2
		return 1
	}
}

# _lab_preflight TOOLS NAMESPACES [HINT]: what every lab_up* checks before it
# makes anything: root, bpffs, each of TOOLS (a space-separated list) on the
# PATH (HINT adds to the "make deps" line), a LAB_ID that fits namespace,
# file and bpffs names (bpffs refuses dots), and none of NAMESPACES there
# yet (another lab with this LAB_ID).
_lab_preflight() {
	local tools=$1 namespaces=$2 hint=${3:-} a ns
	lab_require_root || return 1
	lab_ensure_bpffs || return 1
	for a in $tools; do
		command -v "$a" >/dev/null || {
			echo "error: $a not found (make deps installs what the lab needs$hint)" >&2
			return 1
		}
	done
	if [[ ! $LAB_ID =~ ^[A-Za-z0-9_-]+$ ]]; then
		echo "error: LAB_ID '$LAB_ID' must be letters, digits, _ and - only" >&2
		return 1
	fi
	for ns in $namespaces; do
		if [[ -e /run/netns/$ns ]]; then
			echo "error: lab $LAB_ID already exists (namespace $ns); pick another LAB_ID" >&2
			return 1
		fi
	done
}

# The fabric's xdp_pass object (lab_up_lb, lab_up_cluster), built by make.
_lab_need_xdp_pass() {
	if [[ ! -r $LAB_LB_XDP_PASS ]]; then
		echo "error: $LAB_LB_XDP_PASS missing (run make)" >&2
		return 1
	fi
}

lab_up() {
	local a r
	_lab_preflight "ip nsenter python3 ping" "$LAB_NS_CLIENT $LAB_NS_NODE" || return 1
	# From here on lab_down must undo whatever got done, even half-way.
	LAB_IS_UP=1
	_lab_do mkdir -p "$LAB_TMP" "$LAB_PIN_DIR" "$LAB_XDP_BPFFS" || return 1

	_lab_do ip netns add "$LAB_NS_CLIENT" || return 1
	_lab_do ip netns add "$LAB_NS_NODE" || return 1
	# Set the defaults before the veth exists so it inherits them.
	_lab_do _lab_quiet_sysctls "$LAB_NS_CLIENT" || return 1
	_lab_do _lab_quiet_sysctls "$LAB_NS_NODE" || return 1

	# Both ends are created directly inside their namespaces: nothing of the
	# lab ever lives in the root namespace.
	_lab_do ip link add name "$LAB_IF_CLIENT" netns "$LAB_NS_CLIENT" address "$LAB_MAC_CLIENT" \
		type veth peer name "$LAB_IF_NODE" netns "$LAB_NS_NODE" address "$LAB_MAC_NODE" || return 1

	_lab_do ip -n "$LAB_NS_CLIENT" link set lo up || return 1
	_lab_do ip -n "$LAB_NS_NODE" link set lo up || return 1
	_lab_do ip -n "$LAB_NS_CLIENT" link set "$LAB_IF_CLIENT" up || return 1
	_lab_do ip -n "$LAB_NS_NODE" link set "$LAB_IF_NODE" up || return 1

	# Addresses.  nodad: no DAD probes (and no tentative state to wait for).
	_lab_do ip -n "$LAB_NS_NODE" addr add "$LAB_NODE_V4/24" dev "$LAB_IF_NODE" || return 1
	_lab_do ip -n "$LAB_NS_NODE" addr add "$LAB_NODE_V6/64" dev "$LAB_IF_NODE" nodad || return 1
	_lab_do ip -n "$LAB_NS_CLIENT" addr add "$LAB_CLIENT_V4/24" dev "$LAB_IF_CLIENT" || return 1
	_lab_do ip -n "$LAB_NS_CLIENT" addr add "$LAB_CLIENT_V6/64" dev "$LAB_IF_CLIENT" nodad || return 1
	for a in "${LAB_SOURCES_V4[@]}"; do
		_lab_do ip -n "$LAB_NS_CLIENT" addr add "$a/32" dev "$LAB_IF_CLIENT" || return 1
	done
	for a in "${LAB_SOURCES_V6[@]}"; do
		_lab_do ip -n "$LAB_NS_CLIENT" addr add "$a/128" dev "$LAB_IF_CLIENT" nodad || return 1
	done

	# Permanent neighbour entries both ways: no ARP or ND, ever.
	for a in "$LAB_CLIENT_V4" "$LAB_CLIENT_V6"; do
		_lab_do ip -n "$LAB_NS_NODE" neigh replace "$a" lladdr "$LAB_MAC_CLIENT" \
			dev "$LAB_IF_NODE" nud permanent || return 1
	done
	for a in "$LAB_NODE_V4" "$LAB_NODE_V6"; do
		_lab_do ip -n "$LAB_NS_CLIENT" neigh replace "$a" lladdr "$LAB_MAC_NODE" \
			dev "$LAB_IF_CLIENT" nud permanent || return 1
	done

	# The node reaches the client's extra sources through the client.
	for r in "${LAB_ROUTES_V4[@]}"; do
		_lab_do ip -n "$LAB_NS_NODE" route add "$r" via "$LAB_CLIENT_V4" dev "$LAB_IF_NODE" || return 1
	done
	for r in "${LAB_ROUTES_V6[@]}"; do
		_lab_do ip -n "$LAB_NS_NODE" -6 route add "$r" via "$LAB_CLIENT_V6" dev "$LAB_IF_NODE" || return 1
	done

	_lab_reaches "$LAB_NS_CLIENT" "(the node) over the veth pair" "$LAB_NODE_V4" "$LAB_NODE_V6" || return 1
	# Let the MLD reports for the new addresses die down before anyone
	# counts packets.
	sleep "$LAB_SETTLE"
}

# Remove everything lab_up, lab_up_lb or lab_up_cluster made, the pods
# (lab_pods_up, lab_lb_pods_up) and the cluster's nodes and router first.
# Safe to call more than once, and safe to call after a partial lab_up;
# never fails (it runs from EXIT traps).
lab_down() {
	local pid ns
	lab_pods_down 2>/dev/null
	lab_cluster_down 2>/dev/null
	[[ ${LAB_IS_UP:-0} == 1 ]] || return 0
	LAB_IS_UP=0
	for pid in "${LAB_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${LAB_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	LAB_PIDS=()
	# Anything else still running inside the lab namespaces is ours too (a
	# namespace with live processes would outlive `ip netns del`).
	for ns in $(_lab_namespaces); do
		[[ -e /run/netns/$ns ]] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
	done
	# Detach through the CLI so libxdp tidies its own state; fall back to
	# plain netlink if the CLI is missing or broken.
	if [[ -e /run/netns/$LAB_NS_NODE ]] && lab_xdp_attached; then
		if [[ -x $LAB_SLUICE ]]; then
			timeout 10 nsenter --net="/run/netns/$LAB_NS_NODE" -- \
				env SLUICE_PIN_DIR="$LAB_PIN_DIR" LIBXDP_BPFFS="$LAB_XDP_BPFFS" \
				"$LAB_SLUICE" --pin-dir "$LAB_PIN_DIR" detach "$LAB_IF_NODE" >/dev/null 2>&1 || true
		fi
		ip -n "$LAB_NS_NODE" link set dev "$LAB_IF_NODE" xdp off 2>/dev/null || true
		ip -n "$LAB_NS_NODE" link set dev "$LAB_IF_NODE" xdpgeneric off 2>/dev/null || true
	fi
	for ns in $(_lab_namespaces); do
		if [[ -e /run/netns/$ns ]]; then
			ip netns del "$ns" 2>/dev/null || true
		fi
	done
	# Guard the rm -rf: only ever our own, per-lab paths.
	if [[ $LAB_PIN_DIR == "$LAB_BPFFS"/sluice-lab-* ]]; then
		rm -rf -- "$LAB_PIN_DIR" "$LAB_XDP_BPFFS" 2>/dev/null || true
	fi
	if [[ $LAB_TMP == */sluice-lab-* ]]; then
		rm -rf -- "$LAB_TMP" || true
	fi
	return 0
}

# ==== the load-balancer topology: lab_up_lb ===================================
#
# A second topology in the same conventions (LAB_ID-prefixed namespaces,
# nothing in the root namespace, permanent neighbours, lab_down undoes it).
# Clients and backends share one L2 segment, a Linux bridge in a fabric
# namespace, with the node's uplink:
#
#   "$LAB_NS_CLIENT"  c0  198.51.100.2/24 2001:db8:1::2/64 --- p-c1 --+
#   "$LAB_NS_CLIENT2" c0  198.51.100.3/24 2001:db8:1::3/64 --- p-c2 --+
#                                                                     |
#   netns "$LAB_NS_NODE"                  netns "$LAB_NS_FABRIC"      |
#   up0 198.51.100.1/24 203.0.113.1/24 ---- p-node (xdp_pass) ---- br0
#       2001:db8:1::1/64 2001:db8:20::1/64                            |
#       XDP (sluice), forwarding on                                   |
#                                                                     |
#   "${LAB_LB_BACKEND_NS[i]}" b0  203.0.113.1{1,2,3}/24  --- p-be{1,2,3} --+
#                                 2001:db8:20::1{1,2,3}/64
#
# Clients route the VIP ranges (192.0.2.0/24, 2001:db8:10::/48) via the
# node; backends have their default routes via the node, so their replies
# to client addresses come back through sluice, which reverse-NATs them.
# The VIPs are on no interface: sluice DNATs them in XDP.  Each backend's
# servers (lab_lb_servers_start) answer with the backend's name.
#
# Why p-node runs xdp_pass: veth hands frames that sluice sends with XDP_TX
# out of up0 only to a peer running XDP, and drops them silently otherwise.
#
# Why the senders' checksum offload is off (ethtool -K ... tx off): a
# veth-to-veth skb carries CHECKSUM_PARTIAL (the L4 checksum field holds only
# the pseudo-header sum, to be finished "by the NIC").  An XDP program cannot
# see that state; its incremental rewrite of such a field, and the frame it
# sends with XDP_TX, which becomes a fresh skb with no checksum state, leave
# the receiver a wrong checksum.  Real NICs put finished checksums on the
# wire, so the lab makes the senders finish them in software too.  (TSO/GSO
# go too: a 64 KiB GSO skb is not a frame a wire would carry.)

LAB_NS_FABRIC="${LAB_PREFIX}-fabric"
LAB_NS_CLIENT2="${LAB_PREFIX}-client2"
LAB_LB_BRIDGE=br0
LAB_LB_PORT_NODE=p-node    # fabric side of up0
LAB_LB_IF_BACKEND=b0       # a backend's interface (clients use $LAB_IF_CLIENT)
LAB_LB_XDP_PASS=${LAB_LB_XDP_PASS:-$LAB_REPO/build/xdp_pass.bpf.o}

LAB_LB_NODE_CLIENT_V4=198.51.100.1
LAB_LB_NODE_CLIENT_V6=2001:db8:1::1
LAB_LB_NODE_BACKEND_V4=203.0.113.1
LAB_LB_NODE_BACKEND_V6=2001:db8:20::1

LAB_LB_CLIENT_NS=("$LAB_NS_CLIENT" "$LAB_NS_CLIENT2")
LAB_LB_CLIENT_PORT=(p-c1 p-c2)
LAB_LB_CLIENT_V4=(198.51.100.2 198.51.100.3)
LAB_LB_CLIENT_V6=(2001:db8:1::2 2001:db8:1::3)
LAB_LB_CLIENT_MAC=(02:5c:00:00:01:02 02:5c:00:00:01:03)

LAB_LB_BACKEND_NAME=(be1 be2 be3)
LAB_LB_BACKEND_NS=("${LAB_PREFIX}-be1" "${LAB_PREFIX}-be2" "${LAB_PREFIX}-be3")
LAB_LB_BACKEND_PORT=(p-be1 p-be2 p-be3)
LAB_LB_BACKEND_V4=(203.0.113.11 203.0.113.12 203.0.113.13)
LAB_LB_BACKEND_V6=(2001:db8:20::11 2001:db8:20::12 2001:db8:20::13)
LAB_LB_BACKEND_MAC=(02:5c:00:00:02:11 02:5c:00:00:02:12 02:5c:00:00:02:13)
LAB_LB_WEIGHT_V4=(1 1 2) # the IPv4 web service's weights (IPv6: 1 1 1)

# Services (lab_lb_write_config): VIPs, their ports, and the backend ports.
LAB_LB_VIP_NETS_V4=(192.0.2.0/24)
LAB_LB_VIP_NETS_V6=(2001:db8:10::/48)
LAB_LB_VIP_WEB_V4=192.0.2.10
LAB_LB_VIP_WEB_V6=2001:db8:10::10
LAB_LB_VIP_DNS_V4=192.0.2.53
LAB_LB_VIP_WEB_PORT=80
LAB_LB_VIP_DNS_PORT=53
LAB_LB_HTTP_PORT=8080
LAB_LB_UDP_PORT=5353

# PIDs of each backend's servers (also in LAB_PIDS), by backend index.
LAB_LB_HTTP_PIDS=()
LAB_LB_UDP_PIDS=()

# Every namespace either topology may have made (lab_down removes those
# that exist).
_lab_namespaces() {
	echo "$LAB_NS_CLIENT" "$LAB_NS_NODE" "$LAB_NS_FABRIC" "$LAB_NS_CLIENT2" "${LAB_LB_BACKEND_NS[@]}"
}

lab_exec_client2() { lab_in "$LAB_NS_CLIENT2" "$@"; }
# lab_exec_backend I CMD...: run CMD in backend I (0-based).
lab_exec_backend() {
	local i=$1
	shift
	lab_in "${LAB_LB_BACKEND_NS[$i]}" "$@"
}

# _lab_index_of KEY ARRAY...: the first index (0-based) at which one of the
# named arrays (all of the first one's length) holds KEY.  An empty KEY
# matches nothing: a pod without IPv6 has "" as its address.
_lab_index_of() {
	local key=$1 i name ref
	shift
	[[ -n $key ]] || return 1
	local -n _lab_index_first=$1
	for i in "${!_lab_index_first[@]}"; do
		for name; do
			ref="${name}[$i]"
			if [[ ${!ref} == "$key" ]]; then
				echo "$i"
				return 0
			fi
		done
	done
	return 1
}

# Index (0-based) of a backend by name (be1..), address or namespace.
lab_lb_backend_index() {
	_lab_index_of "$1" LAB_LB_BACKEND_NAME LAB_LB_BACKEND_V4 LAB_LB_BACKEND_V6 LAB_LB_BACKEND_NS
}

# _lab_bridge_port NS IF MAC PORT: a veth from IF (in NS, with MAC) to PORT
# on the fabric bridge, both ends up, MAC pinned to PORT in the bridge's
# forwarding table (no learning, no flooding of unknown unicast).
_lab_bridge_port() {
	local ns=$1 ifname=$2 mac=$3 port=$4
	ip link add name "$ifname" netns "$ns" address "$mac" \
		type veth peer name "$port" netns "$LAB_NS_FABRIC" &&
		ip -n "$LAB_NS_FABRIC" link set "$port" master "$LAB_LB_BRIDGE" &&
		ip -n "$LAB_NS_FABRIC" link set "$port" up &&
		ip -n "$ns" link set lo up &&
		ip -n "$ns" link set "$ifname" up &&
		bridge -n "$LAB_NS_FABRIC" fdb replace "$mac" dev "$port" master static
}

# _lab_sender_offloads NS IF: finished checksums, no GSO (see above).
_lab_sender_offloads() {
	[[ ${LAB_LB_SENDER_OFFLOADS:-off} == on ]] && return 0 # for experiments only
	lab_in "$1" ethtool -K "$2" tx off tso off gso off >/dev/null
}

# _lab_neigh NS IF MAC ADDR...: permanent neighbour entries.
_lab_neigh() {
	local ns=$1 ifname=$2 mac=$3 a
	shift 3
	for a in "$@"; do
		ip -n "$ns" neigh replace "$a" lladdr "$mac" dev "$ifname" nud permanent || return 1
	done
}

# The fabric: a plain L2 switch (the lab's MACs pinned to their ports by
# _lab_bridge_port).  No IPv6 on its ports (no MLD from them), no STP delay,
# no multicast snooping, and none of br_netfilter's iptables calls (the
# module is loaded on this machine and every new namespace starts with them
# on).  Used by the load-balancer lab and the cluster lab.
_lab_fabric_up() {
	# shellcheck disable=SC2016 # $f expands in the inner bash, on purpose
	_lab_do lab_in "$LAB_NS_FABRIC" bash -c '
		set -e
		for scope in default all; do
			echo 1 >"/proc/sys/net/ipv6/conf/$scope/disable_ipv6"
		done
		for f in bridge-nf-call-iptables bridge-nf-call-ip6tables bridge-nf-call-arptables; do
			if [[ -e /proc/sys/net/bridge/$f ]]; then
				echo 0 >"/proc/sys/net/bridge/$f"
			fi
		done' || return 1
	_lab_do ip -n "$LAB_NS_FABRIC" link set lo up || return 1
	_lab_do ip -n "$LAB_NS_FABRIC" link add name "$LAB_LB_BRIDGE" type bridge \
		stp_state 0 forward_delay 0 mcast_snooping 0 || return 1
	_lab_do ip -n "$LAB_NS_FABRIC" link set "$LAB_LB_BRIDGE" up || return 1
}

# _lab_lb_member NS IF MAC PORT V4 V6 NODE_V4 NODE_V6: a client or backend
# of the load-balancer lab on the fabric bridge (IF with MAC, on bridge
# PORT), sending finished checksums, with V4/24 and V6/64, and permanent
# neighbour entries both ways with the node's NODE_V4 and NODE_V6.
_lab_lb_member() {
	local ns=$1 ifc=$2 mac=$3 port=$4 v4=$5 v6=$6 node4=$7 node6=$8
	_lab_do _lab_bridge_port "$ns" "$ifc" "$mac" "$port" || return 1
	_lab_do _lab_sender_offloads "$ns" "$ifc" || return 1
	_lab_do ip -n "$ns" addr add "$v4/24" dev "$ifc" || return 1
	_lab_do ip -n "$ns" addr add "$v6/64" dev "$ifc" nodad || return 1
	_lab_do _lab_neigh "$ns" "$ifc" "$LAB_MAC_NODE" "$node4" "$node6" || return 1
	_lab_do _lab_neigh "$LAB_NS_NODE" "$LAB_IF_NODE" "$mac" "$v4" "$v6" || return 1
}

lab_up_lb() {
	local a i ns
	_lab_preflight "ip bridge ethtool nsenter python3 ping" "$(_lab_namespaces)" || return 1
	_lab_need_xdp_pass || return 1
	LAB_IS_UP=1
	_lab_do mkdir -p "$LAB_TMP" "$LAB_PIN_DIR" "$LAB_XDP_BPFFS" || return 1

	for ns in $(_lab_namespaces); do
		_lab_do ip netns add "$ns" || return 1
		_lab_do _lab_quiet_sysctls "$ns" || return 1
	done

	_lab_fabric_up || return 1

	# The node: uplink on the bridge, a router between clients and backends.
	# shellcheck disable=SC2016
	_lab_do lab_in "$LAB_NS_NODE" bash -c '
		set -e
		echo 1 >/proc/sys/net/ipv4/ip_forward
		for scope in default all; do
			echo 1 >"/proc/sys/net/ipv6/conf/$scope/forwarding"
			echo 0 >"/proc/sys/net/ipv4/conf/$scope/send_redirects"
		done' || return 1
	_lab_do _lab_bridge_port "$LAB_NS_NODE" "$LAB_IF_NODE" "$LAB_MAC_NODE" "$LAB_LB_PORT_NODE" || return 1
	_lab_do ip -n "$LAB_NS_FABRIC" link set dev "$LAB_LB_PORT_NODE" xdp \
		obj "$LAB_LB_XDP_PASS" sec xdp || return 1
	for a in "$LAB_LB_NODE_CLIENT_V4/24" "$LAB_LB_NODE_BACKEND_V4/24"; do
		_lab_do ip -n "$LAB_NS_NODE" addr add "$a" dev "$LAB_IF_NODE" || return 1
	done
	for a in "$LAB_LB_NODE_CLIENT_V6/64" "$LAB_LB_NODE_BACKEND_V6/64"; do
		_lab_do ip -n "$LAB_NS_NODE" addr add "$a" dev "$LAB_IF_NODE" nodad || return 1
	done

	for i in "${!LAB_LB_CLIENT_NS[@]}"; do
		ns=${LAB_LB_CLIENT_NS[$i]}
		_lab_lb_member "$ns" "$LAB_IF_CLIENT" "${LAB_LB_CLIENT_MAC[$i]}" "${LAB_LB_CLIENT_PORT[$i]}" \
			"${LAB_LB_CLIENT_V4[$i]}" "${LAB_LB_CLIENT_V6[$i]}" \
			"$LAB_LB_NODE_CLIENT_V4" "$LAB_LB_NODE_CLIENT_V6" || return 1
		for a in "${LAB_LB_VIP_NETS_V4[@]}"; do
			_lab_do ip -n "$ns" route add "$a" via "$LAB_LB_NODE_CLIENT_V4" dev "$LAB_IF_CLIENT" || return 1
		done
		for a in "${LAB_LB_VIP_NETS_V6[@]}"; do
			_lab_do ip -n "$ns" -6 route add "$a" via "$LAB_LB_NODE_CLIENT_V6" dev "$LAB_IF_CLIENT" || return 1
		done
	done

	for i in "${!LAB_LB_BACKEND_NS[@]}"; do
		ns=${LAB_LB_BACKEND_NS[$i]}
		_lab_lb_member "$ns" "$LAB_LB_IF_BACKEND" "${LAB_LB_BACKEND_MAC[$i]}" "${LAB_LB_BACKEND_PORT[$i]}" \
			"${LAB_LB_BACKEND_V4[$i]}" "${LAB_LB_BACKEND_V6[$i]}" \
			"$LAB_LB_NODE_BACKEND_V4" "$LAB_LB_NODE_BACKEND_V6" || return 1
		_lab_do ip -n "$ns" route add default via "$LAB_LB_NODE_BACKEND_V4" dev "$LAB_LB_IF_BACKEND" || return 1
		_lab_do ip -n "$ns" -6 route add default via "$LAB_LB_NODE_BACKEND_V6" dev "$LAB_LB_IF_BACKEND" || return 1
	done

	for ns in "${LAB_LB_CLIENT_NS[@]}"; do
		_lab_reaches "$ns" "(the node) over the bridge" \
			"$LAB_LB_NODE_CLIENT_V4" "$LAB_LB_NODE_CLIENT_V6" || return 1
	done
	for ns in "${LAB_LB_BACKEND_NS[@]}"; do
		_lab_reaches "$ns" "(the node) over the bridge" \
			"$LAB_LB_NODE_BACKEND_V4" "$LAB_LB_NODE_BACKEND_V6" || return 1
	done
	sleep "$LAB_SETTLE"
}

# Start every backend's HTTP server (port $LAB_LB_HTTP_PORT, IPv4 + IPv6)
# and UDP echo server ($LAB_LB_UDP_PORT); wait until all are bound.  Each
# HTTP server logs one "conn CLIENT PORT" line per connection it accepts to
# $LAB_TMP/http-NAME.log.
lab_lb_servers_start() {
	local i n name ready k
	for i in "${!LAB_LB_BACKEND_NS[@]}"; do
		name=${LAB_LB_BACKEND_NAME[$i]}
		rm -f "$LAB_TMP/http-$name.ready" "$LAB_TMP/udp-$name.ready"
		: >"$LAB_TMP/http-$name.log"
		lab_bg "${LAB_LB_BACKEND_NS[$i]}" "$LAB_TMP/http-$name.err" python3 "$LAB_NET_PY" \
			http-server --name "$name" --port "$LAB_LB_HTTP_PORT" \
			--ready "$LAB_TMP/http-$name.ready" --log "$LAB_TMP/http-$name.log"
		LAB_LB_HTTP_PIDS[i]=${LAB_PIDS[-1]}
		lab_bg "${LAB_LB_BACKEND_NS[$i]}" "$LAB_TMP/udp-$name.err" python3 "$LAB_NET_PY" \
			udp-echo --name "$name" --port "$LAB_LB_UDP_PORT" --ready "$LAB_TMP/udp-$name.ready"
		LAB_LB_UDP_PIDS[i]=${LAB_PIDS[-1]}
	done
	for ((k = 0; k < 100; k++)); do
		n=0
		for name in "${LAB_LB_BACKEND_NAME[@]}"; do
			for ready in "$LAB_TMP/http-$name.ready" "$LAB_TMP/udp-$name.ready"; do
				[[ -s $ready ]] && n=$((n + 1))
			done
		done
		[[ $n == $((2 * ${#LAB_LB_BACKEND_NAME[@]})) ]] && return 0
		sleep 0.1
	done
	echo "error: backend servers did not come up: $(cat "$LAB_TMP"/*.err 2>/dev/null | tail -n 3)" >&2
	return 1
}

# lab_lb_http_kill I / lab_lb_udp_kill I: kill backend I's HTTP / UDP
# server (SIGKILL: no goodbye), and wait until it is gone.
lab_lb_http_kill() { _lab_kill_wait "${LAB_LB_HTTP_PIDS[$1]}"; }
lab_lb_udp_kill() { _lab_kill_wait "${LAB_LB_UDP_PIDS[$1]}"; }
_lab_kill_wait() {
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# lab_lb_write_config FILE [STATE1 STATE2 STATE3]: the lab's sluice config
# (libconfig, like conf/demo.conf): interface up0 and three NAT services,
#   web   TCP 192.0.2.10:80       -> 203.0.113.11-13:8080, weights 1 1 2
#   web6  TCP [2001:db8:10::10]:80 -> [2001:db8:20::11-13]:8080, weights 1 1 1
#   dns   UDP 192.0.2.53:53       -> 203.0.113.11-13:5353
# STATEi (active|draining|down, default active) is backend i's state in
# both HTTP services (one HTTP server per backend serves both families);
# the dns backends stay active.
lab_lb_write_config() {
	local file=$1 i
	shift
	local -a st=("${1:-active}" "${2:-active}" "${3:-active}")
	{
		echo "# sluice lab config (tests/lab/lab.sh lab_lb_write_config)"
		echo "interfaces = ( { name = \"$LAB_IF_NODE\"; allow_generic = false; } );"
		echo "services = ("
		echo "  { name = \"web\"; vip = \"$LAB_LB_VIP_WEB_V4\"; port = $LAB_LB_VIP_WEB_PORT;"
		echo "    protocol = \"tcp\"; mode = \"nat\";"
		echo "    backends = ("
		for i in 0 1 2; do
			echo "      { address = \"${LAB_LB_BACKEND_V4[$i]}\"; port = $LAB_LB_HTTP_PORT;" \
				"weight = ${LAB_LB_WEIGHT_V4[$i]}; state = \"${st[$i]}\"; }$([[ $i == 2 ]] || echo ,)"
		done
		echo "    ); },"
		echo "  { name = \"web6\"; vip = \"$LAB_LB_VIP_WEB_V6\"; port = $LAB_LB_VIP_WEB_PORT;"
		echo "    protocol = \"tcp\"; mode = \"nat\";"
		echo "    backends = ("
		for i in 0 1 2; do
			echo "      { address = \"${LAB_LB_BACKEND_V6[$i]}\"; port = $LAB_LB_HTTP_PORT;" \
				"weight = 1; state = \"${st[$i]}\"; }$([[ $i == 2 ]] || echo ,)"
		done
		echo "    ); },"
		echo "  { name = \"dns\"; vip = \"$LAB_LB_VIP_DNS_V4\"; port = $LAB_LB_VIP_DNS_PORT;"
		echo "    protocol = \"udp\"; mode = \"nat\";"
		echo "    backends = ("
		for i in 0 1 2; do
			echo "      { address = \"${LAB_LB_BACKEND_V4[$i]}\"; port = $LAB_LB_UDP_PORT; }$([[ $i == 2 ]] || echo ,)"
		done
		echo "    ); }"
		echo ");"
	} >"$file"
	chmod 0644 "$file" # sluice refuses configs that group or others can write
}

# ==== pods behind the node: lab_pods_up ===========================================
#
# Added on top of lab_up (same conventions: LAB_ID-prefixed namespaces,
# nothing in the root namespace, static neighbours); lab_down undoes it
# (lab_pods_down alone takes just the pods away):
#   trap lab_down EXIT
#   lab_up && lab_pods_up
# Three pod namespaces hang off the node, each by its own veth pair, the
# way a CNI plugin wires pods:
#
#   netns "$LAB_NS_CLIENT"         netns "$LAB_NS_NODE"          pod netns
#   c0 (lab_up's plan)  <------->  up0 (XDP + TC uplink)
#     + route 198.51.100.144/28         forwarding on
#       and 2001:db8:b0d::/48      vpa0 <----------------------> eth0 pod-a 198.51.100.150
#       via the node                                                    2001:db8:b0d::a
#                                  vpb0 <----------------------> eth0 pod-b 198.51.100.151
#                                                                       2001:db8:b0d::b
#                                  vpc0 <----------------------> eth0 pod-c 198.51.100.152
#                                                                       (IPv4 only)
#
# The node has a /32 (/128) route and a permanent neighbour entry per pod
# address on the pod's veth; the node-side veths have no addresses of
# their own (but an IPv6 link-local one where the pod has IPv6).  Each
# pod's default route points at a link-local gateway (169.254.1.1,
# fe80::1) whose permanent neighbour entry is the node-side veth's MAC, so
# no ARP or ND crosses a pod veth either; the MLD reports of a new IPv6 pod
# (both ends) are over ~0.3 s after lab_pod_add.  Pod addresses are the upper
# half of 198.51.100.0/24 (the node's route for that /24 to the client
# loses to the /32s) and 2001:db8:b0d::/48.
#
# The node-side veth names match the patterns in LAB_POD_VETH_PATTERN,
# which a sluice config's pods[].veth can use; lab_pod_add can re-create a
# pod with another veth name of the same pattern (vpb1, ...).  An IPv6-less
# pod (empty LAB_POD_V6 entry) has IPv6 disabled on both ends of its veth:
# nothing at all crosses it but what a test sends.

LAB_POD_NAME=(pod-a pod-b pod-c)
LAB_POD_NS=("${LAB_PREFIX}-pod-a" "${LAB_PREFIX}-pod-b" "${LAB_PREFIX}-pod-c")
LAB_POD_VETH=(vpa0 vpb0 vpc0)            # node-side names, as lab_pods_up makes them
# shellcheck disable=SC2034 # for the tests' configs (pods[].veth)
LAB_POD_VETH_PATTERN=("vpa*" "vpb*" "vpc*")
LAB_POD_IF=eth0                          # the pod-side name
LAB_POD_V4=(198.51.100.150 198.51.100.151 198.51.100.152)
LAB_POD_V6=(2001:db8:b0d::a 2001:db8:b0d::b "")
LAB_POD_MAC=(02:5c:00:00:03:0a 02:5c:00:00:03:0b 02:5c:00:00:03:0c)      # pod side
LAB_POD_HOST_MAC=(02:5c:00:00:03:1a 02:5c:00:00:03:1b 02:5c:00:00:03:1c) # node side
LAB_POD_GW_V4=169.254.1.1
LAB_POD_GW_V6=fe80::1
# What the client routes to the node for the pods.
LAB_POD_ROUTES_V4=(198.51.100.144/28)
LAB_POD_ROUTES_V6=(2001:db8:b0d::/48)
# The node-side veth each pod has now (lab_pod_add updates it).
LAB_POD_VETH_NOW=("${LAB_POD_VETH[@]}")

# lab_pods_down: kill what runs in the pods and delete their namespaces.
# lab_down calls it first (it is safe to call more than once, and after a
# partial lab_pods_up).
lab_pods_down() {
	local i
	[[ ${LAB_PODS_UP:-0} == 1 ]] || return 0
	LAB_PODS_UP=0
	for i in "${!LAB_POD_NS[@]}"; do
		lab_pod_del "$i" >/dev/null 2>&1 || ip netns del "${LAB_POD_NS[$i]}" 2>/dev/null || true
	done
	return 0
}

# lab_exec_pod I CMD...: run CMD in pod I (0-based).
lab_exec_pod() {
	local i=$1
	shift
	lab_in "${LAB_POD_NS[$i]}" "$@"
}

# Index (0-based) of a pod by name, address or namespace.
lab_pod_index() {
	_lab_index_of "$1" LAB_POD_NAME LAB_POD_V4 LAB_POD_V6 LAB_POD_NS
}

# lab_pod_add I [VETH]: create pod I's namespace and its veth pair, the
# node-side end named VETH (default: the pod's name in LAB_POD_VETH), with
# addresses, routes and neighbours both sides.  Does not wait for MLD to
# settle (a pod with IPv6 sends its reports within ~0.3 s of coming up).
lab_pod_add() {
	local i=$1 veth=${2:-${LAB_POD_VETH[$1]}}
	local ns=${LAB_POD_NS[$i]} v4=${LAB_POD_V4[$i]} v6=${LAB_POD_V6[$i]}
	local mac=${LAB_POD_MAC[$i]} hmac=${LAB_POD_HOST_MAC[$i]}
	_lab_do ip netns add "$ns" || return 1
	_lab_do _lab_quiet_sysctls "$ns" || return 1
	if [[ -z $v6 ]]; then
		# shellcheck disable=SC2016
		_lab_do lab_in "$ns" bash -c '
			for scope in default all; do
				echo 1 >"/proc/sys/net/ipv6/conf/$scope/disable_ipv6"
			done' || return 1
	fi
	_lab_do ip link add name "$veth" netns "$LAB_NS_NODE" address "$hmac" \
		type veth peer name "$LAB_POD_IF" netns "$ns" address "$mac" || return 1
	LAB_POD_VETH_NOW[i]=$veth
	if [[ -z $v6 ]]; then
		_lab_do lab_exec_node bash -c "echo 1 >/proc/sys/net/ipv6/conf/$veth/disable_ipv6" || return 1
	fi
	_lab_do ip -n "$ns" link set lo up || return 1
	_lab_do ip -n "$ns" link set "$LAB_POD_IF" up || return 1
	_lab_do ip -n "$LAB_NS_NODE" link set "$veth" up || return 1
	# The pod: its address, a link-local gateway, the gateway's MAC.
	_lab_do ip -n "$ns" addr add "$v4/32" dev "$LAB_POD_IF" || return 1
	_lab_do ip -n "$ns" neigh replace "$LAB_POD_GW_V4" lladdr "$hmac" dev "$LAB_POD_IF" nud permanent || return 1
	_lab_do ip -n "$ns" route add "$LAB_POD_GW_V4" dev "$LAB_POD_IF" scope link || return 1
	_lab_do ip -n "$ns" route add default via "$LAB_POD_GW_V4" dev "$LAB_POD_IF" || return 1
	# The node: a host route to the pod through its veth.
	_lab_do ip -n "$LAB_NS_NODE" route add "$v4/32" dev "$veth" || return 1
	_lab_do ip -n "$LAB_NS_NODE" neigh replace "$v4" lladdr "$mac" dev "$veth" nud permanent || return 1
	if [[ -n $v6 ]]; then
		_lab_do ip -n "$ns" addr add "$v6/128" dev "$LAB_POD_IF" nodad || return 1
		_lab_do ip -n "$ns" neigh replace "$LAB_POD_GW_V6" lladdr "$hmac" dev "$LAB_POD_IF" nud permanent || return 1
		_lab_do ip -n "$ns" -6 route add default via "$LAB_POD_GW_V6" dev "$LAB_POD_IF" || return 1
		_lab_do ip -n "$LAB_NS_NODE" -6 route add "$v6/128" dev "$veth" || return 1
		_lab_do ip -n "$LAB_NS_NODE" neigh replace "$v6" lladdr "$mac" dev "$veth" nud permanent || return 1
	fi
}

# lab_pod_del I: kill what runs in pod I, delete its namespace and wait
# (up to 5 s) until its node-side veth is gone (the kernel tears a
# namespace down asynchronously).
lab_pod_del() {
	local i=$1 ns=${LAB_POD_NS[$1]} pid k
	[[ -e /run/netns/$ns ]] || return 0
	for pid in $(ip netns pids "$ns" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for pid in $(ip netns pids "$ns" 2>/dev/null); do
		wait "$pid" 2>/dev/null || true # our own children: reap them
	done
	ip netns del "$ns" || return 1
	for ((k = 0; k < 100; k++)); do
		ip -n "$LAB_NS_NODE" link show dev "${LAB_POD_VETH_NOW[$i]}" >/dev/null 2>&1 || return 0
		sleep 0.05
	done
	echo "error: lab $LAB_ID: veth ${LAB_POD_VETH_NOW[$i]} still there 5 s after deleting $ns" >&2
	return 1
}

# lab_pods_up: lab_up's topology (call lab_up first) plus the three pods:
# forwarding on in the node, the client's routes to the pods, every pod
# reachable from the client (checked with a ping each way: run it before
# pod policies that would drop ICMP are in force), MLD over.
lab_pods_up() {
	[[ ${LAB_IS_UP:-0} == 1 ]] || {
		echo "error: lab_pods_up needs lab_up first" >&2
		return 1
	}
	_lab_pods_absent "${!LAB_POD_NS[@]}" || return 1
	LAB_PODS_UP=1
	# shellcheck disable=SC2016
	_lab_do lab_exec_node bash -c '
		set -e
		echo 1 >/proc/sys/net/ipv4/ip_forward
		for scope in default all; do
			echo 1 >"/proc/sys/net/ipv6/conf/$scope/forwarding"
			echo 0 >"/proc/sys/net/ipv4/conf/$scope/send_redirects"
		done' || return 1
	_lab_pods_route "$LAB_NS_CLIENT" "$LAB_NODE_V4" "$LAB_NODE_V6" || return 1
	_lab_pods_add "${!LAB_POD_NS[@]}" || return 1
	sleep "$LAB_SETTLE"
}

# _lab_pods_absent I...: none of pods I... (0-based) has a namespace yet
# (another lab with this LAB_ID).
_lab_pods_absent() {
	local i
	for i; do
		if [[ -e /run/netns/${LAB_POD_NS[$i]} ]]; then
			echo "error: lab $LAB_ID already has pod namespace ${LAB_POD_NS[$i]}; pick another LAB_ID" >&2
			return 1
		fi
	done
}

# _lab_pods_route NS VIA4 VIA6: client namespace NS reaches the pod prefixes
# through the node's VIA4 / VIA6.
_lab_pods_route() {
	local ns=$1 via4=$2 via6=$3 r
	for r in "${LAB_POD_ROUTES_V4[@]}"; do
		_lab_do ip -n "$ns" route add "$r" via "$via4" dev "$LAB_IF_CLIENT" || return 1
	done
	for r in "${LAB_POD_ROUTES_V6[@]}"; do
		_lab_do ip -n "$ns" -6 route add "$r" via "$via6" dev "$LAB_IF_CLIENT" || return 1
	done
}

# _lab_pods_add I...: wire pods I... (lab_pod_add), then check that each is
# reachable from the client.
_lab_pods_add() {
	local i
	for i; do
		lab_pod_add "$i" || return 1
	done
	for i; do
		lab_pod_reachable "$i" || return 1
	done
}

# lab_pod_reachable I: one ping from the client to each of pod I's addresses.
lab_pod_reachable() {
	local i=$1
	# shellcheck disable=SC2086 # a pod may have no IPv6 address
	_lab_reaches "$LAB_NS_CLIENT" "(${LAB_POD_NAME[$i]}) through the node" ${LAB_POD_V4[$i]} ${LAB_POD_V6[$i]}
}

# lab_pod_ifstats I: "rx_packets rx_bytes tx_packets tx_bytes" of pod I's
# own interface (the pod side of its veth: what reached the pod, and what
# the pod sent).
lab_pod_ifstats() {
	# Not /sys/class/net: sysfs shows the namespace it was mounted in.
	ip -n "${LAB_POD_NS[$1]}" -j -s link show dev "$LAB_POD_IF" | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats64"]
print(s["rx"]["packets"], s["rx"]["bytes"], s["tx"]["packets"], s["tx"]["bytes"])'
}

# lab_pods_watch_start CONF: `sluice pods watch -c CONF` in the node
# namespace, in the background (LAB_PODS_WATCH_PID; lab_down stops it),
# output to $LAB_TMP/podwatch.log; waits until it says it is watching.
lab_pods_watch_start() {
	local conf=$1 k
	lab_bg "$LAB_NS_NODE" "$LAB_TMP/podwatch.log" env SLUICE_PIN_DIR="$LAB_PIN_DIR" \
		LIBXDP_BPFFS="$LAB_XDP_BPFFS" "$LAB_SLUICE" --pin-dir "$LAB_PIN_DIR" pods watch -c "$conf"
	LAB_PODS_WATCH_PID=${LAB_PIDS[-1]}
	for ((k = 0; k < 50; k++)); do
		grep -q "watching pod veths" "$LAB_TMP/podwatch.log" 2>/dev/null && return 0
		kill -0 "$LAB_PODS_WATCH_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "error: sluice pods watch did not start: $(tail -n 2 "$LAB_TMP/podwatch.log" 2>/dev/null | tr '\n' ' ')" >&2
	return 1
}

# lab_pods_watch_stop: SIGTERM the watcher and wait for it to exit.
lab_pods_watch_stop() {
	[[ -n ${LAB_PODS_WATCH_PID:-} ]] || return 0
	kill "$LAB_PODS_WATCH_PID" 2>/dev/null || true
	wait "$LAB_PODS_WATCH_PID" 2>/dev/null || true
	LAB_PODS_WATCH_PID=
}

# Pod and TC state of the data path (labnet pod-snapshot / pod-delta): a
# snapshot to FILE, and the sorted "pod/NAME/FIELD N" and "tc/REASON
# PACKETS BYTES" lines of what moved between two snapshots.
lab_pod_snapshot() { python3 "$LAB_NET_PY" pod-snapshot "$LAB_PIN_DIR" --out "$1"; }
lab_pod_delta() { python3 "$LAB_NET_PY" pod-delta "$1" "$2"; }

# lab_ifindex NS DEV: DEV's ifindex in lab namespace NS (empty if none).
lab_ifindex() {
	ip -n "$1" -o link show dev "$2" 2>/dev/null | sed -n 's/^\([0-9]\+\):.*/\1/p'
}

# lab_pod_tc_attached DEV: true if sluice's pod programs are on both
# directions of node-side veth DEV.
# (The kernel keeps 15 characters of a program name: sluice_tc_pod_i/o.)
lab_pod_tc_attached() {
	tc -n "$LAB_NS_NODE" filter show dev "$1" ingress 2>/dev/null | grep -q 'name sluice_tc_pod_i' &&
		tc -n "$LAB_NS_NODE" filter show dev "$1" egress 2>/dev/null | grep -q 'name sluice_tc_pod_o'
}

# lab_sink_start_in NS NAME UDP_PORT TCP_PORT ADDR...: a labnet sink (one
# log line per datagram / connection) in lab namespace NS, logging to
# $LAB_TMP/NAME.log; waits until it is bound.  lab_sink_count_in NAME
# udp|tcp SRC counts what it got from SRC.
lab_sink_start_in() {
	local ns=$1 name=$2 uport=$3 tport=$4 k
	shift 4
	rm -f "$LAB_TMP/$name.ready"
	: >"$LAB_TMP/$name.log"
	lab_bg "$ns" "$LAB_TMP/$name.err" python3 "$LAB_NET_PY" sink --log "$LAB_TMP/$name.log" \
		--ready "$LAB_TMP/$name.ready" --udp-port "$uport" --tcp-port "$tport" "$@"
	for ((k = 0; k < 50; k++)); do
		[[ -s $LAB_TMP/$name.ready ]] && return 0
		sleep 0.1
	done
	echo "error: sink $name did not come up in $ns: $(tail -n 2 "$LAB_TMP/$name.err" 2>/dev/null | tr '\n' ' ')" >&2
	return 1
}
lab_sink_count_in() { python3 "$LAB_NET_PY" count "$LAB_TMP/$1.log" "$2" "$3"; }

# lab_mark_sink_start NAME PORT ADDR...: a labnet mark-sink in the node
# (logs each datagram's skb->mark to $LAB_TMP/NAME.log); waits until bound.
lab_mark_sink_start() {
	local name=$1 port=$2 k
	shift 2
	rm -f "$LAB_TMP/$name.ready"
	: >"$LAB_TMP/$name.log"
	lab_bg "$LAB_NS_NODE" "$LAB_TMP/$name.err" python3 "$LAB_NET_PY" mark-sink --port "$port" \
		--log "$LAB_TMP/$name.log" --ready "$LAB_TMP/$name.ready" "$@"
	for ((k = 0; k < 50; k++)); do
		[[ -s $LAB_TMP/$name.ready ]] && return 0
		sleep 0.1
	done
	echo "error: mark sink did not come up: $(tail -n 2 "$LAB_TMP/$name.err" 2>/dev/null | tr '\n' ' ')" >&2
	return 1
}

# lab_pod_ifindex_lookup IFINDEX: the pod id the data path's pod_ifindex
# map gives IFINDEX (empty if none).  One bpftool call: cheap to poll.
lab_pod_ifindex_lookup() {
	bpftool -j map lookup pinned "$LAB_PIN_DIR/pod_ifindex" key \
		$(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)) 2>/dev/null |
		python3 -c '
import json, sys
try:
    v = json.load(sys.stdin)["value"]
except (ValueError, KeyError, TypeError):  # no such key: null or an error object
    sys.exit(0)
print(int.from_bytes(bytes(int(x, 16) for x in v), "little"))'
}

# lab_pod_id NAME: the pod id the data path gave pod NAME (pod_names).
lab_pod_id() {
	python3 "$LAB_NET_PY" pod-snapshot "$LAB_PIN_DIR" | python3 -c '
import json, sys
names = json.load(sys.stdin)["names"]
print(next((k for k, v in names.items() if v == sys.argv[1]), ""))' "$1"
}

# ==== pods on the load-balancer node: lab_lb_pods_up ============================
#
# lab_lb_pods_up [I...]: pods I (0-based; default: all three) on the node of
# the load-balancer topology (call lab_up_lb first), wired as lab_pod_add
# wires them.  Both clients get routes to the pod prefixes via the node
# (more specific than their on-link 198.51.100.0/24, which holds the pod
# addresses), and every pod is pinged from client 1.  lab_down undoes it.
lab_lb_pods_up() {
	local ns
	local -a idx=("$@")
	[[ ${LAB_IS_UP:-0} == 1 && -e /run/netns/$LAB_NS_FABRIC ]] || {
		echo "error: lab_lb_pods_up needs lab_up_lb first" >&2
		return 1
	}
	((${#idx[@]})) || idx=("${!LAB_POD_NS[@]}")
	_lab_pods_absent "${idx[@]}" || return 1
	LAB_PODS_UP=1
	for ns in "${LAB_LB_CLIENT_NS[@]}"; do
		_lab_pods_route "$ns" "$LAB_LB_NODE_CLIENT_V4" "$LAB_LB_NODE_CLIENT_V6" || return 1
	done
	_lab_pods_add "${idx[@]}" || return 1
}

# lab_lb_client_gen_ready I: let client I (0-based) send frames with
# sluice-gen (BPF_PROG_RUN live frames XDP_TX out of its c0): xdp_pass on
# its bridge port, since a veth delivers XDP_TX frames only to a peer that
# runs XDP.  Frames for the node then need --src-mac
# ${LAB_LB_CLIENT_MAC[I]} --dst-mac $LAB_MAC_NODE.
lab_lb_client_gen_ready() {
	_lab_do ip -n "$LAB_NS_FABRIC" link set dev "${LAB_LB_CLIENT_PORT[$1]}" xdp \
		obj "$LAB_LB_XDP_PASS" sec xdp
}

# ==== the two-node cluster: lab_up_cluster ========================================
#
# Scale-out (docs/scale-out.md): two sluice nodes behind one router that
# spreads flows over them by ECMP, the VIPs announced over BGP by BIRD 2 on
# each node.  Same conventions as above (LAB_ID-prefixed namespaces, nothing
# in the root namespace, permanent neighbours, BIRD's sockets, logs and
# configs under $LAB_TMP).  lab_down undoes it (lab_cluster_down first):
#   trap lab_down EXIT
#
#   "$LAB_NS_CLIENT"            "$LAB_CL_NS_ROUTER" (BIRD, AS 65000)
#   c0 198.51.100.2/24 -------- rc0 198.51.100.1/24
#      + 198.51.100.64-79/32    rf0 203.0.113.1/24 ------------+
#      default via the router   multipath BGP -> kernel (merge |
#                               paths), fib_multipath_hash_    |
#                               policy=1 (L4 hash)             |
#                                                              |  "$LAB_NS_FABRIC"
#   "${LAB_CL_NS_NODE[0]}" up0 203.0.113.2/24 --- p-n1 (xdp_pass) --- br0
#   "${LAB_CL_NS_NODE[1]}" up0 203.0.113.3/24 --- p-n2 (xdp_pass) ---+
#      sluice run (XDP on up0) + BIRD (AS 65001), default via router |
#                                                                    |
#   "${LAB_LB_BACKEND_NS[i]}" b0 203.0.113.1{1,2,3}/24 --- p-be{1,2,3}+
#      HTTP :8080 (lab_lb_servers_start), DSR VIPs on lo + sluice
#      decap on b0 (dsr-ipip); default route: ECMP via both nodes (NAT
#      replies must reach a node that reverse-NATs them); from the VIP
#      range (DSR replies): via the router, straight to the client.
#
# Services (lab_cluster_write_config, identical on both nodes, so both build
# the same Maglev tables):
#   web    nat       TCP 192.0.2.10:80   -> 203.0.113.11-13:8080
#   webdsr dsr-ipip  TCP 192.0.2.20:8080 -> 203.0.113.11-13:8080
#   spare  dsr-ipip  TCP 192.0.2.30:8081 -> 203.0.113.11-13:8081 (for withdraw tests;
#                                                TCP health checks every 300 ms)
# spare has backends of its own (port 8081, lab_cluster_servers_start): the
# data path keeps one state per backend address and port, so `sluice
# backend down` on a shared backend would take it out of every service.
#
# Why NAT replies may go through either node: sluice's reverse NAT is
# stateless (xdp/lb.h lb_reply: the reply's source backend:port is looked
# up in lb_rev, filled from the config, not from the connection table), so
# any node with the same config restores the VIP on any reply.
#
# BGP timers are short (hold 3 s, keepalive 1 s, connect delay/retry 1 s)
# so sessions come up within a few seconds of start.

LAB_CL_NS_ROUTER="${LAB_PREFIX}-router"
LAB_CL_NS_NODE=("${LAB_PREFIX}-n1" "${LAB_PREFIX}-n2")
LAB_CL_NODE_NAME=(n1 n2)
LAB_CL_NODE_PORT=(p-n1 p-n2)
LAB_CL_NODE_V4=(203.0.113.2 203.0.113.3)
LAB_CL_NODE_MAC=(02:5c:00:00:04:11 02:5c:00:00:04:12)
LAB_CL_ROUTER_PORT=p-rtr
LAB_CL_ROUTER_FAB_IF=rf0
LAB_CL_ROUTER_CL_IF=rc0
LAB_CL_ROUTER_FAB_V4=203.0.113.1
LAB_CL_ROUTER_CL_V4=198.51.100.1
LAB_CL_ROUTER_FAB_MAC=02:5c:00:00:04:01
LAB_CL_ROUTER_CL_MAC=02:5c:00:00:04:02
LAB_CL_CLIENT_V4=198.51.100.2
# Extra client sources: many (source address, port) pairs for ECMP to spread.
LAB_CL_CLIENT_SRCS=(198.51.100.64 198.51.100.65 198.51.100.66 198.51.100.67)
LAB_CL_ROUTER_AS=65000
LAB_CL_NODE_AS=65001
LAB_CL_VIP_NET=192.0.2.0/24
LAB_CL_VIP_WEB=192.0.2.10
LAB_CL_VIP_DSR=192.0.2.20
LAB_CL_VIP_SPARE=192.0.2.30
LAB_CL_VIPS=("$LAB_CL_VIP_WEB" "$LAB_CL_VIP_DSR" "$LAB_CL_VIP_SPARE")
LAB_CL_SPARE_PORT=8081
LAB_CL_DRAIN=${LAB_CL_DRAIN:-1s}
LAB_CL_BIRD=${LAB_CL_BIRD:-bird}
# Per node: its directory under $LAB_TMP (config, sockets, logs), pins.
LAB_CL_DIR=("$LAB_TMP/n1" "$LAB_TMP/n2")
LAB_CL_PIN_DIR=("$LAB_BPFFS/sluice-lab-${LAB_ID}-n1" "$LAB_BPFFS/sluice-lab-${LAB_ID}-n2")
LAB_CL_XDP_BPFFS=("$LAB_BPFFS/sluice-lab-${LAB_ID}-n1-libxdp" "$LAB_BPFFS/sluice-lab-${LAB_ID}-n2-libxdp")
LAB_CL_DAEMON_PID=("" "")
LAB_CL_BIRD_PIDS=()

_lab_cl_namespaces() { echo "$LAB_CL_NS_ROUTER" "${LAB_CL_NS_NODE[@]}"; }

# lab_cl_exec_node I CMD...: run CMD in node I (0-based).
lab_cl_exec_node() {
	local i=$1
	shift
	lab_in "${LAB_CL_NS_NODE[$i]}" "$@"
}
lab_cl_exec_router() { lab_in "$LAB_CL_NS_ROUTER" "$@"; }
# lab_cl_xdp_attached I: true if an XDP program is on node I's uplink.
lab_cl_xdp_attached() {
	ip -n "${LAB_CL_NS_NODE[$1]}" link show dev "$LAB_IF_NODE" 2>/dev/null | grep -q xdp
}

# lab_cl_sluice I ARGS...: the sluice CLI of node I (its pins, its socket).
lab_cl_sluice() {
	local i=$1
	shift
	lab_cl_exec_node "$i" env SLUICE_PIN_DIR="${LAB_CL_PIN_DIR[$i]}" \
		LIBXDP_BPFFS="${LAB_CL_XDP_BPFFS[$i]}" SLUICE_SOCKET="${LAB_CL_DIR[$i]}/sluice.sock" \
		"$LAB_SLUICE" --pin-dir "${LAB_CL_PIN_DIR[$i]}" "$@"
}

# lab_cl_birdc NS_NAME CMD...: BIRD's answer over its control socket
# (birdc, for the lab's eyes only; sluice itself never uses birdc).
lab_cl_birdc() {
	local who=$1
	shift
	birdc -s "$LAB_TMP/bird-$who.ctl" "$@"
}

_lab_cl_sysctls() {
	# shellcheck disable=SC2016
	lab_in "$1" bash -c '
		set -e
		echo 1 >/proc/sys/net/ipv4/ip_forward
		echo 1 >/proc/sys/net/ipv4/fib_multipath_hash_policy
		for scope in default all; do
			echo 0 >"/proc/sys/net/ipv4/conf/$scope/send_redirects"
			echo 0 >"/proc/sys/net/ipv4/conf/$scope/rp_filter"
		done'
}

# lab_cluster_write_config I FILE: node I's sluice config.  The services are
# the same on both nodes; only the paths (socket, pins, BIRD) differ.
lab_cluster_write_config() {
	local i=$1 file=$2 svc name vip port mode k
	{
		echo "# sluice cluster lab, node ${LAB_CL_NODE_NAME[$i]} (tests/lab/lab.sh)"
		echo "interfaces = ( { name = \"$LAB_IF_NODE\"; allow_generic = false; } );"
		echo "services = ("
		for svc in "web $LAB_CL_VIP_WEB 80 nat" "webdsr $LAB_CL_VIP_DSR $LAB_LB_HTTP_PORT dsr-ipip" \
			"spare $LAB_CL_VIP_SPARE $LAB_CL_SPARE_PORT dsr-ipip"; do
			read -r name vip port mode <<<"$svc"
			echo "  { name = \"$name\"; vip = \"$vip\"; port = $port; protocol = \"tcp\"; mode = \"$mode\";"
			[[ $name == spare ]] &&
				echo "    health = { type = \"tcp\"; interval = \"300ms\"; timeout = \"200ms\"; rise = 2; fall = 2; };"
			echo "    backends = ("
			for k in 0 1 2; do
				echo "      { address = \"${LAB_LB_BACKEND_V4[$k]}\"; port = $([[ $name == spare ]] && echo "$LAB_CL_SPARE_PORT" || echo "$LAB_LB_HTTP_PORT"); }$([[ $k == 2 ]] || echo ,)"
			done
			echo "    ); }$([[ $name == spare ]] || echo ,)"
		done
		echo ");"
		echo "stats = { listen = \"127.0.0.1:9541\"; };"
		echo "control = { socket = \"${LAB_CL_DIR[$i]}/sluice.sock\"; pin_dir = \"${LAB_CL_PIN_DIR[$i]}\"; };"
		echo "bgp = { include = \"${LAB_CL_DIR[$i]}/bird-vips.conf\"; socket = \"$LAB_TMP/bird-${LAB_CL_NODE_NAME[$i]}.ctl\";"
		echo "        drain = \"$LAB_CL_DRAIN\"; };"
	} >"$file"
	chmod 0644 "$file"
}

# BGP timers for the lab: sessions up within ~2 s, a dead peer noticed in 3 s.
_lab_cl_bgp_timers() {
	echo "	hold time 3; keepalive time 1; connect delay time 1; connect retry time 1;"
	echo "	error wait time 1, 4; startup hold time 3;"
}

# The router's bird.conf (conf/bird/router.conf is the documented version).
_lab_cl_router_bird_conf() {
	local i
	echo "log \"$LAB_TMP/bird-router.log\" all;"
	echo "router id $LAB_CL_ROUTER_FAB_V4;"
	echo "protocol device { scan time 10; }"
	echo "protocol kernel {"
	echo "	ipv4 { import none; export all; };"
	echo "	merge paths on;"
	echo "}"
	echo "template bgp sluice_node {"
	echo "	local $LAB_CL_ROUTER_FAB_V4 as $LAB_CL_ROUTER_AS;"
	_lab_cl_bgp_timers
	echo "	ipv4 { import where net ~ [ $LAB_CL_VIP_NET{32,32} ]; export none; };"
	echo "}"
	for i in "${!LAB_CL_NS_NODE[@]}"; do
		echo "protocol bgp ${LAB_CL_NODE_NAME[$i]} from sluice_node { neighbor ${LAB_CL_NODE_V4[$i]} as $LAB_CL_NODE_AS; }"
	done
}

# Node I's bird.conf (conf/bird/node.conf is the documented version).
_lab_cl_node_bird_conf() {
	local i=$1
	echo "log \"$LAB_TMP/bird-${LAB_CL_NODE_NAME[$i]}.log\" all;"
	echo "router id ${LAB_CL_NODE_V4[$i]};"
	echo "protocol device { scan time 10; }"
	echo "include \"${LAB_CL_DIR[$i]}/bird-vips.conf\";"
	echo "protocol bgp upstream {"
	echo "	local ${LAB_CL_NODE_V4[$i]} as $LAB_CL_NODE_AS;"
	echo "	neighbor $LAB_CL_ROUTER_FAB_V4 as $LAB_CL_ROUTER_AS;"
	_lab_cl_bgp_timers
	echo "	ipv4 { import none; export where proto = \"sluice_vips4\"; };"
	echo "}"
}

# _lab_cl_bird_start WHO NS CONF: BIRD in the foreground (lab_down kills
# it), its control socket $LAB_TMP/bird-WHO.ctl; waits until it answers.
_lab_cl_bird_start() {
	local who=$1 ns=$2 conf=$3 k
	lab_bg "$ns" "$LAB_TMP/bird-$who.out" "$LAB_CL_BIRD" -f -c "$conf" \
		-s "$LAB_TMP/bird-$who.ctl" -P "$LAB_TMP/bird-$who.pid"
	LAB_CL_BIRD_PIDS+=("${LAB_PIDS[-1]}")
	for ((k = 0; k < 50; k++)); do
		lab_cl_birdc "$who" show status >/dev/null 2>&1 && return 0
		kill -0 "${LAB_PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "error: BIRD ($who) did not start: $(tail -n 3 "$LAB_TMP/bird-$who.out" 2>/dev/null | tr '\n' ' ')" >&2
	return 1
}

lab_up_cluster() {
	local a i ns
	_lab_preflight "ip bridge ethtool nsenter python3 ping $LAB_CL_BIRD birdc" \
		"$LAB_NS_CLIENT $LAB_NS_FABRIC ${LAB_LB_BACKEND_NS[*]} $(_lab_cl_namespaces)" \
		"; bird2 for bird" || return 1
	_lab_need_xdp_pass || return 1
	LAB_IS_UP=1
	LAB_CLUSTER_UP=1
	_lab_do mkdir -p "$LAB_TMP" "${LAB_CL_DIR[@]}" "$LAB_PIN_DIR" "$LAB_XDP_BPFFS" \
		"${LAB_CL_PIN_DIR[@]}" "${LAB_CL_XDP_BPFFS[@]}" || return 1
	chmod 0755 "$LAB_TMP" "${LAB_CL_DIR[@]}"
	for ns in "$LAB_NS_CLIENT" "$LAB_NS_FABRIC" "${LAB_LB_BACKEND_NS[@]}" $(_lab_cl_namespaces); do
		_lab_do ip netns add "$ns" || return 1
		_lab_do _lab_quiet_sysctls "$ns" || return 1
	done
	for ns in $(_lab_cl_namespaces) "${LAB_LB_BACKEND_NS[@]}"; do
		_lab_do _lab_cl_sysctls "$ns" || return 1
	done

	_lab_fabric_up || return 1

	# Who is on the fabric: router, nodes, backends (address, MAC, netns, if).
	local -a fab_ns=("$LAB_CL_NS_ROUTER" "${LAB_CL_NS_NODE[@]}" "${LAB_LB_BACKEND_NS[@]}")
	local -a fab_if=("$LAB_CL_ROUTER_FAB_IF" "$LAB_IF_NODE" "$LAB_IF_NODE" "$LAB_LB_IF_BACKEND"
		"$LAB_LB_IF_BACKEND" "$LAB_LB_IF_BACKEND")
	local -a fab_mac=("$LAB_CL_ROUTER_FAB_MAC" "${LAB_CL_NODE_MAC[@]}" "${LAB_LB_BACKEND_MAC[@]}")
	local -a fab_port=("$LAB_CL_ROUTER_PORT" "${LAB_CL_NODE_PORT[@]}" "${LAB_LB_BACKEND_PORT[@]}")
	local -a fab_v4=("$LAB_CL_ROUTER_FAB_V4" "${LAB_CL_NODE_V4[@]}" "${LAB_LB_BACKEND_V4[@]}")
	local j
	for i in "${!fab_ns[@]}"; do
		_lab_do _lab_bridge_port "${fab_ns[$i]}" "${fab_if[$i]}" "${fab_mac[$i]}" "${fab_port[$i]}" || return 1
		_lab_do ip -n "${fab_ns[$i]}" addr add "${fab_v4[$i]}/24" dev "${fab_if[$i]}" || return 1
	done
	for i in "${!fab_ns[@]}"; do
		for j in "${!fab_ns[@]}"; do
			[[ $i == "$j" ]] && continue
			_lab_do _lab_neigh "${fab_ns[$i]}" "${fab_if[$i]}" "${fab_mac[$j]}" "${fab_v4[$j]}" || return 1
		done
	done
	# XDP_TX out of a node's up0 reaches the bridge only with XDP on the peer.
	for i in "${!LAB_CL_NS_NODE[@]}"; do
		_lab_do ip -n "$LAB_NS_FABRIC" link set dev "${LAB_CL_NODE_PORT[$i]}" xdp \
			obj "$LAB_LB_XDP_PASS" sec xdp || return 1
		_lab_do ip -n "${LAB_CL_NS_NODE[$i]}" route add default via "$LAB_CL_ROUTER_FAB_V4" \
			dev "$LAB_IF_NODE" || return 1
	done
	for i in "${!LAB_LB_BACKEND_NS[@]}"; do
		ns=${LAB_LB_BACKEND_NS[$i]}
		_lab_do _lab_sender_offloads "$ns" "$LAB_LB_IF_BACKEND" || return 1
		_lab_do ip -n "$ns" route add default nexthop via "${LAB_CL_NODE_V4[0]}" dev "$LAB_LB_IF_BACKEND" \
			nexthop via "${LAB_CL_NODE_V4[1]}" dev "$LAB_LB_IF_BACKEND" || return 1
		# DSR: the VIPs are local, their replies go straight to the router.
		_lab_do ip -n "$ns" addr add "$LAB_CL_VIP_DSR/32" dev lo || return 1
		_lab_do ip -n "$ns" addr add "$LAB_CL_VIP_SPARE/32" dev lo || return 1
		_lab_do ip -n "$ns" route add default via "$LAB_CL_ROUTER_FAB_V4" dev "$LAB_LB_IF_BACKEND" table 100 || return 1
		_lab_do ip -n "$ns" rule add from "$LAB_CL_VIP_NET" lookup 100 priority 100 || return 1
		_lab_do lab_in "$ns" "$LAB_SLUICE" decap attach "$LAB_LB_IF_BACKEND" >/dev/null || return 1
	done

	# Client <-> router: one veth, no bridge.
	_lab_do ip link add name "$LAB_IF_CLIENT" netns "$LAB_NS_CLIENT" address "$LAB_MAC_CLIENT" \
		type veth peer name "$LAB_CL_ROUTER_CL_IF" netns "$LAB_CL_NS_ROUTER" \
		address "$LAB_CL_ROUTER_CL_MAC" || return 1
	_lab_do ip -n "$LAB_NS_CLIENT" link set lo up || return 1
	_lab_do ip -n "$LAB_NS_CLIENT" link set "$LAB_IF_CLIENT" up || return 1
	_lab_do ip -n "$LAB_CL_NS_ROUTER" link set "$LAB_CL_ROUTER_CL_IF" up || return 1
	_lab_do _lab_sender_offloads "$LAB_NS_CLIENT" "$LAB_IF_CLIENT" || return 1
	_lab_do ip -n "$LAB_NS_CLIENT" addr add "$LAB_CL_CLIENT_V4/24" dev "$LAB_IF_CLIENT" || return 1
	for a in "${LAB_CL_CLIENT_SRCS[@]}"; do
		_lab_do ip -n "$LAB_NS_CLIENT" addr add "$a/32" dev "$LAB_IF_CLIENT" || return 1
	done
	_lab_do ip -n "$LAB_CL_NS_ROUTER" addr add "$LAB_CL_ROUTER_CL_V4/24" dev "$LAB_CL_ROUTER_CL_IF" || return 1
	_lab_do ip -n "$LAB_NS_CLIENT" route add default via "$LAB_CL_ROUTER_CL_V4" dev "$LAB_IF_CLIENT" || return 1
	_lab_do _lab_neigh "$LAB_NS_CLIENT" "$LAB_IF_CLIENT" "$LAB_CL_ROUTER_CL_MAC" "$LAB_CL_ROUTER_CL_V4" || return 1
	_lab_do _lab_neigh "$LAB_CL_NS_ROUTER" "$LAB_CL_ROUTER_CL_IF" "$LAB_MAC_CLIENT" \
		"$LAB_CL_CLIENT_V4" "${LAB_CL_CLIENT_SRCS[@]}" || return 1

	# Plumbing check: client -> router -> every fabric member.
	_lab_reaches "$LAB_CL_NS_ROUTER" "over the fabric" "${LAB_CL_NODE_V4[@]}" "${LAB_LB_BACKEND_V4[@]}" || return 1
	_lab_reaches "$LAB_NS_CLIENT" "(the router)" "$LAB_CL_ROUTER_FAB_V4" || return 1

	# BIRD: the router, then each node (with an empty VIP set until its
	# sluice daemon writes one).
	_lab_cl_router_bird_conf >"$LAB_TMP/bird-router.conf"
	_lab_do _lab_cl_bird_start router "$LAB_CL_NS_ROUTER" "$LAB_TMP/bird-router.conf" || return 1
	for i in "${!LAB_CL_NS_NODE[@]}"; do
		printf 'protocol static sluice_vips4 {\n\tipv4;\n}\nprotocol static sluice_vips6 {\n\tipv6;\n}\n' \
			>"${LAB_CL_DIR[$i]}/bird-vips.conf"
		_lab_cl_node_bird_conf "$i" >"${LAB_CL_DIR[$i]}/bird.conf"
		_lab_do _lab_cl_bird_start "${LAB_CL_NODE_NAME[$i]}" "${LAB_CL_NS_NODE[$i]}" \
			"${LAB_CL_DIR[$i]}/bird.conf" || return 1
	done
}

# lab_cluster_servers_start: every backend's servers (lab_lb_servers_start)
# plus an HTTP server on $LAB_CL_SPARE_PORT for the spare service.
lab_cluster_servers_start() {
	lab_lb_servers_start || return 1
	lab_cluster_spare_start
}

# lab_cluster_spare_start / lab_cluster_spare_kill: the spare service's
# servers on every backend (started and waited for / SIGKILLed and reaped).
LAB_CL_SPARE_PIDS=()
lab_cluster_spare_kill() {
	local pid
	for pid in "${LAB_CL_SPARE_PIDS[@]}"; do
		_lab_kill_wait "$pid"
	done
	LAB_CL_SPARE_PIDS=()
}
lab_cluster_spare_start() {
	local i name k n
	for i in "${!LAB_LB_BACKEND_NS[@]}"; do
		name=${LAB_LB_BACKEND_NAME[$i]}
		rm -f "$LAB_TMP/spare-$name.ready"
		lab_bg "${LAB_LB_BACKEND_NS[$i]}" "$LAB_TMP/spare-$name.err" python3 "$LAB_NET_PY" \
			http-server --name "$name" --port "$LAB_CL_SPARE_PORT" --ready "$LAB_TMP/spare-$name.ready"
		LAB_CL_SPARE_PIDS+=("${LAB_PIDS[-1]}")
	done
	for ((k = 0; k < 100; k++)); do
		n=0
		for name in "${LAB_LB_BACKEND_NAME[@]}"; do
			[[ -s $LAB_TMP/spare-$name.ready ]] && n=$((n + 1))
		done
		[[ $n == "${#LAB_LB_BACKEND_NAME[@]}" ]] && return 0
		sleep 0.1
	done
	echo "error: spare servers did not come up" >&2
	return 1
}

# lab_cluster_node_start I: write node I's config and start `sluice run` in
# it (output to ${LAB_CL_DIR[I]}/sluice.log); waits until it answers.
lab_cluster_node_start() {
	local i=$1 k conf=${LAB_CL_DIR[$1]}/sluice.conf
	lab_cluster_write_config "$i" "$conf"
	lab_bg "${LAB_CL_NS_NODE[$i]}" "${LAB_CL_DIR[$i]}/sluice.log" env \
		SLUICE_PIN_DIR="${LAB_CL_PIN_DIR[$i]}" LIBXDP_BPFFS="${LAB_CL_XDP_BPFFS[$i]}" \
		"$LAB_SLUICE" --pin-dir "${LAB_CL_PIN_DIR[$i]}" run -c "$conf"
	LAB_CL_DAEMON_PID[i]=${LAB_PIDS[-1]}
	for ((k = 0; k < 100; k++)); do
		kill -0 "${LAB_CL_DAEMON_PID[$i]}" 2>/dev/null || break
		lab_cl_sluice "$i" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "error: sluice on ${LAB_CL_NODE_NAME[$i]} did not start: $(tail -n 3 "${LAB_CL_DIR[$i]}/sluice.log" | tr '\n' ' ')" >&2
	return 1
}

# lab_cluster_node_stop I: `sluice stop` on node I (withdraw, drain, exit);
# returns when the daemon is gone.
lab_cluster_node_stop() {
	local i=$1
	lab_cl_sluice "$i" stop >/dev/null || return 1
	wait "${LAB_CL_DAEMON_PID[$i]}" 2>/dev/null || true
	LAB_CL_DAEMON_PID[i]=
}

# lab_cluster_nexthops VIP: the router's next hops for VIP, sorted, one
# line ("" when it has no route).
lab_cluster_nexthops() {
	ip -n "$LAB_CL_NS_ROUTER" -j route show "$1/32" | python3 -c '
import json, sys
hops = []
for r in json.load(sys.stdin):
    if "gateway" in r:
        hops.append(r["gateway"])
    for n in r.get("nexthops", []):
        hops.append(n["gateway"])
print(" ".join(sorted(hops)))'
}

# lab_cluster_wait_nexthops VIP WANT SECS: wait until the router's next
# hops for VIP are exactly WANT (a sorted, space-separated list; "" for no
# route); prints how long it took (seconds) or fails.
lab_cluster_wait_nexthops() {
	local vip=$1 want=$2 secs=$3 t0 now
	t0=$(date +%s.%N)
	while :; do
		if [[ $(lab_cluster_nexthops "$vip") == "$want" ]]; then
			now=$(date +%s.%N)
			python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$now"
			return 0
		fi
		now=$(date +%s.%N)
		python3 -c "import sys; sys.exit(0 if float(sys.argv[2]) - float(sys.argv[1]) < float(sys.argv[3]) else 1)" \
			"$t0" "$now" "$secs" || return 1
		sleep 0.2
	done
}

# lab_cluster_via SRC SPORT VIP DPORT: the node (n1/n2) the router's ECMP
# hash sends this TCP flow to (ip route get with the flow's L4 fields).
lab_cluster_via() {
	local gw i
	gw=$(ip -n "$LAB_CL_NS_ROUTER" -j route get "$3" from "$1" iif "$LAB_CL_ROUTER_CL_IF" \
		ipproto tcp sport "$2" dport "$4" 2>/dev/null |
		python3 -c 'import json,sys; r=json.load(sys.stdin); print(r[0].get("gateway", ""))')
	for i in "${!LAB_CL_NODE_V4[@]}"; do
		[[ $gw == "${LAB_CL_NODE_V4[$i]}" ]] && echo "${LAB_CL_NODE_NAME[$i]}" && return 0
	done
	echo "none"
}

# lab_cluster_down: stop the daemons and BIRDs, detach XDP, delete the
# router and node namespaces and the nodes' pins.  lab_down calls it before
# it removes the client, fabric and backends; safe to call twice.
lab_cluster_down() {
	local i pid
	[[ ${LAB_CLUSTER_UP:-0} == 1 ]] || return 0
	LAB_CLUSTER_UP=0
	# Daemons first (SIGTERM: they withdraw through BIRD), then the BIRDs.
	for pid in "${LAB_CL_DAEMON_PID[@]}" - "${LAB_CL_BIRD_PIDS[@]}"; do
		if [[ $pid == - ]]; then
			wait "${LAB_CL_DAEMON_PID[@]}" 2>/dev/null || true
			continue
		fi
		[[ -n $pid ]] && kill "$pid" 2>/dev/null || true
	done
	wait "${LAB_CL_BIRD_PIDS[@]}" 2>/dev/null || true
	LAB_CL_DAEMON_PID=("" "")
	LAB_CL_BIRD_PIDS=()
	for i in "${!LAB_CL_NS_NODE[@]}"; do
		[[ -e /run/netns/${LAB_CL_NS_NODE[$i]} ]] || continue
		for pid in $(ip netns pids "${LAB_CL_NS_NODE[$i]}" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		if [[ -x $LAB_SLUICE ]]; then
			timeout 10 nsenter --net="/run/netns/${LAB_CL_NS_NODE[$i]}" -- \
				env SLUICE_PIN_DIR="${LAB_CL_PIN_DIR[$i]}" LIBXDP_BPFFS="${LAB_CL_XDP_BPFFS[$i]}" \
				"$LAB_SLUICE" --pin-dir "${LAB_CL_PIN_DIR[$i]}" detach "$LAB_IF_NODE" >/dev/null 2>&1 || true
		fi
		ip -n "${LAB_CL_NS_NODE[$i]}" link set dev "$LAB_IF_NODE" xdp off 2>/dev/null || true
	done
	for pid in $(ip netns pids "$LAB_CL_NS_ROUTER" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for ns in $(_lab_cl_namespaces); do
		[[ -e /run/netns/$ns ]] && ip netns del "$ns" 2>/dev/null
	done
	for i in "${!LAB_CL_PIN_DIR[@]}"; do
		if [[ ${LAB_CL_PIN_DIR[$i]} == "$LAB_BPFFS"/sluice-lab-* ]]; then
			rm -rf -- "${LAB_CL_PIN_DIR[$i]}" "${LAB_CL_XDP_BPFFS[$i]}" 2>/dev/null || true
		fi
	done
	return 0
}

# lab_cluster_flows: every TCP flow in each node's connection table (the
# pinned lb_conns map, so also a stopped daemon's node), one line each:
# "NODE CLIENT SPORT VIP DPORT".  What the nodes saw, not what ECMP should do.
lab_cluster_flows() {
	local i
	for i in "${!LAB_CL_NS_NODE[@]}"; do
		bpftool -j map dump pinned "${LAB_CL_PIN_DIR[$i]}/lb_conns" 2>/dev/null |
			python3 -c '
import ipaddress, json, sys
node = sys.argv[1]
try:
    entries = json.load(sys.stdin)
except ValueError:
    sys.exit()
for e in entries:
    k = bytes(int(x, 16) for x in e["key"])
    if k[36] != 6 or k[37] != 4:  # TCP, IPv4
        continue
    src = ipaddress.IPv4Address(k[0:4]); dst = ipaddress.IPv4Address(k[16:20])
    print(node, src, int.from_bytes(k[32:34], "big"), dst, int.from_bytes(k[34:36], "big"))
' "${LAB_CL_NODE_NAME[$i]}"
	done
}
