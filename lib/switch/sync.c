/* SPDX-License-Identifier: MIT */
/*
 * What the data threads read, and when the control thread may free what
 * they no longer can: bounded grace periods (sw_sync: every thread has
 * passed a quiescent point since), the deferred frees of a grace period
 * that timed out (sw_retire, the limbo list), and the publication of each
 * thread's polling list and of a port's transmit queues. The protocol is
 * described in switch_priv.h. A leaf of lib/switch: switch.c, port.c,
 * flows.c, fdb.c and pmd.c call it; it calls only log.c. Control thread.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "switch_priv.h"
#include "vsw_time.h"

#define SW_SYNC_REPORT_MS 1000

/* true if every data thread has reported grace period gp. */
static bool sw_gp_passed(const struct vsw_switch *sw, uint64_t gp)
{
	unsigned i;

	for (i = 0; i < sw->n_pmds; i++)
		/* Acquire pairs with the thread's release store of qs. */
		if (vsw_load_acquire(&sw->pmds[i].qs) < gp)
			return false;
	return true;
}

/* Run what waits for grace periods every thread has passed. */
void sw_limbo_reclaim(struct vsw_switch *sw, bool all)
{
	while (sw->limbo != NULL && (all || sw_gp_passed(sw, sw->limbo->gp))) {
		struct sw_limbo *l = sw->limbo;

		sw->limbo = l->next;
		if (sw->limbo == NULL)
			sw->limbo_tail = &sw->limbo;
		sw->n_limbo--;
		l->fn(l->arg);
		free(l);
	}
}

bool sw_stuck_check(struct vsw_switch *sw)
{
	if (sw->stuck_gp == 0)
		return true;
	if (!sw_gp_passed(sw, sw->stuck_gp))
		return false;
	sw_log(sw, VSW_LOG_WARN,
	       "data threads report again after %lld ms; %u deferred frees "
	       "done",
	       (long long)vsw_now_ms() - sw->stuck_since, sw->n_limbo);
	sw->stuck_gp = 0;
	sw->stuck_msg[0] = '\0';
	sw_limbo_reclaim(sw, false);
	return true;
}

/* What pmd i is doing, for the stuck message. */
static void sw_doing_str(const struct vsw_switch *sw, unsigned i, char *buf,
			 size_t len)
{
	uint32_t d = vsw_load_relaxed(&sw->pmds[i].doing);
	unsigned id = d & 0xffff, rxq = (d >> 16) & 0xff;
	const struct vsw_port *p =
		id >= 1 && id <= VSW_SWITCH_MAX_PORTS ? sw->ports[id] : NULL;
	const char *name = p != NULL ? p->name : "(deleted port)";

	switch (d >> 24) {
	case SW_DOING_RECV:
		snprintf(buf, len, " in recv on port %s rxq %u", name, rxq);
		break;
	case SW_DOING_FWD:
		snprintf(buf, len,
			 " forwarding a burst from port %s rxq %u (a send)",
			 name, rxq);
		break;
	case SW_DOING_SLEEP:
		snprintf(buf, len, " asleep (arming or polling its rxqs)");
		break;
	default:
		buf[0] = '\0';
	}
}

/*
 * Wait for grace period gp; timeout_ms < 0: without bound. Returns the
 * index of the first thread that did not report in time, or -1.
 */
static int sw_wait_gp(struct vsw_switch *sw, uint64_t gp, long long timeout_ms)
{
	long long t0 = vsw_now_ms(), next = t0 + SW_SYNC_REPORT_MS;
	unsigned i, spins = 0;
	char doing[128];

	for (i = 0; i < sw->n_pmds; i++) {
		/*
		 * Acquire pairs with the thread's release store of qs: what
		 * it did with the old objects happened before.
		 */
		while (vsw_load_acquire(&sw->pmds[i].qs) < gp) {
			long long now;

			sched_yield();
			if (++spins % 256 != 0)
				continue;
			now = vsw_now_ms();
			if (timeout_ms >= 0 && now - t0 >= timeout_ms)
				return (int)i;
			if (now >= next) {
				sw_doing_str(sw, i, doing, sizeof(doing));
				sw_log(sw, VSW_LOG_ERR,
				       "vsw-pmd%u has not finished its poll "
				       "round for %lld ms%s; the control "
				       "thread waits for it",
				       i, now - t0, doing);
				next += SW_SYNC_REPORT_MS;
			}
		}
	}
	return -1;
}

/* Bump gp (release) and wake every thread; returns the new gp. */
static uint64_t sw_gp_start(struct vsw_switch *sw)
{
	uint64_t one = 1, gp;
	unsigned i;

	/*
	 * Release RMW: every publication before this is visible to a thread
	 * that loads the new gp with acquire (sw_pmd_main's quiescent point).
	 */
	gp = __atomic_add_fetch(&sw->gp, 1, __ATOMIC_RELEASE);
	for (i = 0; i < sw->n_pmds; i++) {
		/* wake a sleeper so that it reports; eventfd never fills */
		if (write(sw->pmds[i].wake_fd, &one, sizeof(one)) < 0)
			abort();
	}
	return gp;
}

int sw_sync(struct vsw_switch *sw)
{
	long long timeout = sw->cfg.sync_timeout_ms;
	uint64_t gp;
	char doing[128];
	int i;

	if (sw->n_pmds == 0)
		return 0;
	/* a thread known to be stuck: fail at once, the loop stays live */
	if (!sw_stuck_check(sw))
		return -ETIMEDOUT;
	gp = sw_gp_start(sw);
	i = sw_wait_gp(sw, gp, timeout);
	if (i < 0) {
		sw_limbo_reclaim(sw, false);
		return 0;
	}
	sw->stuck_gp = gp;
	sw->stuck_since = vsw_now_ms() - timeout;
	sw_doing_str(sw, (unsigned)i, doing, sizeof(doing));
	snprintf(sw->stuck_msg, sizeof(sw->stuck_msg),
		 "pmd thread vsw-pmd%d stuck for %lld s%s", i,
		 (timeout + 999) / 1000, doing);
	sw_log(sw, VSW_LOG_ERR,
	       "%s: control operations that need a grace period fail until it "
	       "reports; what it may hold is not freed",
	       sw->stuck_msg);
	return -ETIMEDOUT;
}

int sw_sync_err(struct vsw_switch *sw, char *err, size_t err_len)
{
	int ret = sw_sync(sw);

	if (ret == -ETIMEDOUT) {
		/* still stuck: say for how long now */
		long long for_ms = (long long)vsw_now_ms() - sw->stuck_since;

		if (sw->stuck_gp != 0 && for_ms >= 1000)
			sw_err(err, err_len, "%s (%lld s now)", sw->stuck_msg,
			       for_ms / 1000);
		else
			sw_err(err, err_len, "%s", sw->stuck_msg);
	}
	return ret;
}

void sw_sync_wait(struct vsw_switch *sw)
{
	uint64_t gp;

	if (sw->n_pmds == 0)
		return;
	gp = sw_gp_start(sw);
	(void)sw_wait_gp(sw, gp, -1);
	(void)sw_stuck_check(sw);
	sw_limbo_reclaim(sw, false);
}

void sw_free_fn(void *arg)
{
	free(arg);
}

void sw_retire(struct vsw_switch *sw, void (*fn)(void *arg), void *arg)
{
	struct sw_limbo *l;

	if (arg == NULL)
		return;
	if (sw->n_pmds == 0 || sw_gp_passed(sw, vsw_load_relaxed(&sw->gp))) {
		fn(arg);
		return;
	}
	l = malloc(sizeof(*l));
	if (l == NULL) {
		/* a stuck thread may hold it: a leak, never a use-after-free */
		sw->n_leaked++;
		sw_log(sw, VSW_LOG_ERR,
		       "out of memory deferring a free: leaked (%u so far)",
		       sw->n_leaked);
		return;
	}
	l->next = NULL;
	l->gp = vsw_load_relaxed(&sw->gp);
	l->fn = fn;
	l->arg = arg;
	*sw->limbo_tail = l;
	sw->limbo_tail = &l->next;
	sw->n_limbo++;
}

/* ---- polling lists ---- */

struct sw_pmd_list *sw_list_alloc(unsigned n)
{
	size_t qbytes = sizeof(struct sw_pmd_list) +
			(size_t)n * sizeof(struct sw_pmd_rxq);
	struct sw_pmd_list *l;

	qbytes = VSW_ALIGN_UP(qbytes, sizeof(void *));
	l = calloc(1, qbytes + (size_t)(n + 1) * sizeof(struct pollfd));
	if (l == NULL)
		return NULL;
	l->pfds = (struct pollfd *)((char *)l + qbytes);
	return l;
}

/*
 * Entries of `old` that are also in `nw` (both sorted by port id, then
 * rxq), or NULL on allocation failure.
 */
static struct sw_pmd_list *sw_list_keep(const struct sw_pmd_list *old,
					const struct sw_pmd_list *nw)
{
	struct sw_pmd_list *l = sw_list_alloc(old->n);
	unsigned i = 0, j = 0;

	if (l == NULL)
		return NULL;
	while (i < old->n && j < nw->n) {
		const struct sw_pmd_rxq *a = &old->q[i], *b = &nw->q[j];

		if (a->port == b->port && a->rxq == b->rxq) {
			l->q[l->n++] = *a;
			i++;
			j++;
		} else if (a->port->id < b->port->id ||
			   (a->port->id == b->port->id && a->rxq < b->rxq)) {
			i++;
		} else {
			j++;
		}
	}
	return l;
}

static void sw_lists_free(struct sw_pmd_list **l, unsigned n)
{
	unsigned t;

	for (t = 0; t < n; t++) {
		free(l[t]);
		l[t] = NULL;
	}
}

/*
 * Publish every thread's polling list for the current ports. An rxq that
 * changes thread must never be polled by both: first every thread gets its
 * old list minus what leaves it (phase 1), one grace period, then the new
 * lists (phase 2), another grace period; then the old lists are freed.
 */
int sw_republish_lists(struct vsw_switch *sw)
{
	struct sw_pmd_list *nl[VSW_SWITCH_MAX_THREADS] = {0};
	struct sw_pmd_list *keep[VSW_SWITCH_MAX_THREADS] = {0};
	struct sw_pmd_list *old[VSW_SWITCH_MAX_THREADS];
	unsigned cnt[VSW_SWITCH_MAX_THREADS] = {0};
	unsigned n = sw->n_pmds, k, id, q, t;
	bool shrink = false;
	int ret;

	if (n == 0)
		return 0;
	/* round robin over every (port, rxq) in id order */
	for (k = 0, id = 1; id <= VSW_SWITCH_MAX_PORTS; id++) {
		struct vsw_port *p = sw->ports[id];

		if (p != NULL)
			for (q = 0; q < p->n_rxq; q++)
				cnt[k++ % n]++;
	}
	for (t = 0; t < n; t++) {
		nl[t] = sw_list_alloc(cnt[t]);
		if (nl[t] == NULL)
			goto nomem;
	}
	for (k = 0, id = 1; id <= VSW_SWITCH_MAX_PORTS; id++) {
		struct vsw_port *p = sw->ports[id];

		if (p == NULL)
			continue;
		for (q = 0; q < p->n_rxq; q++) {
			struct sw_pmd_list *l = nl[k++ % n];

			l->q[l->n].port = p;
			l->q[l->n].rxq = q;
			l->n++;
		}
	}
	for (t = 0; t < n; t++) {
		old[t] = sw->pmds[t].list;
		keep[t] = sw_list_keep(old[t], nl[t]);
		if (keep[t] == NULL)
			goto nomem;
		if (keep[t]->n != old[t]->n)
			shrink = true;
	}
	if (shrink) {
		for (t = 0; t < n; t++)
			/* Release pairs with the acquire in sw_pmd_main(). */
			vsw_store_release(&sw->pmds[t].list, keep[t]);
		ret = sw_sync(sw);
		if (ret < 0) {
			/*
			 * A thread may still poll its old list: handing an
			 * rxq to another thread now could have it polled
			 * twice. Stay on the kept lists (a subset: safe, some
			 * rxqs unpolled) and redo this once it reports.
			 */
			sw->lists_dirty = true;
			for (t = 0; t < n; t++)
				sw_retire(sw, sw_free_fn, old[t]);
			sw_lists_free(nl, n);
			return ret;
		}
	}
	for (t = 0; t < n; t++)
		/* Release pairs with the acquire load in sw_pmd_main(). */
		vsw_store_release(&sw->pmds[t].list, nl[t]);
	/*
	 * A timeout here leaves the new lists published (each keeps what its
	 * thread polled through phase 1): only the frees wait.
	 */
	ret = sw_sync(sw);
	for (t = 0; t < n; t++) {
		sw_retire(sw, sw_free_fn, old[t]);
		sw_retire(sw, sw_free_fn, keep[t]);
	}
	sw->lists_dirty = false;
	return ret;
nomem:
	sw_lists_free(nl, n);
	sw_lists_free(keep, n);
	return -ENOMEM;
}

/*
 * Change a port's txq count / lock flag. While threads run, go through
 * "old count, locked" and "new count, locked", one grace period each, so
 * two threads never use one txq unlocked across the change.
 */
void sw_port_set_txq(struct vsw_switch *sw, struct vsw_port *port,
		     unsigned n_txq)
{
	uint32_t old = vsw_load_relaxed(&port->txq_info);
	uint32_t want = n_txq | (n_txq < sw->n_pmds ? SW_TXQ_LOCK : 0);

	port->n_txq = n_txq;
	if (old == want)
		return;
	if (sw->n_pmds != 0 && sw->ports[port->id] == port &&
	    (old & SW_TXQ_NMASK) != n_txq) {
		unsigned lo = (old & SW_TXQ_NMASK) < n_txq
				      ? (old & SW_TXQ_NMASK)
				      : n_txq;

		vsw_store_relaxed(&port->txq_info, old | SW_TXQ_LOCK);
		if (sw_sync(sw) < 0) {
			/*
			 * Some thread may still send unlocked on the old
			 * count: stay locked, on the queues both counts have.
			 * A later change (or this port's next one) moves on.
			 */
			vsw_store_relaxed(&port->txq_info,
					  (lo != 0 ? lo : n_txq) | SW_TXQ_LOCK);
			return;
		}
		vsw_store_relaxed(&port->txq_info, n_txq | SW_TXQ_LOCK);
		if (sw_sync(sw) < 0)
			return; /* locked: safe for every count */
	}
	vsw_store_relaxed(&port->txq_info, want);
}
