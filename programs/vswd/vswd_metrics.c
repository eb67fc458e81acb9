/* SPDX-License-Identifier: MIT */
/*
 * vswctl metrics: the method "metrics" answers {"text": T} with T the
 * switch's counters in the Prometheus text exposition format 0.0.4:
 * per port (totals over every queue ever used), per queue, per data
 * thread, and the control socket's.
 *
 * The format's rules kept here: each family is one block, its "# HELP"
 * and "# TYPE" lines first, then all its samples; counters end in
 * _total; label values escape backslash, double quote and newline
 * (ports and bridges are names of a restricted alphabet, but the port
 * type and the escaping are not this file's to assume); every line ends
 * with '\n'. Read-only: a read-only client may call it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vswd.h"

#define MET_MAX_PORTS VSW_SWITCH_MAX_PORTS

struct met_port {
	char name[VSW_PORT_NAME_MAX];
	char bridge[VSW_BRIDGE_NAME_MAX];
	char type[32];
	bool link_up;
	unsigned int n_rxq, n_txq;
};

struct met_ports {
	struct vswd *d;
	const char *bridge; /* during port iteration */
	struct met_port *p;
	unsigned int n;
};

static int met_port_cb(const struct vsw_port_info *info, void *arg)
{
	struct met_ports *m = arg;
	struct met_port *p;

	if (m->n >= MET_MAX_PORTS)
		return 1;
	p = &m->p[m->n++];
	snprintf(p->name, sizeof(p->name), "%s", info->name);
	snprintf(p->bridge, sizeof(p->bridge), "%s", info->bridge);
	snprintf(p->type, sizeof(p->type), "%s", info->type);
	p->link_up = info->link_up;
	p->n_rxq = info->n_rxq;
	p->n_txq = info->n_txq;
	return 0;
}

static int met_bridge_cb(const char *bridge, void *arg)
{
	struct met_ports *m = arg;

	return vsw_switch_port_iter(m->d->sw, bridge, met_port_cb, m);
}

/* A label value, escaped as the format wants. */
static void met_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void met_family(FILE *f, const char *name, const char *type,
		       const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{bridge="B",port="P"[,queue="Q"][,reason="R"]} */
static void met_port_labels(FILE *f, const char *name, const struct met_port *p,
			    int q, const char *reason)
{
	fprintf(f, "%s{bridge=\"", name);
	met_label(f, p->bridge);
	fputs("\",port=\"", f);
	met_label(f, p->name);
	fputc('"', f);
	if (q >= 0)
		fprintf(f, ",queue=\"%d\"", q);
	if (reason != NULL) {
		fputs(",reason=\"", f);
		met_label(f, reason);
		fputc('"', f);
	}
	fputc('}', f);
}

/* Which counter of a struct vsw_queue_stats. */
enum met_ctr { MET_PACKETS, MET_BYTES, MET_DROPS };

static void met_qs(FILE *f, const char *name, const struct met_port *p, int q,
		   const struct vsw_queue_stats *st, enum met_ctr c, bool tx)
{
	unsigned int r;

	if (c != MET_DROPS) {
		met_port_labels(f, name, p, q, NULL);
		fprintf(f, " %" PRIu64 "\n",
			c == MET_PACKETS ? st->packets : st->bytes);
		return;
	}
	/* the reasons of this direction only (see enum vsw_drop_reason) */
	for (r = 0; r < VSW_DROP__COUNT; r++) {
		if (vsw_drop_reason_tx(r) != tx)
			continue;
		met_port_labels(f, name, p, q, vsw_drop_reason_name(r));
		fprintf(f, " %" PRIu64 "\n", st->drops[r]);
	}
}

/* The per-port families (q false) or the per-queue ones (q true). */
static void met_ports_out(FILE *f, struct vswd *d, const struct met_ports *m,
			  bool per_queue)
{
	static const struct {
		const char *name, *help;
		bool tx;
		enum met_ctr c;
	} fam[] = {
		{"rx_packets_total", "Packets received.", false, MET_PACKETS},
		{"rx_bytes_total", "Bytes received.", false, MET_BYTES},
		{"rx_drops_total", "Received packets dropped, by reason.",
		 false, MET_DROPS},
		{"tx_packets_total", "Packets sent.", true, MET_PACKETS},
		{"tx_bytes_total", "Bytes sent.", true, MET_BYTES},
		{"tx_drops_total", "Packets not sent, by reason.", true,
		 MET_DROPS},
	};
	unsigned int i, k, q;
	char name[64], help[128];

	for (k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		snprintf(name, sizeof(name), "vsw_%s_%s",
			 per_queue ? "queue" : "port", fam[k].name);
		snprintf(help, sizeof(help), "%s %s", fam[k].help,
			 per_queue ? "Per queue of a port (the current ones)."
				   : "Per port, over every queue it had.");
		met_family(f, name, "counter", help);
		for (i = 0; i < m->n; i++) {
			const struct met_port *p = &m->p[i];
			struct vsw_port_stats ps;
			struct vsw_queue_stats qs;
			unsigned int nq = fam[k].tx ? p->n_txq : p->n_rxq;

			if (!per_queue) {
				if (vsw_switch_port_stats(d->sw, p->name,
							  &ps) == 0)
					met_qs(f, name, p, -1,
					       fam[k].tx ? &ps.tx : &ps.rx,
					       fam[k].c, fam[k].tx);
				continue;
			}
			for (q = 0; q < nq && q < VSW_PORT_MAX_QUEUES; q++)
				if (vsw_switch_queue_stats(d->sw, p->name,
							   fam[k].tx, q,
							   &qs) == 0)
					met_qs(f, name, p, (int)q, &qs,
					       fam[k].c, fam[k].tx);
		}
	}
}

static void met_pmds(FILE *f, struct vswd *d)
{
#define MET_PMD(field, kind, help)                                             \
	{                                                                      \
		"vsw_pmd_" #field, kind, help,                                 \
			offsetof(struct vsw_pmd_stats, field)                  \
	}
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} fam[] = {
		MET_PMD(packets, "counter", "Packets received by the thread."),
		MET_PMD(batches, "counter", "Receive calls that got packets."),
		MET_PMD(busy_cycles, "counter",
			"TSC cycles of iterations that found packets."),
		MET_PMD(idle_cycles, "counter",
			"TSC cycles of iterations that found none."),
		MET_PMD(sleep_cycles, "counter",
			"TSC cycles of idle_cycles spent asleep."),
		MET_PMD(sleeps, "counter", "Times the thread slept in poll."),
		MET_PMD(wakeups_ctl, "counter",
			"Sleeps ended by the control thread."),
		MET_PMD(fdb_learned, "counter", "MAC entries learned."),
		MET_PMD(fdb_full, "counter",
			"MACs not learned: their bucket was full."),
		MET_PMD(emc_hits, "counter", "Exact-match cache hits."),
		MET_PMD(emc_misses, "counter",
			"Classifier lookups (cache misses)."),
		MET_PMD(fast_normal, "counter",
			"Packets of bridges on the actions=normal fast path."),
	};
#undef MET_PMD
	unsigned int n = vsw_switch_n_threads(d->sw), t, k;
	struct vsw_pmd_stats st;
	char name[64];

	for (k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		snprintf(name, sizeof(name), "%s_total", fam[k].name);
		met_family(f, name, fam[k].type, fam[k].help);
		for (t = 0; t < n; t++) {
			uint64_t v;

			if (vsw_switch_pmd_stats(d->sw, t, &st) != 0)
				continue;
			memcpy(&v, (const char *)&st + fam[k].off, sizeof(v));
			fprintf(f, "%s{thread=\"%u\"} %" PRIu64 "\n", name, t,
				v);
		}
	}
	met_family(f, "vsw_pmd_rxqs", "gauge", "Receive queues it polls.");
	for (t = 0; t < n; t++)
		if (vsw_switch_pmd_stats(d->sw, t, &st) == 0)
			fprintf(f, "vsw_pmd_rxqs{thread=\"%u\"} %u\n", t,
				st.n_rxq);
	met_family(f, "vsw_pmd_spin_microseconds", "gauge",
		   "Its adaptive spin window now.");
	for (t = 0; t < n; t++)
		if (vsw_switch_pmd_stats(d->sw, t, &st) == 0)
			fprintf(f,
				"vsw_pmd_spin_microseconds{thread=\"%u\"} %u\n",
				t, st.spin_us);
}

static void met_control(FILE *f, struct vswd *d)
{
	struct vsw_rpc_server_stats st;
	const struct {
		const char *name, *help;
	} ctr[] = {
		{"accepted", "Connections accepted."},
		{"busy", "Connections turned away: server full."},
		{"refused", "Connections refused by the access lists."},
		{"evicted", "Idle connections closed for a new one."},
		{"idle_closed", "Connections closed idle."},
		{"read_timeouts", "Requests not completed in time."},
		{"slow_readers", "Connections closed for not reading."},
		{"batches_refused", "Batches over the limit."},
		{"denied_calls", "Calls a read-only client may not make."},
	};
	unsigned long long v[9];
	char name[64];
	unsigned int k;

	vsw_rpc_server_stats(d->rpc, &st);
	v[0] = st.accepted;
	v[1] = st.busy;
	v[2] = st.refused;
	v[3] = st.evicted;
	v[4] = st.idle_closed;
	v[5] = st.read_timeouts;
	v[6] = st.slow_readers;
	v[7] = st.batches_refused;
	v[8] = st.denied_calls;
	met_family(f, "vsw_control_connections", "gauge",
		   "Control socket connections open now.");
	fprintf(f, "vsw_control_connections %u\n", st.conns);
	for (k = 0; k < sizeof(ctr) / sizeof(ctr[0]); k++) {
		snprintf(name, sizeof(name), "vsw_control_%s_total",
			 ctr[k].name);
		met_family(f, name, "counter", ctr[k].help);
		fprintf(f, "%s %llu\n", name, v[k]);
	}
}

/* The mirrors' families: which one met_mirror_cb prints now. */
struct met_mirrors {
	FILE *f;
	unsigned int family;
};

static int met_mirror_cb(const struct vsw_mirror_info *info, void *arg)
{
	struct met_mirrors *m = arg;
	static const char *const names[] = {
		"vsw_mirror_active",
		"vsw_mirror_packets_total",
		"vsw_mirror_bytes_total",
		"vsw_mirror_drops_total",
	};
	const uint64_t v[] = {info->active ? 1 : 0, info->packets, info->bytes,
			      info->drops};

	fprintf(m->f, "%s{bridge=\"", names[m->family]);
	met_label(m->f, info->bridge);
	fputs("\",mirror=\"", m->f);
	met_label(m->f, info->cfg->name);
	fprintf(m->f, "\"} %" PRIu64 "\n", v[m->family]);
	return 0;
}

static void met_mirrors(FILE *f, struct vswd *d)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{"vsw_mirror_active", "gauge",
		 "1 if the mirror's output port is in its bridge."},
		{"vsw_mirror_packets_total", "counter",
		 "Frames the mirror sent to its output."},
		{"vsw_mirror_bytes_total", "counter",
		 "Bytes the mirror sent to its output."},
		{"vsw_mirror_drops_total", "counter",
		 "Mirrored frames not copied or not taken by the output."},
	};
	struct met_mirrors m = {.f = f};

	for (m.family = 0; m.family < 4; m.family++) {
		met_family(f, fam[m.family].name, fam[m.family].type,
			   fam[m.family].help);
		vsw_switch_mirror_iter(d->sw, NULL, met_mirror_cb, &m);
	}
}

int vswd_m_metrics(void *opaque, json_t *params, json_t **result,
		   struct vsw_rpc_err *e)
{
	static const char *const known[] = {NULL};
	struct vswd *d = opaque;
	struct met_ports m = {.d = d};
	char *text = NULL;
	size_t len = 0;
	unsigned int i;
	FILE *f;
	int rc;

	rc = vsw_rpc_params_only(params, known, e);
	if (rc < 0)
		return rc;
	m.p = calloc(MET_MAX_PORTS, sizeof(*m.p));
	f = open_memstream(&text, &len);
	if (m.p == NULL || f == NULL) {
		free(m.p);
		if (f != NULL)
			fclose(f);
		free(text);
		return vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
	}
	vsw_switch_bridge_iter(d->sw, met_bridge_cb, &m);
	met_family(f, "vsw_port_link_up", "gauge",
		   "1 if the port's link is up.");
	for (i = 0; i < m.n; i++) {
		fputs("vsw_port_link_up{bridge=\"", f);
		met_label(f, m.p[i].bridge);
		fputs("\",port=\"", f);
		met_label(f, m.p[i].name);
		fputs("\",type=\"", f);
		met_label(f, m.p[i].type);
		fprintf(f, "\"} %d\n", m.p[i].link_up ? 1 : 0);
	}
	met_ports_out(f, d, &m, false);
	met_ports_out(f, d, &m, true);
	met_pmds(f, d);
	met_mirrors(f, d);
	if (d->rpc != NULL)
		met_control(f, d);
	free(m.p);
	if (fclose(f) != 0) {
		free(text);
		return vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
	}
	*result = json_pack("{s:s%}", "text", text, len);
	free(text);
	if (*result == NULL)
		return vsw_rpc_fail(e, 0, ENOMEM, "out of memory");
	return 0;
}
