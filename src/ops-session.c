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
#include "ops-int.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

/* Sessions and their endpoints: read, and sessions stopped. */

/* The end reason of a session stopped with no reason given. */
#define OPS_SESSION_REASON "killed by an administrator"

/* Sessions: live or ended by id; live ones listed. */
static int
ops_session_vget(struct store *store, const char *id, void *objp)
{
	return store_session_get(store, id, objp);
}

static const char *
ops_session_account(const void *obj)
{
	return ((const struct store_session *)obj)->account_id;
}

static void
ops_session_vfree(void *obj)
{
	store_session_free(obj);
}

static int
ops_session_vlist(struct store *store, const char *account_id, void *listp,
    size_t *np)
{
	return store_session_list(store, account_id, listp, np);
}

static int
ops_session_vpage(struct store *store, const char *account_id,
    const char *before_id, size_t limit, void *listp, size_t *np, int *morep)
{
	return store_session_page(store, account_id, before_id, limit, listp,
	    np, morep);
}

static const struct ops_kind ops_session_kind = { "session", "sessions",
	ops_session_vget, ops_session_account, ops_session_vfree,
	ops_session_vlist, ops_session_vpage };

/*
 * The live endpoints of <account_id> (NULL: all), in the order the store
 * lists them (store_endpoint_list lists them all).
 */
static int
ops_endpoint_all(struct store *store, const char *account_id,
    struct store_endpoint ***listp, size_t *np)
{
	struct store_endpoint **list = NULL;
	size_t n = 0, i, k;
	int r;

	if ((r = store_endpoint_list(store, &list, &n)) != 0)
		return r;
	for (i = k = 0; i < n; i++) {
		if (account_id == NULL ||
		    strcmp(list[i]->account_id, account_id) == 0)
			list[k++] = list[i];
		else
			store_endpoint_free(list[i]);
	}
	*listp = list; /* the caller's */
	*np = k;
	return 0;
}

/* Endpoints: live or ended by id; live ones listed. */
static int
ops_endpoint_vget(struct store *store, const char *id, void *objp)
{
	return store_endpoint_get(store, id, objp);
}

static const char *
ops_endpoint_account(const void *obj)
{
	return ((const struct store_endpoint *)obj)->account_id;
}

static void
ops_endpoint_vfree(void *obj)
{
	store_endpoint_free(obj);
}

static int
ops_endpoint_vlist(struct store *store, const char *account_id, void *listp,
    size_t *np)
{
	return ops_endpoint_all(store, account_id, listp, np);
}

static int
ops_endpoint_vpage(struct store *store, const char *account_id,
    const char *before_id, size_t limit, void *listp, size_t *np, int *morep)
{
	return store_endpoint_page(store, account_id, before_id, limit, listp,
	    np, morep);
}

static const struct ops_kind ops_endpoint_kind = { "endpoint", "endpoints",
	ops_endpoint_vget, ops_endpoint_account, ops_endpoint_vfree,
	ops_endpoint_vlist, ops_endpoint_vpage };

int
ops_session_get(struct ops *ops, const char *id, struct store_session **p,
    struct ops_err *err)
{
	return ops_kind_get(ops, &ops_session_kind, id, p, err);
}

int
ops_session_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_session ***listp, size_t *np,
    int *morep, struct ops_err *err)
{
	return ops_kind_list(ops, &ops_session_kind, account, page, listp, np,
	    morep, err);
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
ops_endpoint_get(struct ops *ops, const char *id, struct store_endpoint **p,
    struct ops_err *err)
{
	return ops_kind_get(ops, &ops_endpoint_kind, id, p, err);
}

int
ops_endpoint_list(struct ops *ops, const char *account,
    const struct ops_page *page, struct store_endpoint ***listp, size_t *np,
    int *morep, struct ops_err *err)
{
	return ops_kind_list(ops, &ops_endpoint_kind, account, page, listp, np,
	    morep, err);
}
