/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

/* The store's events, as the caller may see them. */

/* Check filter <f>: a known type, a time not before the epoch. */
static int
ops_event_filter_check(const struct ops_event_filter *f, struct ops_err *err)
{
	if (f == NULL)
		return 0;
	if (f->type != NULL && !ops_event_type_known(f->type))
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "unknown event type '%.100s'", f->type);
	if (f->since_ms < 0)
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "since: a time before 1970");
	return 0;
}

int
ops_event_list(struct ops *ops, const struct ops_event_filter *f,
    const struct ops_page *page, struct store_event ***listp, size_t *np,
    int *morep, struct ops_err *err)
{
	struct store_event *before = NULL, **list = NULL;
	const char *type = f == NULL ? NULL : f->type;
	int64_t since = f == NULL ? 0 : f->since_ms;
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	*listp = NULL;
	*np = 0;
	*morep = 0;
	if ((r = ops_check_page(page, err)) != 0 ||
	    (r = ops_event_filter_check(f, err)) != 0)
		goto out;
	if (page == NULL) {
		/* Every one, newest first: the store lists oldest first. */
		if ((r = ops_event_follow(ops, 0, f, 0, &list, &n, err)) != 0)
			goto out;
		for (i = 0; i < n / 2; i++) {
			before = list[i];
			list[i] = list[n - 1 - i];
			list[n - 1 - i] = before;
		}
		before = NULL;
		*listp = list; /* the caller's */
		*np = n;
		list = NULL;
		n = 0;
		goto out;
	}
	if (page->before_id != NULL &&
	    (store_event_get(ops->store, page->before_id, &before) != 0 ||
	        !ops_visible(ops, before->account_id))) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "before_id '%.100s' names no event", page->before_id);
		goto out;
	}
	if ((r = store_event_page(ops->store, ops->scope, type, since,
	         page->before_id, ops_page_limit(page), listp, np, morep)) != 0)
		ops_errf_r(err, ops, r, "list events");
out:
	store_event_list_free(list, n);
	store_event_free(before);
	return r;
}

int
ops_event_follow(struct ops *ops, int64_t after_seq,
    const struct ops_event_filter *f, size_t limit, struct store_event ***listp,
    size_t *np, struct ops_err *err)
{
	struct store_event **list = NULL;
	size_t n = 0, i, k, skip;
	int r = PORTHOLE_ERR_INTERNAL;

	*listp = NULL;
	*np = 0;
	if ((r = ops_event_filter_check(f, err)) != 0)
		goto out;
	/* For an account scope, filtered here, so the limit comes after. */
	if ((r = store_event_list(ops->store, after_seq,
	         f == NULL ? NULL : f->type, f == NULL ? 0 : f->since_ms,
	         ops_is_admin(ops) ? limit : 0, &list, &n)) != 0) {
		ops_errf_r(err, ops, r, "list events");
		goto out;
	}
	if (!ops_is_admin(ops)) {
		for (i = k = 0; i < n; i++) {
			if (ops_visible(ops, list[i]->account_id))
				list[k++] = list[i];
			else
				store_event_free(list[i]);
		}
		n = k;
		if (limit > 0 && n > limit) {
			skip = n - limit;
			for (i = 0; i < skip; i++)
				store_event_free(list[i]);
			memmove(list, list + skip, limit * sizeof(*list));
			n = limit;
		}
	}
	*listp = list; /* the caller's */
	*np = n;
	list = NULL;
	n = 0;
	r = 0;
out:
	store_event_list_free(list, n);
	return r;
}
