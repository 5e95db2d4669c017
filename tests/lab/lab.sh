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
# If the lab ever grows a bridge or VLANs, mind this machine's pitfalls:
# br_netfilter is loaded and new namespaces inherit it (set
# net.bridge.bridge-nf-call-{iptables,ip6tables,arptables}=0 in the bridge's
# namespace), and veth TX VLAN offload must be off (ethtool -K DEV txvlan
# off) or XDP sees untagged frames.  A veth that receives XDP_TX frames needs
# an XDP program on the peer.
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
# datagrams (default 32 payload bytes) from SRC to the node's UDP sink.
lab_udp_send() {
	local src=$1 count=$2
	shift 2
	lab_exec_client python3 "$LAB_NET_PY" udp-send --src "$src" \
		--dst "$(lab_node_addr_for "$src")" --port "$LAB_UDP_PORT" --count "$count" "$@"
}

# lab_tcp_connect SRC [TIMEOUT]: one TCP connection to the node's sink;
# succeeds only if the sink's banner came back.
lab_tcp_connect() {
	local src=$1 timeout=${2:-2}
	lab_exec_client python3 "$LAB_NET_PY" tcp-connect --src "$src" \
		--dst "$(lab_node_addr_for "$src")" --port "$LAB_TCP_PORT" --timeout "$timeout"
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

# Run one setup step; on failure say which, and fail.  lab_up checks every
# step itself because callers may run it as `if ! lab_up`, where bash
# suspends set -e inside the function.
_lab_do() {
	"$@" || {
		echo "error: lab $LAB_ID: failed: $*" >&2
		return 1
	}
}

lab_up() {
	local a r
	lab_require_root || return 1
	lab_ensure_bpffs || return 1
	for a in ip nsenter python3 ping; do
		command -v "$a" >/dev/null || {
			echo "error: $a not found (make deps installs what the lab needs)" >&2
			return 1
		}
	done
	# LAB_ID ends up in namespace, file and bpffs names (bpffs refuses dots).
	if [[ ! $LAB_ID =~ ^[A-Za-z0-9_-]+$ ]]; then
		echo "error: LAB_ID '$LAB_ID' must be letters, digits, _ and - only" >&2
		return 1
	fi
	if [[ -e /run/netns/$LAB_NS_CLIENT || -e /run/netns/$LAB_NS_NODE ]]; then
		echo "error: lab $LAB_ID already exists (namespaces $LAB_PREFIX-*); pick another LAB_ID" >&2
		return 1
	fi
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

	# Fail early and clearly if the plumbing itself is broken.
	if ! lab_exec_client ping -n -q -c 1 -W 2 "$LAB_NODE_V4" >/dev/null ||
		! lab_exec_client ping -n -q -c 1 -W 2 "$LAB_NODE_V6" >/dev/null; then
		echo "error: lab $LAB_ID: client cannot reach node over the veth pair" >&2
		return 1
	fi
	# Let the MLD reports for the new addresses die down before anyone
	# counts packets.
	sleep "$LAB_SETTLE"
}

# Remove everything lab_up made.  Safe to call more than once, and safe to
# call after a partial lab_up; never fails (it runs from EXIT traps).
lab_down() {
	local pid ns
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
	for ns in "$LAB_NS_CLIENT" "$LAB_NS_NODE"; do
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
	for ns in "$LAB_NS_CLIENT" "$LAB_NS_NODE"; do
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
