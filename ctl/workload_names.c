// SPDX-License-Identifier: GPL-2.0
/*
 * workload_names.c - a workload's name from its cgroup path.  Container
 * runtimes and systemd name cgroups in a handful of ways; the name should
 * be the one an operator knows the workload by (the pod, the container,
 * the service), not the path.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "hostwl.h"
#include "model.h"
#include "workloads.h"

#define SHORT_ID 12

/* The text between prefix and suffix of one path component, or NULL. */
static const char *between(const char *comp, size_t clen, const char *prefix, const char *suffix,
			   size_t *len)
{
	size_t p = strlen(prefix), s = strlen(suffix);

	if (clen <= p + s || strncmp(comp, prefix, p) || strncmp(comp + clen - s, suffix, s))
		return NULL;
	*len = clen - p - s;
	return comp + p;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return n > 0;
}

/* A pod uid as the path spells it: hex digits and '-' ('_' with systemd). */
static bool uid_like(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef-_", s[i]))
			return false;
	return n > 0;
}

/* kubepods: a "pod<uid>" component (cgroupfs driver: "pod1234-...", systemd
 * driver: "kubepods-burstable-pod1234_....slice", '-' escaped as '_'). */
static bool kube_pod(const char *rel, char *buf, size_t len)
{
	if (!strstr(rel, "/kubepods"))
		return false;
	for (const char *p = rel; (p = strchr(p, '/'));) {
		const char *comp = ++p, *end = strchrnul(comp, '/'), *pod;
		size_t n;

		if (!strncmp(comp, "pod", 3))
			pod = comp + 3;
		else if (!strncmp(comp, "kubepods", 8) && (pod = strstr(comp, "-pod")) && pod < end)
			pod += 4;
		else
			continue;
		n = (size_t)(end - pod);
		if (n > 6 && !strncmp(end - 6, ".slice", 6))
			n -= 6;
		if (!uid_like(pod, n))
			continue;
		snprintf(buf, len, "pod:%.*s", (int)n, pod);
		for (char *c = buf + 4; *c; c++)
			if (*c == '_')
				*c = '-';
		return true;
	}
	return false;
}

/* Container runtimes' scopes (systemd cgroup driver): <prefix><id>.scope. */
static const struct {
	const char *prefix, *label;
} scopes[] = {
    {"docker-", "docker"},
    {"cri-containerd-", "containerd"},
    {"crio-", "crio"},
    {"libpod-", "podman"},
};

static void short_id(char *buf, size_t len, const char *label, const char *id, size_t n)
{
	snprintf(buf, len, "%s:%.*s", label, (int)(n < SHORT_ID ? n : SHORT_ID), id);
}

/* The deepest component that names a container: a runtime's scope, or
 * docker/<id> (docker's cgroupfs driver). */
static bool container_name(const char *rel, char *buf, size_t len)
{
	const char *prev = NULL, *p = rel;
	size_t plen = 0;
	bool found = false;

	while (*p) {
		const char *comp, *end, *id;
		size_t clen, n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		comp = p;
		end = strchrnul(p, '/');
		clen = (size_t)(end - p);
		p = end;
		for (size_t k = 0; k < sizeof(scopes) / sizeof(scopes[0]); k++)
			if ((id = between(comp, clen, scopes[k].prefix, ".scope", &n))) {
				short_id(buf, len, scopes[k].label, id, n);
				found = true;
			}
		if (prev && plen == 6 && !strncmp(prev, "docker", 6) && all_hex(comp, clen)) {
			short_id(buf, len, "docker", comp, clen);
			found = true;
		}
		prev = comp;
		plen = clen;
	}
	return found;
}

/* The deepest "*.service" component. */
static bool service_name(const char *rel, char *buf, size_t len)
{
	const char *best = NULL;
	size_t blen = 0;

	for (const char *p = rel; *p;) {
		const char *end;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchrnul(p, '/');
		if (end - p > 8 && !strncmp(end - 8, ".service", 8)) {
			best = p;
			blen = (size_t)(end - p);
		}
		p = end;
	}
	if (best)
		snprintf(buf, len, "%.*s", (int)blen, best);
	return best != NULL;
}

void workload_name(const char *rel, const struct sluice_model *m, char *buf, size_t len)
{
	if (!len)
		return;
	buf[0] = 0;
	if (!rel[0] || !strcmp(rel, "/")) {
		snprintf(buf, len, "/");
		return;
	}
	/* the config says which pod a hostNetwork cgroup is: that wins */
	for (size_t i = 0; m && i < m->n_pods; i++) {
		/* a path, or a runtime-style pattern (ctl/hostwl.c) */
		if (m->pods[i].cgroup[0] && hostwl_cgroup_matches(m->pods[i].cgroup, rel)) {
			snprintf(buf, len, "pod:%s", m->pods[i].name);
			return;
		}
	}
	if (kube_pod(rel, buf, len))
		return;
	buf[0] = 0;
	if (container_name(rel, buf, len) || service_name(rel, buf, len))
		return;
	snprintf(buf, len, "%s", rel);
}
