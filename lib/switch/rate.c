/* SPDX-License-Identifier: MIT */
/*
 * Port options at run time and the rate limits the switch applies to every
 * port type.
 *
 * Options. A port's options are split at add-port: the rate keys below are
 * the switch's, the rest the provider's (its open() never sees the rate
 * keys). The switch keeps a copy of what the provider runs with (opts), so
 * vsw_switch_set_port_opts() can tell what changed: only then is the
 * provider's reconfigure op called (and without one the change is refused,
 * naming the option). Everything is validated and allocated before the
 * provider changes anything, and the rate limits are swapped only after it
 * succeeded: a refused change leaves the port as it ran.
 *
 * Rate limits (token buckets, tb.h), in Open vSwitch's units:
 *   ingress_policing_rate=KBPS   kilobits (1000 bits) per second; 0: off
 *   ingress_policing_burst=KB    kilobits; 0 (default): 8000 kbit, OVS's
 *   max-rate=BPS                 egress, bits per second; 0: off
 *   max-burst=BITS               egress bucket; 0 (default): 10 ms of
 *                                max-rate, at least 64 KiB (a TSO frame)
 * Ingress frames over the rate are dropped before forwarding (rx_policed,
 * counted in rx packets too, like every rx drop); egress frames over the
 * max-rate are dropped before send (tx_rate). Egress is policing too, not
 * a queue: a data thread never holds or waits for frames.
 *
 * Data path cost: with no limit set, one relaxed load and a predicted
 * branch per burst (port->police, port->shape). With one: per burst, a
 * spinlock (uncontended unless several threads poll the port's rxqs or
 * send to it), one vDSO clock read (vsw_now_ns, no system call) and the
 * refill; per frame a compare and a subtraction. The flow path's
 * frame-by-frame sends (an edit after an output, goto_table) keep that
 * cost per burst too: the first frame a burst sends to a shaped port takes
 * the burst's worth of tokens under the lock (its bytes plus a VLAN tag
 * per frame, at most what the bucket holds), the frames spend them without
 * it, and what is left goes back at the end of the burst (a struct
 * sw_credit per port, sw_shape_credit_begin / _end). Meanwhile another
 * thread sending to that port sees the bucket short of at most that one
 * burst's bytes: the tokens are lent, never lost or made. The bucket objects are
 * published like every other (switch_priv.h): release store of the
 * pointer, a grace period, then the old one is freed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switch_priv.h"
#include "tb.h"
#include "vsw_time.h"

/* Kilobits are Open vSwitch's (tc's): 1000 bits. */
#define RATE_KBIT 1000ull
#define RATE_BURST_DEFAULT_KB 8000ull
#define RATE_MAX_BURST_MIN (65536ull * 8)
#define RATE_LIMIT 4294967295ull /* kbps, kb; and x1000 for bits */

static const char *const rate_keys[] = {VSW_PORT_OPT_POLICE_RATE,
					VSW_PORT_OPT_POLICE_BURST,
					VSW_PORT_OPT_MAX_RATE,
					VSW_PORT_OPT_MAX_BURST, NULL};

bool vsw_switch_port_opt_own(const char *key)
{
	unsigned i;

	for (i = 0; rate_keys[i] != NULL; i++)
		if (strcmp(key, rate_keys[i]) == 0)
			return true;
	return false;
}

static int rate_u64(const struct vsw_port_opt *opts, unsigned n,
		    const char *key, uint64_t max, uint64_t *out, char *err,
		    size_t err_len)
{
	const char *v = vsw_port_opt_get(opts, n, key);
	unsigned long long x;
	char *end;

	*out = 0;
	if (v == NULL)
		return 0;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || x > max) {
		sw_err(err, err_len,
		       "option %s=%s: expected an integer in 0..%" PRIu64, key,
		       v, max);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int sw_rate_split(const struct vsw_port_opt *opts, unsigned n,
		  struct sw_rate_cfg *cfg, struct vsw_port_opt **prov,
		  unsigned *n_prov, char *err, size_t err_len)
{
	uint64_t kbps, kb, bps, bits;
	unsigned i, k = 0;
	int ret;

	*prov = NULL;
	*n_prov = 0;
	for (i = 0; i < n; i++)
		if (opts[i].key == NULL || opts[i].value == NULL) {
			sw_err(err, err_len, "option without a key or value");
			return -EINVAL;
		}
	ret = rate_u64(opts, n, VSW_PORT_OPT_POLICE_RATE, RATE_LIMIT, &kbps,
		       err, err_len);
	if (ret == 0)
		ret = rate_u64(opts, n, VSW_PORT_OPT_POLICE_BURST, RATE_LIMIT,
			       &kb, err, err_len);
	if (ret == 0)
		ret = rate_u64(opts, n, VSW_PORT_OPT_MAX_RATE,
			       RATE_LIMIT * RATE_KBIT, &bps, err, err_len);
	if (ret == 0)
		ret = rate_u64(opts, n, VSW_PORT_OPT_MAX_BURST,
			       RATE_LIMIT * RATE_KBIT, &bits, err, err_len);
	if (ret < 0)
		return ret;
	memset(cfg, 0, sizeof(*cfg));
	if (kbps != 0) {
		cfg->in_rate = kbps * RATE_KBIT;
		cfg->in_burst =
			(kb != 0 ? kb : RATE_BURST_DEFAULT_KB) * RATE_KBIT;
	}
	if (bps != 0) {
		cfg->out_rate = bps;
		if (bits == 0) {
			bits = bps / 100;
			if (bits < RATE_MAX_BURST_MIN)
				bits = RATE_MAX_BURST_MIN;
		}
		cfg->out_burst = bits;
	}
	*prov = calloc(n ? n : 1, sizeof(**prov));
	if (*prov == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (!vsw_switch_port_opt_own(opts[i].key))
			(*prov)[k++] = opts[i];
	*n_prov = k;
	return 0;
}

int vsw_switch_port_opts_check(const struct vsw_port_opt *opts, unsigned n_opts,
			       char *err, size_t err_len)
{
	struct vsw_port_opt *prov;
	struct sw_rate_cfg cfg;
	unsigned n;
	int ret;

	ret = sw_rate_split(opts, n_opts, &cfg, &prov, &n, err, err_len);
	free(prov);
	return ret;
}

struct vsw_port_opt *sw_opts_dup(const struct vsw_port_opt *o, unsigned n)
{
	struct vsw_port_opt *c;
	size_t sz = (n ? n : 1) * sizeof(*c);
	unsigned i;
	char *s;

	for (i = 0; i < n; i++)
		sz += strlen(o[i].key) + strlen(o[i].value) + 2;
	c = malloc(sz);
	if (c == NULL)
		return NULL;
	s = (char *)(c + (n ? n : 1));
	for (i = 0; i < n; i++) {
		size_t kl = strlen(o[i].key) + 1, vl = strlen(o[i].value) + 1;

		memcpy(s, o[i].key, kl);
		c[i].key = s;
		s += kl;
		memcpy(s, o[i].value, vl);
		c[i].value = s;
		s += vl;
	}
	return c;
}

/* A full bucket, or NULL in *out when rate is 0 (no limit). */
static int rate_make(uint64_t rate, uint64_t burst, struct sw_rate **out)
{
	struct sw_rate *r;

	*out = NULL;
	if (rate == 0)
		return 0;
	r = aligned_alloc(VSW_CACHE_LINE,
			  VSW_ALIGN_UP(sizeof(*r), VSW_CACHE_LINE));
	if (r == NULL)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	sw_tb_init(&r->tb, rate, burst, vsw_now_ns());
	*out = r;
	return 0;
}

int sw_rate_build(const struct sw_rate_cfg *cfg, struct sw_rate **police,
		  struct sw_rate **shape)
{
	int ret;

	ret = rate_make(cfg->in_rate, cfg->in_burst, police);
	if (ret < 0)
		return ret;
	ret = rate_make(cfg->out_rate, cfg->out_burst, shape);
	if (ret < 0) {
		free(*police);
		*police = NULL;
	}
	return ret;
}

/* ---- data path ---- */

unsigned sw_police_burst(struct vsw_port *in, struct sw_rxq *rq,
			 struct vsw_pkt **pkts, unsigned n)
{
	/* Acquire pairs with the release store in vsw_switch_set_port_opts. */
	struct sw_rate *r = vsw_load_acquire(&in->police);
	uint64_t dropped_bytes = 0;
	unsigned i, k = 0;

	if (r == NULL)
		return n;
	sw_lock(&r->lock);
	sw_tb_refill(&r->tb, vsw_now_ns());
	for (i = 0; i < n; i++) {
		if (vsw_likely(sw_tb_take(&r->tb, pkts[i]->len))) {
			pkts[k++] = pkts[i];
			continue;
		}
		dropped_bytes += pkts[i]->len;
		vsw_pkt_free(pkts[i]);
	}
	sw_unlock(&r->lock);
	if (k < n) {
		/* received, then dropped: in rx packets like every rx drop */
		vsw_ctr_add(&rq->st.packets, n - k);
		vsw_ctr_add(&rq->st.bytes, dropped_bytes);
		vsw_ctr_add(&rq->st.drops[VSW_DROP_RX_POLICED], n - k);
	}
	return k;
}

/*
 * The credit of bucket r for this burst: opened on the first frame (the
 * one lock, clock read and refill of the burst), NULL when the table is
 * full (then frame by frame, as without credit).
 */
static struct sw_credit *rate_credit(struct sw_pmd *pmd, struct sw_rate *r)
{
	struct sw_credit *c;
	unsigned i;

	for (i = 0; i < pmd->n_credit; i++)
		if (pmd->credit[i].r == r)
			return &pmd->credit[i];
	if (pmd->n_credit == SW_CREDIT_MAX)
		return NULL;
	c = &pmd->credit[pmd->n_credit++];
	c->r = r;
	sw_lock(&r->lock);
	sw_tb_refill(&r->tb, vsw_now_ns());
	c->bits = r->tb.tokens < pmd->credit_budget ? r->tb.tokens
						    : pmd->credit_budget;
	c->bits &= ~7ull; /* whole bytes: sw_tb_refund gives back bytes */
	r->tb.tokens -= c->bits;
	sw_unlock(&r->lock);
	return c;
}

/*
 * A frame of len bytes from credit c; a frame the credit does not cover
 * (the burst sent some frame twice there) takes the shortfall from the
 * bucket, refilled when the credit was opened, as a burst's takes are.
 */
static bool rate_credit_take(struct sw_credit *c, uint32_t len)
{
	uint64_t need = (uint64_t)len * 8;
	bool ok;

	if (vsw_likely(need <= c->bits)) {
		c->bits -= need;
		return true;
	}
	sw_lock(&c->r->lock);
	ok = sw_tb_take(&c->r->tb, (uint32_t)((need - c->bits) / 8));
	sw_unlock(&c->r->lock);
	if (ok)
		c->bits = 0;
	return ok;
}

void sw_shape_credit_begin(struct sw_pmd *pmd, uint64_t bytes, unsigned n)
{
	pmd->credit_budget = (bytes + (uint64_t)n * 4) * 8;
	pmd->n_credit = 0;
	pmd->credit_on = true;
}

void sw_shape_credit_end(struct sw_pmd *pmd)
{
	unsigned i;

	for (i = 0; i < pmd->n_credit; i++) {
		struct sw_credit *c = &pmd->credit[i];

		if (c->bits == 0)
			continue;
		sw_lock(&c->r->lock);
		sw_tb_refund(&c->r->tb, c->bits / 8);
		sw_unlock(&c->r->lock);
	}
	pmd->n_credit = 0;
	pmd->credit_on = false;
}

unsigned sw_shape_burst(struct sw_pmd *pmd, struct vsw_port *port,
			struct vsw_pkt *const *pkts, unsigned n,
			struct vsw_pkt **ok, uint64_t *bytes)
{
	/* Acquire pairs with the release store in vsw_switch_set_port_opts. */
	struct sw_rate *r = vsw_load_acquire(&port->shape);
	struct sw_credit *c;
	unsigned i, k = 0;

	*bytes = 0;
	if (r == NULL) {
		for (i = 0; i < n; i++) {
			ok[i] = pkts[i];
			*bytes += pkts[i]->len;
		}
		return n;
	}
	c = pmd->credit_on ? rate_credit(pmd, r) : NULL;
	if (c != NULL) {
		for (i = 0; i < n; i++)
			if (vsw_likely(rate_credit_take(c, pkts[i]->len))) {
				ok[k++] = pkts[i];
				*bytes += pkts[i]->len;
			}
		return k;
	}
	sw_lock(&r->lock);
	sw_tb_refill(&r->tb, vsw_now_ns());
	for (i = 0; i < n; i++)
		if (vsw_likely(sw_tb_take(&r->tb, pkts[i]->len))) {
			ok[k++] = pkts[i];
			*bytes += pkts[i]->len;
		}
	sw_unlock(&r->lock);
	return k;
}

void sw_shape_refund(struct sw_pmd *pmd, struct vsw_port *port, uint64_t bytes)
{
	/* Acquire pairs with the release store in vsw_switch_set_port_opts. */
	struct sw_rate *r = vsw_load_acquire(&port->shape);
	unsigned i;

	if (r == NULL || bytes == 0)
		return;
	/* into the burst's credit, given back with it */
	for (i = 0; pmd->credit_on && i < pmd->n_credit; i++)
		if (pmd->credit[i].r == r) {
			pmd->credit[i].bits += bytes * 8;
			return;
		}
	sw_lock(&r->lock);
	sw_tb_refund(&r->tb, bytes);
	sw_unlock(&r->lock);
}

/* ---- control ---- */

static bool rate_cfg_same(const struct sw_rate_cfg *a,
			  const struct sw_rate_cfg *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Whether the provider's options differ as sets (order aside). */
static bool opts_differ(const struct vsw_port_opt *a, unsigned na,
			const struct vsw_port_opt *b, unsigned nb)
{
	unsigned i;

	for (i = 0; i < na; i++)
		if (vsw_port_opt_changed(a, na, b, nb, a[i].key))
			return true;
	for (i = 0; i < nb; i++)
		if (vsw_port_opt_changed(a, na, b, nb, b[i].key))
			return true;
	return false;
}

int vsw_switch_set_port_opts(struct vsw_switch *sw, const char *name,
			     const struct vsw_port_opt *opts, unsigned n_opts,
			     char *err, size_t err_len)
{
	struct sw_rate *police = NULL, *shape = NULL, *old_p, *old_s;
	struct vsw_port_opt *prov = NULL, *copy = NULL;
	struct sw_rate_cfg cfg;
	struct vsw_port *p;
	unsigned n_prov;
	bool prov_changed, rate_changed;
	int ret;

	sw_err_clear(err, err_len);
	p = name != NULL ? vsw_switch_port_find(sw, name) : NULL;
	if (p == NULL) {
		sw_err(err, err_len, "no port %s", name ? name : "(null)");
		return -ENOENT;
	}
	ret = sw_rate_split(opts, n_opts, &cfg, &prov, &n_prov, err, err_len);
	if (ret < 0)
		goto out;
	prov_changed = opts_differ(p->opts, p->n_opts, prov, n_prov);
	rate_changed = !rate_cfg_same(&cfg, &p->rate_cfg);
	if (!prov_changed && !rate_changed)
		goto out;
	if (prov_changed && p->ops->reconfigure == NULL) {
		unsigned i;
		const char *key = NULL;

		for (i = 0; key == NULL && i < n_prov; i++)
			if (vsw_port_opt_changed(p->opts, p->n_opts, prov,
						 n_prov, prov[i].key))
				key = prov[i].key;
		for (i = 0; key == NULL && i < p->n_opts; i++)
			if (vsw_port_opt_changed(p->opts, p->n_opts, prov,
						 n_prov, p->opts[i].key))
				key = p->opts[i].key;
		sw_err(err, err_len,
		       "option %s: type %s changes no option on a running "
		       "port: del-port and add-port it with the options wanted",
		       key ? key : "?", p->ops->type);
		ret = -EOPNOTSUPP;
		goto out;
	}
	/* everything that can fail before the provider changes anything */
	if (rate_changed) {
		ret = sw_sync_err(sw, err, err_len);
		if (ret == 0)
			ret = sw_rate_build(&cfg, &police, &shape);
		if (ret < 0)
			goto out;
	}
	if (prov_changed) {
		copy = sw_opts_dup(prov, n_prov);
		if (copy == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		ret = p->ops->reconfigure(p, p->opts, p->n_opts, prov, n_prov,
					  err, err_len);
		if (ret < 0) {
			if (err != NULL && err_len != 0 && err[0] == '\0')
				sw_err(err, err_len, "port %s: %s", name,
				       strerror(-ret));
			goto out;
		}
		free(p->opts);
		p->opts = copy;
		p->n_opts = n_prov;
		copy = NULL;
	}
	if (rate_changed) {
		old_p = p->police;
		old_s = p->shape;
		/* Release pairs with the acquire loads in the data path. */
		vsw_store_release(&p->police, police);
		vsw_store_release(&p->shape, shape);
		p->rate_cfg = cfg;
		police = shape = NULL;
		(void)sw_sync(sw);
		sw_retire(sw, sw_free_fn, old_p);
		sw_retire(sw, sw_free_fn, old_s);
	}
	sw_log(sw, VSW_LOG_INFO, "port %s: options changed", name);
out:
	free(police);
	free(shape);
	free(copy);
	free(prov);
	return ret;
}
