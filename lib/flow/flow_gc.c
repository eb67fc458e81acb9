/* SPDX-License-Identifier: MIT */
/*
 * Deferred reclamation of the flow table: objects that data threads may
 * still be reading (rules, actions, bucket arrays, subtables) wait on the
 * table's garbage list until the sync hook has returned (a grace period,
 * see flow_priv.h). A leaf: the classifier and the table both use it.
 */
#include <stdlib.h>

#include "flow_priv.h"

void flow_gc_reclaim(struct vsw_flow_table *t)
{
	unsigned i;

	if (t->n_garbage == 0)
		return;
	if (t->cfg.sync != NULL)
		t->cfg.sync(t->cfg.sync_arg);
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
			if (t->cfg.sync != NULL)
				t->cfg.sync(t->cfg.sync_arg);
			free(p);
			return;
		}
		t->garbage = g;
		t->cap_garbage = cap;
	}
	t->garbage[t->n_garbage++] = p;
}
