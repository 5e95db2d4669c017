// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_caps.c - least privilege after set-up.  Attaching needs a lot
 * (CAP_SYS_ADMIN for libxdp's program lookups, CAP_NET_ADMIN, CAP_BPF,
 * CAP_PERFMON); running needs only what map updates on descriptors the
 * daemon already holds need.  capset(2) and prctl(2) directly: no libcap.
 */
#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include "daemon.h"

static const char *const cap_names[] = {
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
};
#define N_CAP_NAMES (int)(sizeof(cap_names) / sizeof(cap_names[0]))

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int v = N_CAP_NAMES - 1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = N_CAP_NAMES - 1;
		fclose(f);
	}
	return v > 63 ? 63 : v;
}

void caps_names(uint64_t mask, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (int c = 0; c < 64 && used < len; c++) {
		if (!(mask & CAP_BIT(c)))
			continue;
		if (c < N_CAP_NAMES)
			used += (size_t)snprintf(buf + used, len - used, "%scap_%s",
						 used ? "," : "", cap_names[c]);
		else
			used += (size_t)snprintf(buf + used, len - used, "%scap_%d",
						 used ? "," : "", c);
	}
	if (!mask)
		snprintf(buf, len, "none");
}

uint64_t caps_effective(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};

	if (syscall(SYS_capget, &hdr, data))
		return 0;
	return (uint64_t)data[1].effective << 32 | data[0].effective;
}

int caps_drop_to(uint64_t keep, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};
	int top = last_cap();

	/* Root must not win the capabilities back: not through exec, not
	 * through setuid games. Needs CAP_SETPCAP; without it (a unit's
	 * bounding set may have removed it) the capset below still holds. */
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
		      SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED,
		  0, 0, 0))
		dlog("warning: cannot lock the securebits (%s): relying on no_new_privs",
		     strerror(errno));
	for (int c = 0; c <= top; c++)
		if (!(keep & CAP_BIT(c)) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, c, 0, 0, 0)) {
			dlog("warning: cannot drop cap %d from the bounding set: %s", c,
			     strerror(errno));
			break;
		}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data)) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return -errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -errno;
	}
	if (caps_effective() != keep) {
		snprintf(err, errlen, "capabilities are %#llx after capset, expected %#llx",
			 (unsigned long long)caps_effective(), (unsigned long long)keep);
		return -EPERM;
	}
	return 0;
}

/* Does a map update on a descriptor we hold need CAP_BPF on this kernel?
 * Kernels before 6.5 check kernel.unprivileged_bpf_disabled on every bpf()
 * command; later ones only where maps and programs are made.  Asked, not
 * assumed: a child drops everything and tries (on the daemon's own map,
 * with a key whose first byte - the family - is never a real one). */
uint64_t caps_for_map_updates(int probe_fd)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info), key_size, value_size;
	int status;
	pid_t pid;

	if (bpf_obj_get_info_by_fd(probe_fd, &info, &len))
		return CAP_BIT(CAP_BPF);
	key_size = info.key_size;
	value_size = info.value_size;
	pid = fork();
	if (pid < 0)
		return CAP_BIT(CAP_BPF);
	if (pid == 0) {
		uint8_t key[256] = {0}, val[256] = {0};

		if (key_size > sizeof(key) || value_size > sizeof(val) ||
		    syscall(SYS_capset, &hdr, data))
			_exit(1);
		key[0] = 0xff; /* no family: never a real entry */
		if (bpf_map_update_elem(probe_fd, key, val, BPF_ANY) ||
		    bpf_map_lookup_elem(probe_fd, key, val) || bpf_map_delete_elem(probe_fd, key))
			_exit(1);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return CAP_BIT(CAP_BPF);
	return 0;
}
