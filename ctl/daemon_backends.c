// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_backends.c - manual backend states (`sluice backend drain|up|down
 * [SERVICE] ADDR[:PORT]`), kept on top of the config's.
 *
 * Which decision wins: the newer one.  A manual state stays through reloads
 * as long as the config file still has that backend in that service with
 * the state it had when the manual one was set; when a reload changes the
 * file's state for it (or removes it), the file wins and the manual state
 * is dropped, and the reload report says so.  `up` to the file's own state
 * simply clears the manual state.
 *
 * The data path keeps one state per backend (address, port), so `down` -
 * and leaving `down` - applies to the backend in every service that has
 * it.  Manual states are kept in a pinned map too (ctl_backends): a
 * restarted daemon keeps them.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

struct ctl_backend_key {
	char service[64];
	uint8_t addr[16];
	uint16_t port;
	uint8_t family, pad;
};

struct ctl_backend_val {
	uint8_t state, file_state, pad[6];
};

static const char *const state_names[] = {"active", "draining", "down"};

static const char *sname(uint8_t s)
{
	return s < 3 ? state_names[s] : "?";
}

static void to_key(const struct backend_override *o, struct ctl_backend_key *k)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->service, sizeof(k->service), "%s", o->service);
	memcpy(k->addr, o->addr.addr, 16);
	k->port = o->port;
	k->family = o->addr.family;
}

/* Rewrite the pinned copy to hold exactly d->overrides. */
void overrides_persist(struct daemon *d)
{
	struct ctl_backend_key k, next;

	while (bpf_map_get_next_key(d->fd_overrides, NULL, &next) == 0)
		if (bpf_map_delete_elem(d->fd_overrides, &next))
			break;
	for (size_t i = 0; i < d->n_overrides; i++) {
		struct ctl_backend_val v = {.state = d->overrides[i].state,
					    .file_state = d->overrides[i].file_state};

		to_key(&d->overrides[i], &k);
		if (bpf_map_update_elem(d->fd_overrides, &k, &v, BPF_ANY))
			dlog("warning: recording manual backend state: %s", strerror(errno));
	}
}

int overrides_open(struct daemon *d, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	struct ctl_backend_key key, next, *prev = NULL;
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", d->pin_dir, CTL_BACKENDS_MAP);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fd = bpf_map_create(BPF_MAP_TYPE_HASH, CTL_BACKENDS_MAP, sizeof(key),
				    sizeof(struct ctl_backend_val), BACKEND_OVERRIDES_MAX, &opts);
		if (fd < 0 || bpf_obj_pin(fd, path)) {
			snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -EIO;
		}
	} else {
		struct bpf_map_info info = {0};
		uint32_t ilen = sizeof(info);

		if (bpf_obj_get_info_by_fd(fd, &info, &ilen) || info.key_size != sizeof(key) ||
		    info.value_size != sizeof(struct ctl_backend_val)) {
			snprintf(err, errlen,
				 "%s is not the map this sluice expects: left by another "
				 "version? remove it (it holds runtime state only)",
				 path);
			close(fd);
			return -EINVAL;
		}
	}
	d->fd_overrides = fd;
	d->overrides = calloc(BACKEND_OVERRIDES_MAX, sizeof(*d->overrides));
	if (!d->overrides) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct ctl_backend_val v;
		struct backend_override *o = &d->overrides[d->n_overrides];

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v) || d->n_overrides >= BACKEND_OVERRIDES_MAX ||
		    v.state > SLUICE_BE_DOWN || v.file_state > SLUICE_BE_DOWN)
			continue;
		memset(o, 0, sizeof(*o));
		snprintf(o->service, sizeof(o->service), "%.63s", key.service);
		o->addr.family = key.family;
		o->addr.len = key.family == 4 ? 32 : 128;
		memcpy(o->addr.addr, key.addr, 16);
		o->port = key.port;
		o->state = v.state;
		o->file_state = v.file_state;
		d->n_overrides++;
	}
	if (d->n_overrides)
		dlog("adopted %zu manual backend state%s from %s", d->n_overrides,
		     d->n_overrides == 1 ? "" : "s", path);
	return 0;
}

void overrides_close(struct daemon *d)
{
	if (d->fd_overrides > 0)
		close(d->fd_overrides);
	d->fd_overrides = -1;
	free(d->overrides);
	d->overrides = NULL;
	d->n_overrides = 0;
}

static bool same_ap(const struct sluice_prefix *a, uint16_t aport, const struct sluice_prefix *b,
		    uint16_t bport)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, 16) && aport == bport;
}

static bool same_backend(const struct sluice_prefix *a, uint16_t aport,
			 const struct lb_backend_cfg *b)
{
	return same_ap(a, aport, &b->addr, b->port);
}

static struct backend_override *find(const struct daemon *d, const char *svc,
				     const struct lb_backend_cfg *b)
{
	for (size_t i = 0; i < d->n_overrides; i++)
		if (!strcmp(d->overrides[i].service, svc) &&
		    same_backend(&d->overrides[i].addr, d->overrides[i].port, b))
			return &d->overrides[i];
	return NULL;
}

static bool manual_anywhere(const struct daemon *d, const struct lb_backend_cfg *b)
{
	for (size_t i = 0; i < d->n_overrides; i++)
		if (same_backend(&d->overrides[i].addr, d->overrides[i].port, b))
			return true;
	return false;
}

bool backend_is_manual(const struct daemon *d, const char *service, const struct lb_backend_cfg *b)
{
	return find(d, service, b) != NULL;
}

uint8_t backend_effective_state(const struct daemon *d, const struct lb_service_cfg *s,
				const struct lb_backend_cfg *b)
{
	const struct backend_override *o = find(d, s->name, b);

	if (o)
		return o->state;
	/* Health takes a backend down everywhere (one state per backend in
	 * the data path), except where an operator decided by hand. */
	if (b->state != SLUICE_BE_DOWN && !manual_anywhere(d, b) &&
	    health_backend_down(&d->health, &b->addr, b->port))
		return SLUICE_BE_DOWN;
	return b->state;
}

int overrides_effective(const struct daemon *d, const struct lb_model *in, struct lb_model *out)
{
	memset(out, 0, sizeof(*out));
	if (!in->n)
		return 0;
	out->svcs = calloc(in->n, sizeof(*out->svcs));
	if (!out->svcs)
		return -ENOMEM;
	out->n = in->n;
	for (size_t i = 0; i < in->n; i++) {
		const struct lb_service_cfg *s = &in->svcs[i];
		struct lb_service_cfg *c = &out->svcs[i];

		*c = *s;
		c->backends = NULL;
		if (!s->n_backends)
			continue;
		c->backends = malloc(s->n_backends * sizeof(*c->backends));
		if (!c->backends) {
			lb_model_free(out);
			return -ENOMEM;
		}
		memcpy(c->backends, s->backends, s->n_backends * sizeof(*c->backends));
		for (size_t b = 0; b < s->n_backends; b++)
			c->backends[b].state = backend_effective_state(d, s, &s->backends[b]);
	}
	return 0;
}

/* "203.0.113.11", "203.0.113.11:8080", "2001:db8::11", "[2001:db8::11]:8080" */
static int parse_backend(const char *s, struct sluice_prefix *a, int *port)
{
	char host[64];
	const char *colon;
	char *end;
	long v;

	memset(a, 0, sizeof(*a));
	*port = -1;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (size_t)(close - s - 1) >= sizeof(host))
			return -1;
		snprintf(host, sizeof(host), "%.*s", (int)(close - s - 1), s + 1);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] && !colon)
			return -1;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address */
		snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - s) : (int)strlen(s), s);
	}
	if (inet_pton(AF_INET, host, a->addr) == 1) {
		a->family = 4;
		a->len = 32;
	} else if (inet_pton(AF_INET6, host, a->addr) == 1) {
		a->family = 6;
		a->len = 128;
	} else {
		return -1;
	}
	if (colon) {
		errno = 0;
		v = strtol(colon + 1, &end, 10);
		if (errno || *end || end == colon + 1 || v < 0 || v > 65535)
			return -1;
		*port = (int)v;
	}
	return 0;
}

struct target {
	const struct lb_service_cfg *svc;
	const struct lb_backend_cfg *be;
};

static uint8_t effective_state(const struct daemon *d, const struct target *t)
{
	return backend_effective_state(d, t->svc, t->be);
}

/* Add every (service, backend) of the model holding backend be. */
static size_t add_everywhere(const struct sluice_model *m, const struct lb_backend_cfg *be,
			     struct target *tg, size_t n, size_t max)
{
	for (size_t s = 0; s < m->lb.n; s++)
		for (size_t b = 0; b < m->lb.svcs[s].n_backends; b++) {
			const struct lb_backend_cfg *x = &m->lb.svcs[s].backends[b];
			bool have = false;

			if (!same_backend(&be->addr, be->port, x))
				continue;
			for (size_t k = 0; k < n && !have; k++)
				have = tg[k].be == x;
			if (!have && n < max)
				tg[n++] = (struct target){&m->lb.svcs[s], x};
		}
	return n;
}

static int set_override(struct daemon *d, const struct target *t, uint8_t state)
{
	struct backend_override *o = find(d, t->svc->name, t->be);

	if (state == t->be->state) { /* back to the file's own state */
		if (o)
			*o = d->overrides[--d->n_overrides];
		return 0;
	}
	if (!o) {
		if (d->n_overrides >= BACKEND_OVERRIDES_MAX)
			return -ENOSPC;
		o = &d->overrides[d->n_overrides++];
		memset(o, 0, sizeof(*o));
		snprintf(o->service, sizeof(o->service), "%s", t->svc->name);
		o->addr = t->be->addr;
		o->port = t->be->port;
	}
	o->state = state;
	o->file_state = t->be->state;
	return 0;
}

static const char usage[] = "usage: sluice backend drain|up|down [SERVICE] ADDR[:PORT] | "
			    "sluice backend list";

int backend_cmd(struct daemon *d, int argc, char **argv, struct buf *out)
{
	const struct sluice_model *m = &d->model;
	const char *svc_name = NULL, *be_arg;
	struct backend_override *saved = NULL;
	size_t n_saved = d->n_overrides, n = 0, max = 0;
	struct target *tg = NULL;
	struct sluice_prefix addr;
	char err[SLUICE_ERRLEN];
	uint8_t state;
	int port, rc = 0;
	bool expand = false;

	if (argc == 1 && !strcmp(argv[0], "list")) {
		overrides_list(d, out);
		return 0;
	}
	if (argc < 2 || argc > 3) {
		buf_printf(out, "%s\n", usage);
		return -EINVAL;
	}
	if (!strcmp(argv[0], "drain")) {
		state = SLUICE_BE_DRAINING;
	} else if (!strcmp(argv[0], "up")) {
		state = SLUICE_BE_ACTIVE;
	} else if (!strcmp(argv[0], "down")) {
		state = SLUICE_BE_DOWN;
	} else {
		buf_printf(out, "backend: unknown action '%s' (%s)\n", argv[0], usage);
		return -EINVAL;
	}
	if (argc == 3)
		svc_name = argv[1];
	be_arg = argv[argc - 1];
	if (parse_backend(be_arg, &addr, &port)) {
		buf_printf(out, "backend: '%s' is not ADDR or ADDR:PORT (IPv6: [ADDR]:PORT)\n",
			   be_arg);
		return -EINVAL;
	}
	if (svc_name) {
		bool found = false;

		for (size_t s = 0; s < m->lb.n && !found; s++)
			found = !strcmp(m->lb.svcs[s].name, svc_name);
		if (!found) {
			buf_printf(out, "backend: no service named '%s' in %s (services:", svc_name,
				   d->conf_path);
			for (size_t s = 0; s < m->lb.n; s++)
				buf_printf(out, " %s", m->lb.svcs[s].name);
			buf_printf(out, "%s)\n", m->lb.n ? "" : " none");
			return -ENOENT;
		}
	}
	for (size_t s = 0; s < m->lb.n; s++)
		max += m->lb.svcs[s].n_backends;
	tg = calloc(max ? max : 1, sizeof(*tg));
	saved = malloc((d->n_overrides ? d->n_overrides : 1) * sizeof(*saved));
	if (!tg || !saved) {
		buf_printf(out, "backend: out of memory\n");
		rc = -ENOMEM;
		goto out;
	}
	memcpy(saved, d->overrides, d->n_overrides * sizeof(*saved));
	for (size_t s = 0; s < m->lb.n; s++) {
		const struct lb_service_cfg *sv = &m->lb.svcs[s];

		if (svc_name && strcmp(sv->name, svc_name))
			continue;
		for (size_t b = 0; b < sv->n_backends; b++) {
			const struct lb_backend_cfg *be = &sv->backends[b];

			if (be->addr.family == addr.family &&
			    !memcmp(be->addr.addr, addr.addr, 16) && (port < 0 || port == be->port))
				tg[n++] = (struct target){sv, be};
		}
	}
	if (!n) {
		buf_printf(out, "backend: no backend %s in %s\n", be_arg,
			   svc_name ? svc_name : "any service");
		rc = -ENOENT;
		goto out;
	}
	/* one state per backend in the data path: down, and out of down, go
	 * to every service that has it */
	for (size_t k = 0, n0 = n; k < n0; k++) {
		if (state == SLUICE_BE_DOWN || effective_state(d, &tg[k]) == SLUICE_BE_DOWN) {
			size_t before = n;

			n = add_everywhere(m, tg[k].be, tg, n, max);
			expand |= n > before;
		}
	}
	for (size_t k = 0; k < n; k++) {
		char txt[96];
		uint8_t was = effective_state(d, &tg[k]);

		rc = set_override(d, &tg[k], state);
		if (rc) {
			buf_printf(out, "backend: more than %d manual states\n",
				   BACKEND_OVERRIDES_MAX);
			goto restore;
		}
		addr_port_format(&tg[k].be->addr, tg[k].be->port, txt, sizeof(txt));
		buf_printf(out, "%s %s: %s -> %s%s\n", tg[k].svc->name, txt, sname(was),
			   sname(state),
			   state == tg[k].be->state ? " (the config's state: manual state cleared)"
						    : " (manual)");
		if (state == SLUICE_BE_ACTIVE && tg[k].be->weight == 0)
			buf_printf(out,
				   "note: %s has weight 0 in the config: it still gets no new "
				   "flows\n",
				   txt);
	}
	if (expand)
		buf_printf(out, "note: the data path keeps one state per backend, so down (and "
				"leaving down) applies in every service that has it\n");
	for (size_t k = 0; k < n && state == SLUICE_BE_ACTIVE; k++) {
		char txt[96];

		if (effective_state(d, &tg[k]) != SLUICE_BE_DOWN ||
		    tg[k].be->state == SLUICE_BE_DOWN)
			continue;
		addr_port_format(&tg[k].be->addr, tg[k].be->port, txt, sizeof(txt));
		buf_printf(out,
			   "note: health checks say %s is down: it gets no new flows until they "
			   "pass (sluice status)\n",
			   txt);
		break;
	}
	rc = daemon_switch(d, m, SW_SERVICES, NULL, err, sizeof(err));
	if (rc) {
		out->len = 0;
		if (out->s)
			out->s[0] = 0;
		buf_printf(out, "backend: %s (nothing changed)\n", err);
		goto restore;
	}
	overrides_persist(d);
	d->runtime_changes++;
	buf_printf(out, "effective now: generation %u, serial %u\n", d->dp.active, d->dp.serial);
	dlog("backend %s %s%s%s", argv[0], svc_name ? svc_name : "", svc_name ? " " : "", be_arg);
	goto out;
restore:
	memcpy(d->overrides, saved, n_saved * sizeof(*saved));
	d->n_overrides = n_saved;
out:
	free(tg);
	free(saved);
	return rc;
}

void overrides_list(const struct daemon *d, struct buf *out)
{
	if (!d->n_overrides) {
		buf_printf(out, "no manual backend states (every backend as the config says)\n");
		return;
	}
	buf_printf(out, "%-20s %-44s %-9s %s\n", "service", "backend", "state", "config says");
	for (size_t i = 0; i < d->n_overrides; i++) {
		const struct backend_override *o = &d->overrides[i];
		char txt[96];

		addr_port_format(&o->addr, o->port, txt, sizeof(txt));
		buf_printf(out, "%-20s %-44s %-9s %s\n", o->service, txt, sname(o->state),
			   sname(o->file_state));
	}
}

static const struct lb_backend_cfg *find_in(const struct sluice_model *m, const char *svc,
					    const struct backend_override *o)
{
	for (size_t s = 0; s < m->lb.n; s++) {
		if (strcmp(m->lb.svcs[s].name, svc))
			continue;
		for (size_t b = 0; b < m->lb.svcs[s].n_backends; b++)
			if (same_backend(&o->addr, o->port, &m->lb.svcs[s].backends[b]))
				return &m->lb.svcs[s].backends[b];
	}
	return NULL;
}

void overrides_rebase(struct daemon *d, const struct sluice_model *nm, struct buf *out)
{
	for (size_t i = 0; i < d->n_overrides;) {
		struct backend_override *o = &d->overrides[i];
		const struct lb_backend_cfg *b = find_in(nm, o->service, o);
		char txt[96];

		addr_port_format(&o->addr, o->port, txt, sizeof(txt));
		if (!b) {
			buf_printf(out,
				   "  manual state %s of %s %s dropped: no longer in the config\n",
				   sname(o->state), o->service, txt);
		} else if (b->state != o->file_state) {
			buf_printf(out,
				   "  manual state %s of %s %s dropped: the config now says %s\n",
				   sname(o->state), o->service, txt, sname(b->state));
		} else {
			i++;
			continue;
		}
		*o = d->overrides[--d->n_overrides];
	}
	/* A backend down in one service must be down in all (one state per
	 * backend in the data path).  If the new file broke that for a
	 * manual down, the file's (consistent) states win for that backend. */
	for (size_t i = 0; i < d->n_overrides;) {
		struct backend_override *o = &d->overrides[i];
		bool mixed = false;

		for (size_t s = 0; s < nm->lb.n && !mixed; s++)
			for (size_t b = 0; b < nm->lb.svcs[s].n_backends && !mixed; b++) {
				const struct lb_backend_cfg *x = &nm->lb.svcs[s].backends[b];
				const struct backend_override *ox;
				uint8_t st;

				if (!same_backend(&o->addr, o->port, x))
					continue;
				ox = find(d, nm->lb.svcs[s].name, x);
				st = ox ? ox->state : x->state;
				mixed = (st == SLUICE_BE_DOWN) != (o->state == SLUICE_BE_DOWN);
			}
		if (mixed) {
			char txt[96];
			struct sluice_prefix a = o->addr;
			uint16_t port = o->port;

			addr_port_format(&a, port, txt, sizeof(txt));
			buf_printf(out,
				   "  manual states of %s dropped in every service: the config "
				   "changed where it is down\n",
				   txt);
			for (size_t k = 0; k < d->n_overrides;) {
				if (same_ap(&a, port, &d->overrides[k].addr, d->overrides[k].port))
					d->overrides[k] = d->overrides[--d->n_overrides];
				else
					k++;
			}
			i = 0;
			continue;
		}
		i++;
	}
}
