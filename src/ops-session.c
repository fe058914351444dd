/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "misc.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

/* Sessions and their endpoints: read, and sessions stopped. */

/* The end reason of a session stopped with no reason given. */
#define OPS_SESSION_REASON "killed by an administrator"

int
ops_session_get(struct ops *ops, const char *id, struct store_session **sp,
    struct ops_err *err)
{
	struct store_session *s = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*sp = NULL;
	if (id == NULL)
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "a session id is needed");
	if ((r = store_session_get(ops->store, id, &s)) == 0 &&
	    !ops_visible(ops, s->account_id))
		r = PORTHOLE_ERR_NOT_FOUND;
	if (r == PORTHOLE_ERR_NOT_FOUND)
		ops_errf(err, r, "no such session '%.100s'", id);
	else if (r != 0)
		ops_errf_r(err, ops, r, "session '%.100s'", id);
	if (r != 0)
		goto out;
	*sp = s; /* the caller's */
	s = NULL;
out:
	store_session_free(s);
	return r;
}

int
ops_session_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_session ***listp, size_t *np,
    int *morep, struct ops_err *err)
{
	struct store_account *a = NULL;
	struct store_session *before = NULL;
	const char *account_id;
	int r = PORTHOLE_ERR_INTERNAL;

	*listp = NULL;
	*np = 0;
	*morep = 0;
	if ((r = ops_check_page(page, err)) != 0)
		goto out;
	if ((account != NULL || !ops_is_admin(ops)) &&
	    (r = ops_account_resolve(ops, account, &a, err)) != 0)
		goto out;
	account_id = a == NULL ? NULL : a->id;
	if (page == NULL) {
		if ((r = store_session_list(ops->store, account_id, listp,
		         np)) != 0)
			ops_errf_r(err, ops, r, "list sessions");
		goto out;
	}
	if (page->before_id != NULL &&
	    (store_session_get(ops->store, page->before_id, &before) != 0 ||
	        !ops_visible(ops, before->account_id))) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "before_id '%.100s' names no session", page->before_id);
		goto out;
	}
	if ((r = store_session_page(ops->store, account_id, page->before_id,
	         ops_page_limit(page), listp, np, morep)) != 0)
		ops_errf_r(err, ops, r, "list sessions");
out:
	store_session_free(before);
	store_account_free(a);
	return r;
}

int
ops_session_stop(struct ops *ops, const char *id, const char *reason,
    struct store_session **sp, struct ops_err *err)
{
	struct store_session *s = NULL;
	struct store_account *a = NULL;
	int64_t pid = 0, now;
	int r = PORTHOLE_ERR_INTERNAL;

	if (sp != NULL)
		*sp = NULL;
	if (reason == NULL)
		reason = OPS_SESSION_REASON;
	if ((r = ops_check_text("reason", reason, OPS_DESCRIPTION_MAX, 0,
	         err)) != 0 ||
	    (r = ops_session_get(ops, id, &s, err)) != 0)
		goto out;
	if (s->ended_ms != 0) {
		r = ops_errf(err, PORTHOLE_ERR_NOT_FOUND,
		    "session %s has already ended", s->id);
		goto out;
	}
	now = misc_now_ms();
	if ((r = store_session_kill(ops->store, s->id, reason, now, &pid)) !=
	    0) {
		if (r == PORTHOLE_ERR_NOT_FOUND) /* ended meanwhile */
			ops_errf(err, r, "session %s has already ended", s->id);
		else
			ops_errf_r(err, ops, r, "kill session %s", s->id);
		goto out;
	}
	ops_announce(ops, OPS_CHANGE_SESSIONS, &pid, 1);
	s->ended_ms = now;
	s->pid = pid;
	free(s->end_reason);
	s->end_reason = xstrdup(reason);
	/* For the report: the account's name if it is still there. */
	if (s->account_name == NULL &&
	    store_account_get(ops->store, s->account_id, &a) == 0)
		s->account_name = xstrdup(a->name);
	if (sp != NULL) {
		*sp = s; /* the caller's */
		s = NULL;
	}
out:
	store_account_free(a);
	store_session_free(s);
	return r;
}

int
ops_endpoint_get(struct ops *ops, const char *id, struct store_endpoint **ep,
    struct ops_err *err)
{
	struct store_endpoint *e = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*ep = NULL;
	if (id == NULL)
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "an endpoint id is needed");
	if ((r = store_endpoint_get(ops->store, id, &e)) == 0 &&
	    !ops_visible(ops, e->account_id))
		r = PORTHOLE_ERR_NOT_FOUND;
	if (r == PORTHOLE_ERR_NOT_FOUND)
		ops_errf(err, r, "no such endpoint '%.100s'", id);
	else if (r != 0)
		ops_errf_r(err, ops, r, "endpoint '%.100s'", id);
	if (r != 0)
		goto out;
	*ep = e; /* the caller's */
	e = NULL;
out:
	store_endpoint_free(e);
	return r;
}

int
ops_endpoint_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_endpoint ***listp, size_t *np,
    int *morep, struct ops_err *err)
{
	struct store_account *a = NULL;
	struct store_endpoint *before = NULL, **list = NULL;
	const char *account_id;
	size_t n = 0, i, k;
	int r = PORTHOLE_ERR_INTERNAL;

	*listp = NULL;
	*np = 0;
	*morep = 0;
	if ((r = ops_check_page(page, err)) != 0)
		goto out;
	if ((account != NULL || !ops_is_admin(ops)) &&
	    (r = ops_account_resolve(ops, account, &a, err)) != 0)
		goto out;
	account_id = a == NULL ? NULL : a->id;
	if (page == NULL) {
		if ((r = store_endpoint_list(ops->store, &list, &n)) != 0) {
			ops_errf_r(err, ops, r, "list endpoints");
			goto out;
		}
		for (i = k = 0; i < n; i++) {
			if (account_id == NULL ||
			    strcmp(list[i]->account_id, account_id) == 0)
				list[k++] = list[i];
			else
				store_endpoint_free(list[i]);
		}
		*listp = list; /* the caller's */
		*np = k;
		list = NULL;
		n = 0;
		goto out;
	}
	if (page->before_id != NULL &&
	    (store_endpoint_get(ops->store, page->before_id, &before) != 0 ||
	        !ops_visible(ops, before->account_id))) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "before_id '%.100s' names no endpoint", page->before_id);
		goto out;
	}
	if ((r = store_endpoint_page(ops->store, account_id, page->before_id,
	         ops_page_limit(page), listp, np, morep)) != 0)
		ops_errf_r(err, ops, r, "list endpoints");
out:
	store_endpoint_list_free(list, n);
	store_endpoint_free(before);
	store_account_free(a);
	return r;
}
