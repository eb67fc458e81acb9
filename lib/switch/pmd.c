/* SPDX-License-Identifier: MIT */
/*
 * Data-plane threads ("vsw-pmd<N>"): each polls the rxqs of its list
 * (struct sw_pmd_list) in bursts of VSW_PORT_BURST and hands every burst
 * to sw_forward() (forward.c); sleeps on the queues' kick fds when idle
 * after an adaptive spin (spin.h); counts its cycles (TSC, calibrated at
 * switch creation) per stage; reports quiescent points (sync.c's grace
 * periods). No lock, no allocation, no system call per packet.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/eventfd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "switch_priv.h"
#include "vsw_time.h"

static inline uint64_t sw_cycles(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	return vsw_now_ns();
#endif
}

/*
 * A clock reading and the TSC at that moment (the middle of the two TSC
 * reads around it); taken again (a few times) when the thread was
 * preempted in between, which would skew the rate.
 */
static void sw_clock_pair(uint64_t *tsc, uint64_t *ns)
{
	uint64_t a, b, n;
	unsigned i;

	for (i = 0;; i++) {
		a = sw_cycles();
		n = vsw_now_ns();
		b = sw_cycles();
		if (b - a < 20000 || i == 8)
			break;
	}
	*tsc = a + (b - a) / 2;
	*ns = n;
}

uint64_t sw_cycles_per_us(void)
{
	struct timespec d = {.tv_nsec = 2000000};
	uint64_t c0, n0, c1, n1, r;

	/*
	 * No kernel interface tells the TSC rate: measure it against
	 * CLOCK_MONOTONIC over >= 2 ms (0.1 % is plenty for spin windows).
	 */
	sw_clock_pair(&c0, &n0);
	do {
		nanosleep(&d, NULL);
		sw_clock_pair(&c1, &n1);
	} while (n1 - n0 < 2000000);
	r = (c1 - c0) * 1000 / (n1 - n0);
	return r != 0 ? r : 1;
}

/*
 * Sleep until one of the list's rxqs (or the control thread) kicks.
 * Returns without sleeping if a queue has no wait fd or has work. now is
 * the TSC read that ended the last iteration (counted up to there); returns
 * the TSC at the end, counting the time in between as idle. *rx: traffic
 * ended it (a queue had work when armed, or an rxq's fd is readable).
 */
static uint64_t sw_pmd_sleep(struct sw_pmd *pmd, const struct sw_pmd_list *l,
			     uint64_t now, bool *rx)
{
	struct pollfd *fds = l->pfds;
	bool pending = false;
	unsigned i, armed;
	uint64_t t1, v;

	*rx = false;

	for (i = 0; i < l->n; i++) {
		const struct vsw_port_ops *ops = l->q[i].port->ops;

		if (ops->rxq_wait_fd == NULL || ops->rxq_arm == NULL ||
		    ops->rxq_disarm == NULL)
			return now;
		fds[i].fd = ops->rxq_wait_fd(l->q[i].port, l->q[i].rxq);
		if (fds[i].fd < 0)
			return now;
		fds[i].events = POLLIN;
		fds[i].revents = 0;
	}
	fds[l->n].fd = pmd->wake_fd;
	fds[l->n].events = POLLIN;
	fds[l->n].revents = 0;
	/* enable notifications, then re-check (the provider's rxq_arm) */
	for (armed = 0; armed < l->n && !pending; armed++)
		pending = l->q[armed].port->ops->rxq_arm(l->q[armed].port,
							 l->q[armed].rxq);
	if (!pending) {
		vsw_ctr_add(&pmd->st.sleeps, 1);
		while (poll(fds, l->n + 1, -1) < 0 && errno == EINTR)
			;
		if (fds[l->n].revents & POLLIN) {
			if (read(pmd->wake_fd, &v, sizeof(v)) == sizeof(v))
				vsw_ctr_add(&pmd->st.wakeups_ctl, 1);
		}
		for (i = 0; i < l->n; i++)
			*rx |= (fds[i].revents & POLLIN) != 0;
	}
	*rx |= pending;
	for (i = 0; i < armed; i++)
		l->q[i].port->ops->rxq_disarm(l->q[i].port, l->q[i].rxq);
	t1 = sw_cycles();
	vsw_ctr_add(&pmd->st.idle_cycles, t1 - now);
	if (!pending)
		vsw_ctr_add(&pmd->st.sleep_cycles, t1 - now);
	return t1;
}

/*
 * The next spin window (spin.h) after a wake-up by traffic gap cycles
 * after the last packet, published for pmd-stats.
 */
static uint64_t sw_pmd_spin(struct sw_pmd *pmd, uint64_t spin, uint64_t gap,
			    uint64_t base)
{
	const struct vsw_switch *sw = pmd->sw;

	/* Relaxed: a setting, vsw_switch_set_spin() publishes no more. */
	spin = sw_spin_next(spin, gap, base, vsw_load_relaxed(&sw->spin_cap));
	sw_ctr_set(&pmd->st.spin_us, (unsigned)(spin / sw->cycles_per_us));
	return spin;
}

static void *sw_pmd_main(void *arg)
{
	struct sw_pmd *pmd = arg;
	struct vsw_switch *sw = pmd->sw;
	struct vsw_pkt *pkts[VSW_PORT_BURST];
	const uint64_t base = SW_SPIN_BASE_US * sw->cycles_per_us;
	unsigned empty = 0, i;
	uint64_t t0 = sw_cycles();
	uint64_t last_rx = t0; /* end of the last iteration that got packets */
	uint64_t spin;	       /* the spin window, cycles (spin.h) */

	spin = sw_pmd_spin(pmd, 0, 0, base);
	/*
	 * One TSC read per iteration (rdtsc costs tens of ns in some VMs):
	 * the read ending an iteration starts the next one, and the time in
	 * between is busy if the iteration got packets, else idle. The same
	 * read times the spin: an idle thread sleeps once spin cycles passed
	 * since its last packet (and idle_polls empty polls).
	 */
	for (;;) {
		const struct sw_pmd_list *l;
		uint64_t t1, got = 0;

		/* Relaxed: a stop is followed by a wake-up and a join. */
		if (vsw_load_relaxed(&pmd->stop))
			break;
		/* Acquire pairs with the release in sw_republish_lists(). */
		l = vsw_load_acquire(&pmd->list);
		for (i = 0; i < l->n; i++) {
			struct vsw_port *p = l->q[i].port;
			unsigned n;

			/* relaxed: read only to name a stuck thread */
			vsw_store_relaxed(&pmd->doing,
					  SW_DOING(SW_DOING_RECV, l->q[i].rxq,
						   p->id));
			n = p->ops->recv(p, l->q[i].rxq, pmd->pool, pkts,
					 VSW_PORT_BURST);
			if (n == 0)
				continue;
			if (vsw_unlikely(n > VSW_PORT_BURST))
				abort(); /* a provider bug, not peer input */
			got += n;
			vsw_ctr_add(&pmd->st.batches, 1);
			vsw_store_relaxed(&pmd->doing,
					  SW_DOING(SW_DOING_FWD, l->q[i].rxq,
						   p->id));
			sw_forward(pmd, p, l->q[i].rxq, pkts, n);
		}
		/* packet-outs from the control thread (ofctl.c) */
		if (vsw_unlikely(pmd->pout.buf != NULL &&
				 sw_ring_pending(&pmd->pout)))
			got += sw_pout_run(pmd);
		t1 = sw_cycles();
		if (got != 0) {
			vsw_ctr_add(&pmd->st.packets, got);
			vsw_ctr_add(&pmd->st.busy_cycles, t1 - t0);
			empty = 0;
			last_rx = t1;
		} else {
			vsw_ctr_add(&pmd->st.idle_cycles, t1 - t0);
			/* a thread with nothing to poll always sleeps */
			if (++empty >= sw->cfg.idle_polls &&
			    t1 - last_rx >= spin &&
			    (l->n == 0 || !vsw_load_relaxed(&sw->force_poll))) {
				bool rx;

				empty = 0;
				vsw_store_relaxed(&pmd->doing,
						  SW_DOING(SW_DOING_SLEEP, 0, 0));
				t1 = sw_pmd_sleep(pmd, l, t1, &rx);
				if (rx)
					spin = sw_pmd_spin(pmd, spin,
							   t1 - last_rx, base);
			}
		}
		t0 = t1;
		/*
		 * Quiescent point: nothing read through l or the objects it
		 * reaches is used after this. Acquire of gp pairs with the
		 * release RMW in sw_sync(); release of qs pairs with its
		 * acquire load there.
		 */
		vsw_store_release(&pmd->qs, vsw_load_acquire(&sw->gp));
	}
	/* final report so a sync racing with the stop does not hang */
	vsw_store_release(&pmd->qs, vsw_load_acquire(&sw->gp));
	return NULL;
}

int sw_pmd_start(struct vsw_switch *sw, struct sw_pmd *pmd, unsigned idx)
{
	struct vsw_pkt_pool_config pc = {
		.n_small = sw->cfg.pool_small,
		.n_large = sw->cfg.pool_large,
	};
	char name[16];
	int ret;
	unsigned i;

	memset(pmd, 0, sizeof(*pmd));
	pmd->sw = sw;
	pmd->idx = idx;
	pmd->wake_fd = -1;
	ret = vsw_pkt_pool_create(&pc, &pmd->pool);
	if (ret < 0)
		goto fail;
	ret = -ENOMEM;
	pmd->list = sw_list_alloc(0);
	pmd->slot_of =
		malloc(sizeof(*pmd->slot_of) * (VSW_SWITCH_MAX_PORTS + 1));
	pmd->outs = calloc(VSW_SWITCH_MAX_PORTS, sizeof(*pmd->outs));
	if (pmd->list == NULL || pmd->slot_of == NULL || pmd->outs == NULL)
		goto fail;
	ret = sw_ring_init(&pmd->pin, SW_PIN_RING_SIZE);
	if (ret == 0 && idx == 0)
		ret = sw_ring_init(&pmd->pout, SW_POUT_RING_SIZE);
	if (ret < 0)
		goto fail;
	ret = -ENOMEM;
	for (i = 0; i <= VSW_SWITCH_MAX_PORTS; i++)
		pmd->slot_of[i] = 0xffff;
	pmd->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pmd->wake_fd < 0) {
		ret = -errno;
		goto fail;
	}
	pmd->qs = vsw_load_relaxed(&sw->gp);
	ret = -pthread_create(&pmd->tid, NULL, sw_pmd_main, pmd);
	if (ret < 0)
		goto fail;
	pmd->started = true;
	snprintf(name, sizeof(name), "vsw-pmd%u", idx);
	pthread_setname_np(pmd->tid, name);
	return 0;
fail:
	sw_pmd_stop(pmd);
	return ret;
}

void sw_pmd_stop(struct sw_pmd *pmd)
{
	uint64_t one = 1;

	if (pmd->started) {
		vsw_store_relaxed(&pmd->stop, 1);
		if (write(pmd->wake_fd, &one, sizeof(one)) < 0)
			abort(); /* an eventfd write cannot fail here */
		pthread_join(pmd->tid, NULL);
		pmd->started = false;
	}
	if (pmd->wake_fd >= 0)
		close(pmd->wake_fd);
	pmd->wake_fd = -1;
	free(pmd->list);
	pmd->list = NULL;
	sw_ring_fini(&pmd->pin);
	sw_ring_fini(&pmd->pout);
	free(pmd->slot_of);
	pmd->slot_of = NULL;
	free(pmd->outs);
	pmd->outs = NULL;
	vsw_pkt_pool_destroy(pmd->pool);
	pmd->pool = NULL;
}
