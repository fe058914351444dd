/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "compat.h"
#include "conf.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "ops-int.h"
#include "ops.h"
#include "store.h"
#include "utf8.h"
#include "xmalloc.h"

/*
 * The operations layer's common part: errors, scope, text and page
 * checks, events and announcements. The families are in ops-*.c.
 */

/* Every type of event.h, in the order a usage message shows them. */
static const char *const ops_event_type_names[] = {
	EVENT_CONNECTION_CLOSED,
	EVENT_ADDRESS_CREATED,
	EVENT_ADDRESS_UPDATED,
	EVENT_ADDRESS_DELETED,
	EVENT_SESSION_STARTED,
	EVENT_SESSION_ENDED,
	EVENT_ENDPOINT_STARTED,
	EVENT_ENDPOINT_STOPPED,
	EVENT_CONNECTIONS_REFUSED,
};

#define OPS_NEVENT_TYPES                                                       \
	(sizeof(ops_event_type_names) / sizeof(ops_event_type_names[0]))

int
ops_status(int code)
{
	switch (code) {
	case 0:
		return 200;
	case PORTHOLE_ERR_INVALID_ARGUMENT:
	case PORTHOLE_ERR_INVALID_FORMAT:
		return OPS_STATUS_INVALID;
	case PORTHOLE_ERR_NOT_FOUND:
		return OPS_STATUS_NOT_FOUND;
	case PORTHOLE_ERR_EXISTS:
	case PORTHOLE_ERR_EXHAUSTED:
		return OPS_STATUS_CONFLICT;
	case PORTHOLE_ERR_DENIED:
		return OPS_STATUS_FORBIDDEN;
	case PORTHOLE_ERR_BUSY:
	case PORTHOLE_ERR_UNAVAILABLE:
		return OPS_STATUS_UNAVAILABLE;
	default:
		return OPS_STATUS_INTERNAL;
	}
}

const char *
ops_code_name(int code)
{
	switch (code) {
	case 0:
		return "PORTHOLE_OK";
	case PORTHOLE_ERR_ALLOC:
		return "PORTHOLE_ALLOC";
	case PORTHOLE_ERR_INVALID_ARGUMENT:
		return "PORTHOLE_INVALID_ARGUMENT";
	case PORTHOLE_ERR_INVALID_FORMAT:
		return "PORTHOLE_INVALID_FORMAT";
	case PORTHOLE_ERR_NOT_FOUND:
		return "PORTHOLE_NOT_FOUND";
	case PORTHOLE_ERR_EXISTS:
		return "PORTHOLE_EXISTS";
	case PORTHOLE_ERR_DENIED:
		return "PORTHOLE_DENIED";
	case PORTHOLE_ERR_EXHAUSTED:
		return "PORTHOLE_EXHAUSTED";
	case PORTHOLE_ERR_STORE:
		return "PORTHOLE_STORE";
	case PORTHOLE_ERR_SYSTEM:
		return "PORTHOLE_SYSTEM";
	case PORTHOLE_ERR_BUSY:
		return "PORTHOLE_BUSY";
	case PORTHOLE_ERR_UNAVAILABLE:
		return "PORTHOLE_UNAVAILABLE";
	case PORTHOLE_ERR_UNSUPPORTED:
		return "PORTHOLE_UNSUPPORTED";
	default:
		return "PORTHOLE_INTERNAL";
	}
}

void
ops_err_clear(struct ops_err *err)
{
	memset(err, 0, sizeof(*err));
}

int
ops_errf(struct ops_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	err->status = ops_status(code);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int
ops_errf_r(struct ops_err *err, struct ops *ops, int code, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	err->code = code;
	err->status = ops_status(code);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s",
	    porthole_strerror(code));
	return code;
}

int
ops_is_admin(const struct ops *ops)
{
	return ops->scope == NULL;
}

int
ops_need_admin(struct ops *ops, struct ops_err *err)
{
	if (ops_is_admin(ops))
		return 0;
	err->code = PORTHOLE_ERR_DENIED;
	err->status = OPS_STATUS_FORBIDDEN;
	strlcpy(err->msg, OPS_MSG_ADMIN, sizeof(err->msg));
	return PORTHOLE_ERR_DENIED;
}

int
ops_visible(const struct ops *ops, const char *account_id)
{
	if (ops_is_admin(ops))
		return 1;
	return account_id != NULL && strcmp(account_id, ops->scope) == 0;
}

int
ops_check_text(const char *what, const char *text, size_t max, int newlines,
    struct ops_err *err)
{
	char why[UTF8_ERRLEN];

	if (text == NULL)
		return 0;
	if (strlen(text) > max)
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "%s: longer than %zu bytes", what, max);
	if (utf8_check_text(text, newlines ? "\t\n" : NULL, why, sizeof(why)) !=
	    0)
		return ops_errf(err, PORTHOLE_ERR_INVALID_FORMAT,
		    "%s must not contain control characters: %s", what, why);
	return 0;
}

int
ops_check_texts(const char *description, const char *metadata,
    struct ops_err *err)
{
	int r;

	if ((r = ops_check_text("description", description, OPS_DESCRIPTION_MAX,
	         0, err)) != 0)
		return r;
	return ops_check_text("metadata", metadata, OPS_METADATA_MAX, 1, err);
}

int
ops_check_proxy(int proxy_proto, struct ops_err *err)
{
	if (proxy_proto < -1 || proxy_proto > 2)
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "proxy_proto %d: want 0 (none), 1 or 2", proxy_proto);
	return 0;
}

int
ops_check_page(const struct ops_page *page, struct ops_err *err)
{
	if (page != NULL && page->limit > OPS_PAGE_MAX)
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "limit %zu: want 1 to %d", page->limit, OPS_PAGE_MAX);
	return 0;
}

size_t
ops_page_limit(const struct ops_page *page)
{
	if (page == NULL || page->limit == 0)
		return OPS_PAGE_DEFAULT;
	return page->limit;
}

void
ops_announce(struct ops *ops, enum ops_change what, const int64_t *pids,
    size_t npids)
{
	if (ops->announce != NULL)
		ops->announce(ops, what, pids, npids);
}

int
ops_event_store(struct ops *ops, struct event *ev, struct ops_err *err)
{
	const char *path = ops->conf == NULL ? NULL : ops->conf->event_log;
	int r;

	if ((r = store_record(ops->store, &ev, 1, NULL, 0, NULL, NULL)) != 0)
		return ops_errf_r(err, ops, r, "record event %s (%s)", ev->id,
		    ev->type);
	/*
	 * "-" is portholed's standard output, which the store feeds; only
	 * a process that shares it (the API's) writes it.
	 */
	if (path == NULL ||
	    (strcmp(path, "-") == 0 && !(ops->evlog & OPS_EVLOG_STDOUT)))
		return 0;
	if ((r = event_log_write(path, &ev, 1)) == 0)
		return 0;
	if (!(ops->evlog & OPS_EVLOG_SOFT))
		return ops_errf_r(err, ops, r, "EventLog %s: event %s (%s)",
		    path, ev->id, ev->type);
	/* The event is stored and the change made: not a failure. */
	error_r(r, "EventLog %s: event %s (%s)", path, ev->id, ev->type);
	return 0;
}

int
ops_event_record(struct ops *ops, const char *type, const char *account_id,
    const char *json, int64_t now_ms, const char *what, struct ops_err *err)
{
	struct event *ev = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	ev = event_new(type, account_id, json, now_ms);
	if (ops->record != NULL)
		r = ops->record(ops, ev);
	else
		r = ops_event_store(ops, ev, err);
	if (r != 0) {
		ops_errf(err, r,
		    "%s: its change is made, but event %s is not "
		    "recorded",
		    what, type);
		err->status = OPS_STATUS_INTERNAL;
	}
	event_free(ev);
	return r;
}

int
ops_account_resolve(struct ops *ops, const char *name_or_id,
    struct store_account **ap, struct ops_err *err)
{
	return ops_account_find(ops, name_or_id, 0, ap, err);
}

int
ops_account_find(struct ops *ops, const char *name_or_id, int counts,
    struct store_account **ap, struct ops_err *err)
{
	struct store_account *a = NULL;
	const char *want = name_or_id;
	int r = PORTHOLE_ERR_INTERNAL;

	*ap = NULL;
	if (want == NULL && !ops_is_admin(ops))
		want = ops->scope;
	if (want == NULL) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "an account is needed");
		goto out;
	}
	if (counts)
		r = store_account_get(ops->store, want, &a);
	else
		r = store_account_lookup(ops->store, want, &a);
	if (r != 0 || !ops_visible(ops, a->id)) {
		if (r == 0 || r == PORTHOLE_ERR_NOT_FOUND)
			r = ops_errf(err, PORTHOLE_ERR_NOT_FOUND,
			    "no such account '%.100s'", want);
		else
			ops_errf_r(err, ops, r, "account '%.100s'", want);
		goto out;
	}
	/* Ownership passes to the caller. */
	*ap = a;
	a = NULL;
	r = 0;
out:
	store_account_free(a);
	return r;
}

int
ops_cidr(const char *what, const char *text, char *buf, size_t len,
    struct ops_err *err)
{
	struct acl_cidr c;
	const char *reason;
	char errbuf[256];
	size_t tlen = strlen(text);
	int r = PORTHOLE_ERR_INTERNAL;

	errbuf[0] = '\0';
	if ((r = acl_cidr_parse(text, &c, errbuf, sizeof(errbuf))) != 0) {
		if (errbuf[0] == '\0')
			strlcpy(errbuf, porthole_strerror(r), sizeof(errbuf));
		/* The reason may start with the text: say it once. */
		reason = errbuf;
		if (strncmp(errbuf, text, tlen) == 0 &&
		    strncmp(errbuf + tlen, ": ", 2) == 0)
			reason = errbuf + tlen + 2;
		return ops_errf(err, PORTHOLE_ERR_INVALID_FORMAT,
		    "%s%sinvalid CIDR '%.100s': %s", what == NULL ? "" : what,
		    what == NULL ? "" : ": ", text, reason);
	}
	acl_cidr_format(&c, buf, len);
	return 0;
}

int
ops_event_type_known(const char *type)
{
	size_t i;

	for (i = 0; i < OPS_NEVENT_TYPES; i++) {
		if (strcmp(type, ops_event_type_names[i]) == 0)
			return 1;
	}
	return 0;
}

const char *
ops_event_type_name(size_t i)
{
	return i < OPS_NEVENT_TYPES ? ops_event_type_names[i] : NULL;
}

int
ops_kind_get(struct ops *ops, const struct ops_kind *k, const char *id,
    void *objp, struct ops_err *err)
{
	void *obj = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*(void **)objp = NULL;
	if (id == NULL)
		return ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "%s: an id is needed", k->noun);
	if ((r = k->get(ops->store, id, &obj)) == 0 &&
	    !ops_visible(ops, k->account_of(obj)))
		r = PORTHOLE_ERR_NOT_FOUND;
	if (r == PORTHOLE_ERR_NOT_FOUND)
		ops_errf(err, r, "no such %s '%.100s'", k->noun, id);
	else if (r != 0)
		ops_errf_r(err, ops, r, "%s '%.100s'", k->noun, id);
	if (r != 0)
		goto out;
	*(void **)objp = obj; /* the caller's */
	obj = NULL;
out:
	if (obj != NULL)
		k->free(obj);
	return r;
}

int
ops_kind_list(struct ops *ops, const struct ops_kind *k, const char *account,
    const struct ops_page *page, void *listp, size_t *np, int *morep,
    struct ops_err *err)
{
	struct store_account *a = NULL;
	const char *account_id;
	void *before = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*(void **)listp = NULL;
	*np = 0;
	*morep = 0;
	if ((r = ops_check_page(page, err)) != 0)
		goto out;
	if ((account != NULL || !ops_is_admin(ops)) &&
	    (r = ops_account_resolve(ops, account, &a, err)) != 0)
		goto out;
	account_id = a == NULL ? NULL : a->id;
	if (page == NULL) {
		if ((r = k->list(ops->store, account_id, listp, np)) != 0)
			ops_errf_r(err, ops, r, "list %s", k->plural);
		goto out;
	}
	/* Another account's object is no place to start either. */
	if (page->before_id != NULL &&
	    (k->get(ops->store, page->before_id, &before) != 0 ||
	        !ops_visible(ops, k->account_of(before)))) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "before_id '%.100s' names no %s", page->before_id, k->noun);
		goto out;
	}
	if ((r = k->page(ops->store, account_id, page->before_id,
	         ops_page_limit(page), listp, np, morep)) != 0)
		ops_errf_r(err, ops, r, "list %s", k->plural);
out:
	if (before != NULL)
		k->free(before);
	store_account_free(a);
	return r;
}

/* The id of object <obj> (ops_page_slice). */
static const char *
ops_slice_id(const void *obj, size_t off)
{
	return *(char *const *)(const void *)((const char *)obj + off);
}

/* The creation time of object <obj> (ops_page_slice). */
static int64_t
ops_slice_created(const void *obj, size_t off)
{
	int64_t t;

	memcpy(&t, (const char *)obj + off, sizeof(t));
	return t;
}

/* Predicate: <a> comes after <b>, newest first: (created, id) below. */
static int
ops_slice_after(const void *a, const void *b, size_t id_off, size_t created_off)
{
	int64_t ca = ops_slice_created(a, created_off);
	int64_t cb = ops_slice_created(b, created_off);

	if (ca != cb)
		return ca < cb;
	return strcmp(ops_slice_id(a, id_off), ops_slice_id(b, id_off)) < 0;
}

int
ops_page_slice(const struct ops_page *page, void **list, size_t n,
    size_t id_off, size_t created_off, void (*list_free)(void *list, size_t n),
    void **listp, size_t *np, int *morep, struct ops_err *err)
{
	void **out = NULL, *tmp;
	size_t i, j, k, start = 0, limit, nout;
	int r = PORTHOLE_ERR_INTERNAL;

	*listp = NULL;
	*np = 0;
	*morep = 0;
	if (page == NULL) {
		*listp = list; /* the caller's */
		*np = n;
		return 0;
	}
	/* Newest first (insertion sort: these lists are short). */
	for (i = 1; i < n; i++) {
		tmp = list[i];
		for (j = i; j > 0 &&
		     ops_slice_after(list[j - 1], tmp, id_off, created_off);
		     j--)
			list[j] = list[j - 1];
		list[j] = tmp;
	}
	if (page->before_id != NULL) {
		for (i = 0; i < n && start == 0; i++) {
			if (strcmp(ops_slice_id(list[i], id_off),
			        page->before_id) == 0)
				start = i + 1;
		}
		if (start == 0) {
			r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
			    "before_id '%.100s' names nothing in this list",
			    page->before_id);
			list_free(list, n);
			goto out;
		}
	}
	limit = ops_page_limit(page);
	out = xcalloc(limit + 1, sizeof(*out));
	for (nout = 0; start + nout < n && nout < limit; nout++)
		out[nout] = list[start + nout];
	*morep = start + nout < n;
	/* What is not on the page is freed: move it to the list's front. */
	for (j = k = 0; j < n; j++) {
		if (j < start || j >= start + nout)
			list[k++] = list[j];
	}
	list_free(list, k);
	/* Ownership of <out> passes to the caller. */
	*listp = out;
	*np = nout;
	r = 0;
out:
	return r;
}
