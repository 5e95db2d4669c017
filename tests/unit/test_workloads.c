// SPDX-License-Identifier: GPL-2.0
/*
 * test_workloads.c - per-workload accounting: the uplink egress program
 * (sluice_tc_cgroup) counts under the cgroup of the sending socket (the
 * test moves itself into a fresh cgroup v2 and runs the program there: the
 * test run's socket belongs to that cgroup), a full table spills into the
 * overflow counter; names from cgroup paths; and the daemon's reads: a
 * cgroup that is gone is reported once under its last name, then removed
 * (on a fake cgroup tree, with a private map).  hostNetwork workloads: cgroup
 * patterns as runtimes name cgroups, and the uplink program finding a
 * packet's workload by the cgroup of the socket that will receive it.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "hostwl.h"
#include "model.h"
#include "pods.h"
#include "policy.skel.h"
#include "workloads.h"

/* ---- names ---------------------------------------------------------------- */

static int name_is(const char *rel, const char *want)
{
	char got[WL_NAME_MAX];

	workload_name(rel, NULL, got, sizeof(got));
	if (strcmp(got, want)) {
		fprintf(stderr, "    %s -> '%s', want '%s'\n", rel, got, want);
		return 0;
	}
	return 1;
}

TEST(workload_names_from_cgroup_paths)
{
	CHECK(name_is("/", "/"));
	CHECK(name_is(
	    "/system.slice/docker-4f1c2a9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3."
	    "scope",
	    "docker:4f1c2a9b8e7d"));
	CHECK(name_is("/docker/4f1c2a9b8e7d6c5b4a39281706f5e4d3", "docker:4f1c2a9b8e7d"));
	CHECK(name_is("/system.slice/cri-containerd-0123456789abcdef0123.scope",
		      "containerd:0123456789ab"));
	/* a container in a pod is the pod's: they share its network */
	CHECK(name_is("/kubepods.slice/kubepods-burstable.slice/"
		      "kubepods-burstable-pod1f2e3d4c_5b6a_7980_a1b2_c3d4e5f60718.slice/"
		      "cri-containerd-0123456789abcdef.scope",
		      "pod:1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718"));
	CHECK(name_is("/kubepods/besteffort/pod1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718/abcdef",
		      "pod:1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718"));
	CHECK(name_is("/kubepods.slice/kubepods-pod0a1b2c3d_0000_1111_2222_333344445555.slice",
		      "pod:0a1b2c3d-0000-1111-2222-333344445555"));
	CHECK(name_is("/machine.slice/libpod-0123456789abcdef.scope", "podman:0123456789ab"));
	CHECK(name_is("/system.slice/crio-fedcba9876543210.scope", "crio:fedcba987654"));
	CHECK(name_is("/system.slice/nginx.service", "nginx.service"));
	CHECK(name_is("/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope",
		      "user@1000.service"));
	CHECK(name_is("/system.slice/docker.service", "docker.service"));
	CHECK(name_is("/sluice-lab-42-worker", "/sluice-lab-42-worker"));
	CHECK(name_is("/podcast/x", "/podcast/x")); /* "pod..." only counts under kubepods */
	return 0;
}

TEST(workload_name_of_a_configured_pod_cgroup_wins)
{
	struct pod_cfg pods[1];
	struct sluice_model m;
	char got[WL_NAME_MAX];

	memset(&m, 0, sizeof(m));
	memset(pods, 0, sizeof(pods));
	snprintf(pods[0].name, sizeof(pods[0].name), "agent");
	snprintf(pods[0].cgroup, sizeof(pods[0].cgroup), "/kubepods/pod-agent/");
	m.pods = pods;
	m.n_pods = 1;
	workload_name("/kubepods/pod-agent", &m, got, sizeof(got));
	CHECK(!strcmp(got, "pod:agent"));
	workload_name("/kubepods/pod-agent/c1", &m, got, sizeof(got));
	CHECK(!strcmp(got, "pod:agent"));
	workload_name("/kubepods/pod-agents", &m, got, sizeof(got));
	CHECK(strcmp(got, "pod:agent"));
	return 0;
}

/* ---- the BPF program ------------------------------------------------------------ */


static int run_cgroup_prog(size_t len, unsigned repeat)
{
	struct pkt_spec s = spec_udp4("192.0.2.1", "198.51.100.9");
	struct __sk_buff ctx = {0};
	uint8_t frame[FRAME_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);

	s.payload = (int)len - 42;
	opts.data_size_in = (__u32)build_frame(&s, frame, NULL);
	if (opts.data_size_in != len || !xdp_tc_obj())
		return -1;
	if (bpf_prog_test_run_opts(bpf_program__fd(xdp_tc_obj()->progs.sluice_tc_cgroup), &opts))
		return -1;
	return opts.retval == TC_ACT_OK ? 0 : -1;
}

static int counter_of(int fd, const void *key, uint64_t *packets, uint64_t *bytes)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sluice_counter v[ncpu];

	*packets = *bytes = 0;
	if (bpf_map_lookup_elem(fd, key, v))
		return -1;
	for (int c = 0; c < ncpu; c++) {
		*packets += v[c].packets;
		*bytes += v[c].bytes;
	}
	return 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) < 0)
		rc = -1;
	close(fd);
	return rc;
}

/* Our own cgroup v2 path (from /proc/self/cgroup's "0::" line). */
static int own_cgroup(char *buf, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int rc = -1;

	while (f && rc && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(buf, len, "%s", line + 3);
			rc = 0;
		}
	if (f)
		fclose(f);
	return rc;
}

XDP_TEST(cgroup_program_counts_under_the_sending_cgroup)
{
	char root[PATH_MAX], mine[PATH_MAX], cg[PATH_MAX + 64], procs[2 * PATH_MAX + 96], pid[32];
	struct stat st;
	uint64_t packets, bytes, id;
	int fd = xdp_map_fd("cgroup_stats"), rc;

	CHECK(fd >= 0);
	CHECK(workloads_find_root(root, sizeof(root)) == 0);
	CHECK(own_cgroup(mine, sizeof(mine)) == 0);
	snprintf(cg, sizeof(cg), "%s/sluice-unit-%d", root, (int)getpid());
	CHECK(mkdir(cg, 0755) == 0 || errno == EEXIST);
	CHECK(stat(cg, &st) == 0);
	id = (uint64_t)st.st_ino;
	bpf_map_delete_elem(fd, &id);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	CHECK(write_file(procs, pid) == 0);
	rc = run_cgroup_prog(100, 3);
	/* back where we were, whatever happened, before any CHECK can return */
	snprintf(procs, sizeof(procs), "%s%s/cgroup.procs", root, strcmp(mine, "/") ? mine : "");
	CHECK(write_file(procs, pid) == 0);
	rmdir(cg);
	CHECK(rc == 0);
	CHECK(counter_of(fd, &id, &packets, &bytes) == 0);
	CHECK_EQ(packets, 3);
	CHECK_EQ(bytes, 300);
	bpf_map_delete_elem(fd, &id);
	return 0;
}

XDP_TEST(cgroup_program_spills_into_overflow_when_the_table_is_full)
{
	int ncpu = libbpf_num_possible_cpus(), fd = xdp_map_fd("cgroup_stats");
	int ofd = xdp_map_fd("cgroup_overflow");
	struct sluice_counter zero[ncpu];
	uint64_t packets, bytes, p0, b0, k, next;
	uint32_t z = 0;
	int filled = 0;

	CHECK(fd >= 0 && ofd >= 0);
	memset(zero, 0, sizeof(zero));
	/* empty the table, then fill it with ids no cgroup has */
	while (bpf_map_get_next_key(fd, NULL, &next) == 0)
		bpf_map_delete_elem(fd, &next);
	for (k = 1ull << 40; filled < SLUICE_MAX_CGROUPS; k++, filled++)
		CHECK(bpf_map_update_elem(fd, &k, zero, BPF_NOEXIST) == 0);
	CHECK(counter_of(ofd, &z, &p0, &b0) == 0);
	CHECK(run_cgroup_prog(60, 5) == 0);
	CHECK(counter_of(ofd, &z, &packets, &bytes) == 0);
	CHECK_EQ(packets - p0, 5);
	CHECK_EQ(bytes - b0, 300);
	while (bpf_map_get_next_key(fd, NULL, &next) == 0)
		bpf_map_delete_elem(fd, &next);
	CHECK(run_cgroup_prog(60, 1) == 0); /* room again: back in the table */
	CHECK(counter_of(ofd, &z, &packets, &bytes) == 0);
	CHECK_EQ(packets - p0, 5);
	CHECK(bpf_map_get_next_key(fd, NULL, &next) == 0);
	bpf_map_delete_elem(fd, &next);
	return 0;
}

/* ---- the daemon's reads, on a fake tree -------------------------------------------- */

static int put(int fd, uint64_t id, uint64_t packets, uint64_t bytes)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sluice_counter v[ncpu];

	memset(v, 0, sizeof(v));
	v[0].packets = packets; /* split over two CPUs: the read sums them */
	v[0].bytes = bytes / 2;
	v[ncpu - 1].bytes += bytes - bytes / 2;
	return bpf_map_update_elem(fd, &id, v, BPF_ANY);
}

static uint64_t ino_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (uint64_t)st.st_ino;
}

static const struct wl_row *row(const struct wl_row *rows, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].name, name))
			return &rows[i];
	return NULL;
}

TEST(workloads_gone_cgroup_reported_once_under_its_last_name)
{
	char dir[] = "/tmp/sluice-wl-XXXXXX", p[4][PATH_MAX];
	LIBBPF_OPTS(bpf_map_create_opts, mo);
	struct workloads w;
	struct wl_row *rows;
	const struct wl_row *r;
	uint64_t op, ob, next, bogus = 987654321987ull;
	size_t n;
	int fd;

	CHECK(mkdtemp(dir));
	snprintf(p[0], sizeof(p[0]), "%s/system.slice", dir);
	snprintf(p[1], sizeof(p[1]), "%s/system.slice/web.service", dir);
	snprintf(p[2], sizeof(p[2]), "%s/short", dir);
	snprintf(p[3], sizeof(p[3]), "%s/later", dir);
	CHECK(mkdir(p[0], 0755) == 0 && mkdir(p[1], 0755) == 0 && mkdir(p[2], 0755) == 0);
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "wl_test", 8, sizeof(struct sluice_counter),
			    64, &mo);
	CHECK(fd >= 0);
	CHECK(workloads_open(&w, dir, fd, -1, NULL) == 0);
	CHECK(put(fd, ino_of(p[1]), 10, 1000) == 0);
	CHECK(put(fd, ino_of(p[2]), 3, 300) == 0);
	CHECK(put(fd, 0, 1, 60) == 0);
	CHECK(put(fd, bogus, 2, 200) == 0);

	/* made after the walk, noticed by inotify, gone before any read */
	CHECK(mkdir(p[3], 0755) == 0);
	CHECK(put(fd, ino_of(p[3]), 4, 400) == 0);
	workloads_handle(&w);
	CHECK(rmdir(p[3]) == 0);

	CHECK(workloads_read(&w, &rows, &n, &op, &ob) == 0);
	CHECK_EQ(n, 5);
	CHECK((r = row(rows, n, "web.service")) && r->packets == 10 && r->bytes == 1000 &&
	      !r->gone);
	CHECK((r = row(rows, n, "/short")) && r->packets == 3 && !r->gone);
	CHECK((r = row(rows, n, WL_NO_SOCKET)) && r->bytes == 60 && !r->gone);
	CHECK((r = row(rows, n, "/later")) && r->packets == 4 && r->bytes == 400 && r->gone);
	CHECK((r = row(rows, n, "cgroup-987654321987")) && r->gone);
	CHECK(!strcmp(rows[0].name, "web.service")); /* by bytes */
	free(rows);
	CHECK(bpf_map_lookup_elem(fd, &bogus, &next) != 0 || errno == ENOENT);

	/* gone now: in the next report once, with its last name, then not */
	CHECK(rmdir(p[2]) == 0);
	CHECK(workloads_read(&w, &rows, &n, &op, &ob) == 0);
	CHECK_EQ(n, 3);
	CHECK((r = row(rows, n, "/short")) && r->packets == 3 && r->bytes == 300 && r->gone);
	free(rows);
	CHECK(workloads_read(&w, &rows, &n, &op, &ob) == 0);
	CHECK_EQ(n, 2);
	CHECK(!row(rows, n, "/short") && row(rows, n, "web.service"));
	free(rows);
	CHECK(workloads_read(&w, &rows, &n, &op, &ob) == 0);
	CHECK(row(rows, n, "web.service") != NULL); /* alive: reported every time */
	free(rows);

	workloads_close(&w);
	close(fd);
	rmdir(p[1]);
	rmdir(p[0]);
	rmdir(dir);
	return 0;
}

/* ---- hostNetwork workloads: found by the receiving socket's cgroup ---------- */

TEST(hostwl_cgroup_patterns_match_runtime_names)
{
	static const char dk[] = "/system.slice/docker-0123456789abcdef.scope";
	static const char ctd[] = "/kubepods.slice/kubepods-burstable.slice/"
				  "kubepods-burstable-pod1234_56.slice/cri-containerd-abc.scope";

	CHECK(hostwl_cgroup_matches("/system.slice/docker-*.scope", dk));
	CHECK(hostwl_cgroup_matches("/system.slice/docker-*.scope", "/system.slice/docker-1.scope/sub"));
	CHECK(!hostwl_cgroup_matches("/system.slice/docker-*.scope", "/system.slice/crio-1.scope"));
	CHECK(hostwl_cgroup_matches("*/cri-containerd-*.scope", ctd));
	CHECK(hostwl_cgroup_matches("/kubepods.slice/*pod1234_56.slice", ctd)); /* an ancestor */
	CHECK(!hostwl_cgroup_matches("/kubepods.slice/*pod1234_57.slice", ctd));
	CHECK(hostwl_cgroup_matches("*/crio-*.scope", "/machine.slice/crio-77.scope"));
	/* a plain path: itself or below, not a longer sibling name */
	CHECK(hostwl_cgroup_matches("/agent", "/agent/x"));
	CHECK(!hostwl_cgroup_matches("/agent", "/agents"));
	return 0;
}

static int lo_up(void)
{
	struct ifreq ifr = {0};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s >= 0 && !ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (s >= 0)
		close(s);
	return rc;
}

/* A socket bound to the loopback address of family (port 0: any),
 * listening if TCP; its port in *port. */
static int bound_socket_on(int family, int type, uint16_t *port)
{
	struct sockaddr_in sa4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	struct sockaddr *sa = family == AF_INET ? (struct sockaddr *)&sa4 : (struct sockaddr *)&sa6;
	socklen_t sl = family == AF_INET ? sizeof(sa4) : sizeof(sa6);
	int s = socket(family, type | SOCK_CLOEXEC, 0);

	if (s < 0 || bind(s, sa, sl) || (type == SOCK_STREAM && listen(s, 4)) ||
	    getsockname(s, sa, &sl)) {
		if (s >= 0)
			close(s);
		return -1;
	}
	*port = ntohs(family == AF_INET ? sa4.sin_port : sa6.sin6_port);
	return s;
}

/* On 127.0.0.1 and on ::1. */
static int bound_socket(int type, uint16_t *port)
{
	return bound_socket_on(AF_INET, type, port);
}

static int bound_socket6(int type, uint16_t *port)
{
	return bound_socket_on(AF_INET6, type, port);
}

/* The uplink program on a packet from 192.0.2.99 to 127.0.0.1:port
 * (untagged: identity unknown); returns the TC verdict, mark in *mark. */
static int uplink_to_node_fam(int v6, uint8_t proto, uint16_t port, uint32_t *mark)
{
	struct pkt_spec s = v6 ? (proto == IPPROTO_TCP ? spec_tcp6("2001:db8::99", "::1")
						      : spec_udp6("2001:db8::99", "::1"))
			       : (proto == IPPROTO_TCP ? spec_tcp4("192.0.2.99", "127.0.0.1")
						      : spec_udp4("192.0.2.99", "127.0.0.1"));
	uint8_t frame[FRAME_MAX], out[FRAME_MAX + 256];
	struct __sk_buff ctx = {0};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .ctx_out = &ctx, .ctx_size_out = sizeof(ctx), .repeat = 1);

	s.dport = port;
	s.sport = 40000;
	if (proto == IPPROTO_UDP)
		s.payload = 8;
	opts.data_size_in = (__u32)build_frame(&s, frame, NULL);
	if (bpf_prog_test_run_opts(bpf_program__fd(xdp_tc_obj()->progs.sluice_tc_uplink_cbtag),
				   &opts))
		return -1;
	*mark = ctx.mark;
	return (int)opts.retval;
}

static int uplink_to_node(uint8_t proto, uint16_t port, uint32_t *mark)
{
	return uplink_to_node_fam(0, proto, port, mark);
}

/* A workload "agent" owns cgroup A (in hostwl_cgroups, as the daemon
 * would write it); sockets made in A's child A/c1 are the agent's (the
 * ancestor walk), a socket in our own cgroup is nobody's.  The agent's
 * ingress policy allows TCP only. */
XDP_TEST(host_workload_is_found_by_the_receiving_sockets_cgroup)
{
	char root[PATH_MAX], mine[PATH_MAX], a[PATH_MAX + 64], c1[PATH_MAX + 96],
	    procs[2 * PATH_MAX + 96], pid[32];
	struct policy_rule_cfg tcp_only = {.proto = IPPROTO_TCP, .port_hi = 65535};
	uint32_t zero32 = 0, one32 = 1; /* hostwl_count: the daemon writes it after a sync */
	struct pod_cfg agent;
	struct sluice_model m;
	struct stat st;
	uint16_t tport = 0, uport = 0, other_port = 0, t6port = 0, u6port = 0;
	int ts = -1, us = -1, os = -1, t6 = -1, u6 = -1, moved;
	uint32_t mark = 0, id = 0;
	uint64_t a_id, rx0, den0, host0, wl_ok0, wl_den0;

	CHECK(xdp_tc_obj() != NULL);
	CHECK(lo_up() == 0);
	CHECK(workloads_find_root(root, sizeof(root)) == 0);
	CHECK(own_cgroup(mine, sizeof(mine)) == 0);
	snprintf(a, sizeof(a), "%s/sluice-hostwl-%d", root, (int)getpid());
	snprintf(c1, sizeof(c1), "%s/c1", a);
	CHECK(mkdir(a, 0755) == 0 || errno == EEXIST);
	CHECK(mkdir(c1, 0755) == 0 || errno == EEXIST);
	CHECK(stat(a, &st) == 0);
	a_id = (uint64_t)st.st_ino;

	/* sockets take the cgroup of the task that makes them */
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", c1);
	moved = write_file(procs, pid) == 0;
	if (moved) {
		ts = bound_socket(SOCK_STREAM, &tport);
		us = bound_socket(SOCK_DGRAM, &uport);
		t6 = bound_socket6(SOCK_STREAM, &t6port);
		u6 = bound_socket6(SOCK_DGRAM, &u6port);
	}
	snprintf(procs, sizeof(procs), "%s%s/cgroup.procs", root, strcmp(mine, "/") ? mine : "");
	CHECK(write_file(procs, pid) == 0);
	os = bound_socket(SOCK_STREAM, &other_port);
	CHECK(moved && ts >= 0 && us >= 0 && os >= 0 && t6 >= 0 && u6 >= 0);

	memset(&m, 0, sizeof(m));
	memset(&agent, 0, sizeof(agent));
	snprintf(agent.name, sizeof(agent.name), "agent");
	snprintf(agent.cgroup, sizeof(agent.cgroup), "/sluice-hostwl-%d", (int)getpid());
	agent.host_network = true;
	agent.ingress = &tcp_only;
	agent.n_ingress = 1;
	agent.egress_default_allow = true;
	m.pods = &agent;
	m.n_pods = 1;
	CHECK(xdp_set_pods(&m) == 0);
	id = pod_id_for(xdp_map_fd("pod_names"), "agent");
	CHECK(id != 0);
	CHECK(bpf_map_update_elem(xdp_map_fd("hostwl_cgroups"), &a_id, &id, BPF_ANY) == 0);
	CHECK(bpf_map_update_elem(xdp_map_fd("hostwl_count"), &zero32, &one32, BPF_ANY) == 0);
	bpf_map_delete_elem(xdp_map_fd("pod_stats"), &id);

	rx0 = xdp_pod_stat(id, PS_RX_PACKETS);
	den0 = xdp_pod_stat(id, PS_INGRESS_DENIED);
	host0 = xdp_tc_count_packets(STR_HOST);
	wl_ok0 = xdp_tc_count_packets(STR_WORKLOAD_ALLOWED);
	wl_den0 = xdp_tc_count_packets(STR_WORKLOAD_DENIED);
	/* TCP to the agent's listener: allowed, counted as the agent's, and
	 * still host traffic in the mark */
	CHECK_EQ(uplink_to_node(IPPROTO_TCP, tport, &mark), TC_ACT_OK);
	CHECK_EQ((mark >> 8) & SLUICE_MARK_HOST_FLAG, SLUICE_MARK_HOST_FLAG);
	CHECK_EQ(xdp_pod_stat(id, PS_RX_PACKETS), rx0 + 1);
	CHECK_EQ(xdp_tc_count_packets(STR_WORKLOAD_ALLOWED), wl_ok0 + 1);
	/* UDP to the agent's socket: its policy allows TCP only */
	CHECK_EQ(uplink_to_node(IPPROTO_UDP, uport, &mark), TC_ACT_SHOT);
	CHECK_EQ(xdp_pod_stat(id, PS_INGRESS_DENIED), den0 + 1);
	CHECK_EQ(xdp_tc_count_packets(STR_WORKLOAD_DENIED), wl_den0 + 1);
	/* a socket outside the agent's cgroup, and a port nobody listens on:
	 * plain host traffic, never the agent's */
	CHECK_EQ(uplink_to_node(IPPROTO_UDP, other_port, &mark), TC_ACT_OK);
	CHECK_EQ(uplink_to_node(IPPROTO_TCP, other_port, &mark), TC_ACT_OK);
	CHECK_EQ(xdp_tc_count_packets(STR_HOST), host0 + 2);
	CHECK_EQ(xdp_pod_stat(id, PS_RX_PACKETS), rx0 + 1);
	/* IPv6: the same socket lookup and policy */
	CHECK_EQ(uplink_to_node_fam(1, IPPROTO_TCP, t6port, &mark), TC_ACT_OK);
	CHECK_EQ(xdp_pod_stat(id, PS_RX_PACKETS), rx0 + 2);
	CHECK_EQ(uplink_to_node_fam(1, IPPROTO_UDP, u6port, &mark), TC_ACT_SHOT);
	CHECK_EQ(xdp_pod_stat(id, PS_INGRESS_DENIED), den0 + 2);

	/* the agent sends (the egress program, run from A/c1: the test run's
	 * socket is ours): tx counters by the sending socket's cgroup */
	{
		uint64_t tx0 = xdp_pod_stat(id, PS_TX_PACKETS);
		uint64_t txb0 = xdp_pod_stat(id, PS_TX_BYTES);
		int rc = -1;

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", c1);
		if (write_file(procs, pid) == 0)
			rc = run_cgroup_prog(100, 2);
		snprintf(procs, sizeof(procs), "%s%s/cgroup.procs", root,
			 strcmp(mine, "/") ? mine : "");
		CHECK(write_file(procs, pid) == 0);
		CHECK(rc == 0);
		CHECK_EQ(xdp_pod_stat(id, PS_TX_PACKETS), tx0 + 2);
		CHECK_EQ(xdp_pod_stat(id, PS_TX_BYTES), txb0 + 200);
		/* and from our own cgroup: not the agent's */
		CHECK(run_cgroup_prog(100, 1) == 0);
		CHECK_EQ(xdp_pod_stat(id, PS_TX_PACKETS), tx0 + 2);
	}

	bpf_map_delete_elem(xdp_map_fd("hostwl_cgroups"), &a_id);
	bpf_map_update_elem(xdp_map_fd("hostwl_count"), &zero32, &zero32, BPF_ANY);
	close(ts);
	close(us);
	close(os);
	close(t6);
	close(u6);
	rmdir(c1);
	rmdir(a);
	return 0;
}
