/* SPDX-License-Identifier: MIT */
/*
 * vswd's start: the stored configuration into the switch (bridges, ports
 * — one that cannot open goes to the pending list, reported, never fatal —
 * then the flow tables and the mirrors), the first-start defaults (br0
 * with a TAP port and a vhostuser port), and the banner with each guest's
 * QEMU command line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vswd.h"

/* ---- start ------------------------------------------------------------------- */

static int start_restore_bridge(void *opaque, const char *name)
{
	struct vswd *d = opaque;
	char err[VSWD_ERR_MAX] = "";
	int rc;

	rc = vsw_switch_add_bridge(d->sw, name, err, sizeof(err));
	if (rc < 0)
		vswd_log(d, VSW_LOG_ERR, "restoring bridge %s: %s", name,
			 err[0] ? err : strerror(-rc));
	return rc;
}

static int start_restore_port(void *opaque, const struct vsw_cfg_port *p)
{
	struct vswd *d = opaque;
	char err[VSWD_ERR_MAX] = "";
	int rc;

	rc = vswd_port_open(d, p, err, sizeof(err));
	if (rc == 0)
		return 0;
	vswd_log(d, VSW_LOG_WARN,
		 "port %s (%s) restored down: %s; retrying every %d s", p->name,
		 p->type, err, VSWD_RETRY_MS / 1000);
	return vswd_pending_add(d, p, err);
}

int vswd_restore(struct vswd *d)
{
	int rc;

	rc = vsw_cfg_bridge_foreach(d->cfg, start_restore_bridge, d);
	if (rc == 0)
		rc = vsw_cfg_port_foreach(d->cfg, NULL, start_restore_port, d);
	if (rc == 0)
		rc = vswd_flows_restore(d);
	if (rc == 0)
		rc = vswd_mirrors_restore(d);
	if (rc < 0 && vsw_cfg_why(d->cfg)[0])
		vswd_log(d, VSW_LOG_ERR, "restoring the configuration: %s",
			 vsw_cfg_why(d->cfg));
	return rc;
}

/* Add a default port to the store and the switch; a failure only warns. */
static int start_default_port(struct vswd *d, const char *name,
			      const char *type, const char *path)
{
	struct vsw_cfg_port p = {.tag = -1};
	char err[VSWD_ERR_MAX] = "";
	int rc;

	strcpy(p.bridge, "br0");
	strcpy(p.name, name);
	strcpy(p.type, type);
	if (path != NULL) {
		strcpy(p.opts[0].key, "path");
		snprintf(p.opts[0].value, sizeof(p.opts[0].value), "%s", path);
		p.n_opts = 1;
	}
	rc = vswd_port_open(d, &p, err, sizeof(err));
	if (rc < 0) {
		vswd_log(d, VSW_LOG_WARN,
			 "default port %s (%s) not created: %s", name, type,
			 err);
		return 0;
	}
	rc = vsw_cfg_port_add(d->cfg, &p);
	if (rc < 0)
		vswd_log(d, VSW_LOG_ERR, "%s", vsw_cfg_why(d->cfg));
	else
		/* the number the store gave it */
		rc = vsw_switch_set_port_ofport(d->sw, name, p.ofport, err,
						sizeof(err));
	return rc;
}

int vswd_defaults(struct vswd *d)
{
	char err[VSWD_ERR_MAX] = "", path[VSW_CFG_VALUE_MAX + 1];
	bool done;
	int rc;

	rc = vsw_cfg_is_initialized(d->cfg, &done);
	if (rc < 0 || done)
		return rc;
	rc = vsw_cfg_begin(d->cfg);
	if (rc < 0)
		goto fail;
	if (vsw_cfg_bridge_exists(d->cfg, "br0") == 0) {
		rc = vsw_cfg_bridge_add(d->cfg, "br0");
		if (rc < 0)
			goto fail;
		rc = vsw_switch_add_bridge(d->sw, "br0", err, sizeof(err));
		if (rc < 0) {
			vswd_log(d, VSW_LOG_ERR, "default bridge br0: %s", err);
			goto fail;
		}
		rc = start_default_port(d, "vsw0", "tap", NULL);
		if (rc == 0) {
			if ((size_t)snprintf(path, sizeof(path), "%s/vhu0.sock",
					     d->run_dir) < sizeof(path))
				rc = start_default_port(d, "vhu0", "vhostuser",
							path);
			else
				vswd_log(d, VSW_LOG_WARN,
					 "run dir too long: no default "
					 "vhostuser port");
		}
		if (rc < 0)
			goto fail;
	}
	rc = vsw_cfg_set_initialized(d->cfg);
	if (rc == 0)
		rc = vsw_cfg_commit(d->cfg);
	if (rc < 0)
		goto fail;
	vswd_log(d, VSW_LOG_INFO, "new configuration: bridge br0 created");
	return 0;
fail:
	if (vsw_cfg_why(d->cfg)[0])
		vswd_log(d, VSW_LOG_ERR,
			 "creating the default "
			 "configuration: %s",
			 vsw_cfg_why(d->cfg));
	vsw_cfg_rollback(d->cfg);
	return rc;
}

static int start_banner_port(void *opaque, const struct vsw_cfg_port *p)
{
	struct vswd *d = opaque;
	const char *path = vsw_cfg_port_opt(p, "path");
	const char *q = vsw_cfg_port_opt(p, "queues");
	bool client = strcmp(p->type, "vhostuserclient") == 0;
	char mq[96] = "";

	if (path == NULL || (strcmp(p->type, "vhostuser") != 0 && !client))
		return 0;
	if (q != NULL && strcmp(q, "1") != 0)
		snprintf(mq, sizeof(mq), ",queues=%s", q);
	vswd_log(d, VSW_LOG_INFO,
		 "attach a guest to port %s: qemu-system-x86_64 -enable-kvm "
		 "-m 1G -object memory-backend-memfd,id=mem0,size=1G,share=on "
		 "-numa node,memdev=mem0 -chardev socket,id=chr0,path=%s%s "
		 "-netdev vhost-user,id=net0,chardev=chr0%s -device "
		 "virtio-net-pci,netdev=net0%s -nographic "
		 "-drive file=guest.img,if=virtio",
		 p->name, path, client ? ",server=on,wait=off" : "", mq,
		 mq[0] ? ",mq=on" : "");
	return 0;
}

void vswd_print_banner(struct vswd *d)
{
	vswd_log(d, VSW_LOG_INFO,
		 "vswd %s ready: control socket %s, run dir "
		 "%s, configuration %s",
		 VSWD_VERSION, d->ctl_path, d->run_dir, d->db_path);
	vsw_cfg_port_foreach(d->cfg, NULL, start_banner_port, d);
}
