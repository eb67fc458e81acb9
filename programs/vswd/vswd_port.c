/* SPDX-License-Identifier: MIT */
/*
 * A stored port into the running switch (vswd_port_open: its options,
 * vswd's own vhost-user settings and path checks, its OpenFlow number and
 * VLANs, all or nothing), and the stored ports the switch could not open
 * (the pending list, retried every VSWD_RETRY_MS). Used by the methods,
 * the start and the main loop; calls only the switch and vswd_paths.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vswd.h"

struct vswd_pending *vswd_pending_find(struct vswd *d, const char *name)
{
	unsigned int i;

	for (i = 0; i < d->n_pending; i++)
		if (strcmp(d->pending[i].port.name, name) == 0)
			return &d->pending[i];
	return NULL;
}

void vswd_pending_remove(struct vswd *d, const char *name)
{
	struct vswd_pending *p = vswd_pending_find(d, name);

	/* del-port ends here: OpenFlow's PORT_STATUS DELETE */
	vswd_ofp_ports_changed(d);
	if (p == NULL)
		return;
	*p = d->pending[--d->n_pending];
}

int vswd_pending_add(struct vswd *d, const struct vsw_cfg_port *port,
		     const char *why)
{
	struct vswd_pending *p;

	p = realloc(d->pending, (d->n_pending + 1) * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	d->pending = p;
	p = &d->pending[d->n_pending++];
	p->port = *port;
	snprintf(p->why, sizeof(p->why), "%s", why);
	vswd_ofp_ports_changed(d);
	d->next_retry_ms = vsw_now_ms() + VSWD_RETRY_MS;
	return 0;
}

void vswd_free_pending(struct vswd *d)
{
	free(d->pending);
	d->pending = NULL;
	d->n_pending = 0;
}

/* The switch's view of a stored port's VLANs; @buf holds the trunks. */
static void port_vlan_of(const struct vsw_cfg_port *p,
			 struct vsw_vlan_config *v, uint16_t *buf)
{
	unsigned int id, n = 0;

	memset(v, 0, sizeof(*v));
	if (p->has_trunks) {
		for (id = 0; id <= VSW_CFG_VLAN_MAX; id++)
			if (vsw_cfg_vlan_test(&p->trunks, id))
				buf[n++] = (uint16_t)id;
		v->mode = VSW_VLAN_TRUNK;
		v->native = p->tag > 0 ? (uint16_t)p->tag : 0;
		v->trunks = buf;
		v->n_trunks = n;
	} else if (p->tag >= 0) {
		v->mode = VSW_VLAN_ACCESS;
		v->tag = (uint16_t)p->tag;
	} else {
		v->mode = VSW_VLAN_NONE;
	}
}

int vswd_port_set_vlan(struct vswd *d, const struct vsw_cfg_port *p, char *err,
		       size_t len)
{
	uint16_t buf[VSW_CFG_VLAN_MAX + 1];
	struct vsw_vlan_config v;

	port_vlan_of(p, &v, buf);
	return vsw_switch_set_port_vlan(d->sw, p->name, &v, err, len);
}

/* Options of a port that only vswd's own command line sets. */
static const char *const port_daemon_opts[] = {"run_dir", "socket_mode",
					       "socket_group", NULL};

/*
 * A vhostuser port's path checked (vswd_path_check: also at restore, so a
 * stored path that the operator no longer allows stays down, reported) and
 * vswd's socket mode and group appended. @opts has room for 2 more.
 */
static int port_vhost_opts(struct vswd *d, const struct vsw_cfg_port *p,
			   struct vsw_port_opt *opts, unsigned int *n,
			   char *mode, char *gid, char *err, size_t len)
{
	bool client = strcmp(p->type, "vhostuserclient") == 0;
	const char *path = vsw_cfg_port_opt(p, "path");
	unsigned int i;
	int rc;

	if (!client && strcmp(p->type, "vhostuser") != 0)
		return 0;
	for (i = 0; port_daemon_opts[i] != NULL; i++)
		if (vsw_cfg_port_opt(p, port_daemon_opts[i]) != NULL) {
			snprintf(err, len,
				 "option %s is vswd's own (see "
				 "vswd --help), not a port's",
				 port_daemon_opts[i]);
			return -EINVAL;
		}
	if (path == NULL && client)
		return 0; /* the provider says what is missing */
	if (path == NULL) {
		snprintf(err, len,
			 "vhostuser: no path (a store of an older "
			 "vswd?): delete the port and add it again");
		return -EINVAL;
	}
	rc = vswd_path_check(d, path, client, err, len);
	if (rc < 0 || client)
		return rc;
	snprintf(mode, 8, "%o", d->vhost_sock_mode);
	opts[*n].key = "socket_mode";
	opts[(*n)++].value = mode;
	if (d->vhost_sock_gid_set) {
		snprintf(gid, 12, "%u", (unsigned int)d->vhost_sock_gid);
		opts[*n].key = "socket_group";
		opts[(*n)++].value = gid;
	}
	return 0;
}

/* What the switch gets of @p's options: the stored ones and vswd's own. */
struct port_opts {
	struct vsw_port_opt o[VSW_CFG_MAX_OPTS + 2];
	unsigned int n;
	char mode[8], gid[12];
};

static int port_opts_of(struct vswd *d, const struct vsw_cfg_port *p,
			struct port_opts *po, char *err, size_t len)
{
	unsigned int i;

	for (i = 0; i < p->n_opts; i++) {
		po->o[i].key = p->opts[i].key;
		po->o[i].value = p->opts[i].value;
	}
	po->n = p->n_opts;
	return port_vhost_opts(d, p, po->o, &po->n, po->mode, po->gid, err,
			       len);
}

int vswd_port_set_opts(struct vswd *d, const struct vsw_cfg_port *p,
		       char *err, size_t len)
{
	struct port_opts po;
	int rc;

	rc = port_opts_of(d, p, &po, err, len);
	if (rc == 0)
		rc = vsw_switch_set_port_opts(d->sw, p->name, po.o, po.n, err,
					      len);
	vswd_ofp_ports_changed(d); /* a link=, say */
	if (rc < 0 && err[0] == '\0')
		snprintf(err, len, "%s", strerror(-rc));
	return rc;
}

/* Open @p in the switch with its options and VLANs; all or nothing. */
int vswd_port_open(struct vswd *d, const struct vsw_cfg_port *p, char *err,
		   size_t len)
{
	char why[VSWD_ERR_MAX];
	struct port_opts po;
	int rc;

	rc = port_opts_of(d, p, &po, err, len);
	if (rc < 0)
		return rc;
	/* added or back from pending: OpenFlow's PORT_STATUS */
	vswd_ofp_ports_changed(d);
	rc = vsw_switch_add_port(d->sw, p->bridge, p->name, p->type, po.o, po.n,
				 err, len);
	if (rc < 0) {
		if (err[0] == '\0')
			snprintf(err, len, "%s", strerror(-rc));
		return rc;
	}
	/* the stored OpenFlow port number, stable across restarts */
	if (p->ofport != 0) {
		rc = vsw_switch_set_port_ofport(d->sw, p->name, p->ofport, err,
						len);
		if (rc < 0) {
			vsw_switch_del_port(d->sw, p->name, why, sizeof(why));
			return rc;
		}
	}
	if (p->tag < 0 && !p->has_trunks)
		return 0;
	rc = vswd_port_set_vlan(d, p, err, len);
	if (rc < 0) {
		if (err[0] == '\0')
			snprintf(err, len, "%s", strerror(-rc));
		vsw_switch_del_port(d->sw, p->name, why, sizeof(why));
	}
	return rc;
}

void vswd_retry_pending(struct vswd *d)
{
	unsigned int i = 0;

	while (i < d->n_pending) {
		struct vswd_pending *p = &d->pending[i];
		char err[VSWD_ERR_MAX] = "";

		if (vswd_port_open(d, &p->port, err, sizeof(err)) < 0) {
			if (strcmp(err, p->why) != 0) {
				vswd_log(d, VSW_LOG_INFO,
					 "port %s still down: %s", p->port.name,
					 err);
				snprintf(p->why, sizeof(p->why), "%s", err);
			}
			i++;
			continue;
		}
		vswd_log(d, VSW_LOG_INFO, "port %s is back", p->port.name);
		*p = d->pending[--d->n_pending];
	}
	d->next_retry_ms = vsw_now_ms() + VSWD_RETRY_MS;
}
