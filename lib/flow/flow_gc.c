/* SPDX-License-Identifier: MIT */
/*
 * Deferred reclamation of the flow table: objects that data threads may
 * still be reading (rules, actions, bucket arrays, subtables) wait on the
 * table's garbage list until the sync_try hook has succeeded (a grace period,
 * see flow_priv.h). A leaf: the classifier and the table both use it.
 */
#include <stdlib.h>

#include "flow_priv.h"

void flow_gc_reclaim(struct vsw_flow_table *t)
{
	unsigned i;

	if (t->n_garbage == 0)
		return;
	/* no grace period (a stuck reader): keep it all for the next try */
	if (t->cfg.sync_try != NULL && t->cfg.sync_try(t->cfg.sync_arg) < 0)
		return;
	for (i = 0; i < t->n_garbage; i++)
		free(t->garbage[i]);
	t->n_garbage = 0;
	t->epoch++;
}

void flow_gc_push(struct vsw_flow_table *t, void *p)
{
	if (t->n_garbage == t->cap_garbage) {
		unsigned cap = t->cap_garbage ? t->cap_garbage * 2 : 64;
		void **g = realloc(t->garbage, cap * sizeof(*g));

		if (g == NULL) {
			/* no room to defer: wait now, then free directly */
			flow_gc_reclaim(t);
			if (t->cfg.sync_try != NULL &&
			    t->cfg.sync_try(t->cfg.sync_arg) < 0)
				return; /* a reader may hold it: leaked */
			free(p);
			return;
		}
		t->garbage = g;
		t->cap_garbage = cap;
	}
	t->garbage[t->n_garbage++] = p;
}
