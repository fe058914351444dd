/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api.h"
#include "api-int.h"

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "event.h"
#include "json.h"
#include "log.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

/*
 * What every route does alike: the ops context of the caller, errors,
 * JSON bodies (jansson), pages and list answers.
 */

/*
 * ops' announce hook: on PostgreSQL the store carries the news to
 * every node; on SQLite the monitor has its sessions re-read theirs.
 */
static void
api_announce(struct ops *ops, enum ops_change what, const int64_t *pids,
    size_t npids)
{
	struct api_req *rq = ops->arg;

	if (store_can_notify(ops->store) &&
	    store_notify_change(ops->store) == 0)
		return;
	api_tell(rq->api, API_CHANGED, NULL);
}

int
api_ops(struct api_req *rq, struct ops *o)
{
	memset(o, 0, sizeof(*o));
	if ((o->store = api_req_store(rq)) == NULL)
		return -1;
	o->conf = rq->api->conf;
	o->scope = rq->scope;
	o->announce = api_announce;
	/*
	 * ops_event_store() records: the store, and EventLog as the
	 * session processes and portholectl write it ("-" is the daemon's
	 * standard output, which this process shares). An event stored but
	 * not logged is logged as an error, not failed: the change is made.
	 */
	o->evlog = OPS_EVLOG_STDOUT | OPS_EVLOG_SOFT;
	o->arg = rq;
	return 0;
}

void
api_ops_error(struct api_req *rq, const struct ops_err *err)
{
	const char *name = ops_code_name(err->code);
	int status = err->status != 0 ? err->status : ops_status(err->code);

	if (strncmp(name, "PORTHOLE_", 9) == 0)
		name += 9;
	if (status < 400 || status > 599)
		status = 500;
	api_error(rq, status, name, NULL, "%s",
	    err->msg[0] != '\0' ? err->msg : porthole_strerror(err->code));
}

json_t *
api_body(struct api_req *rq, const char *const *allowed)
{
	json_error_t jerr;
	json_t *o = NULL, *v;
	const char *name;
	size_t i;

	if (buf_len(rq->body) == 0)
		return json_object();
	o = json_loadb(buf_str(rq->body), buf_len(rq->body),
	    JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		api_error(rq, 400, "INVALID_JSON", NULL,
		    "the body is not valid JSON: %s (line %d, column %d)",
		    jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(o)) {
		api_error(rq, 400, "INVALID_JSON", NULL,
		    "the body must be a JSON object");
		json_decref(o);
		return NULL;
	}
	json_object_foreach(o, name, v)
	{
		for (i = 0; allowed[i] != NULL; i++) {
			if (strcmp(allowed[i], name) == 0)
				break;
		}
		if (allowed[i] == NULL) {
			api_error(rq, 400, "INVALID_ARGUMENT", NULL,
			    "unknown field '%.64s' in the body", name);
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int
api_str(struct api_req *rq, json_t *o, const char *name, const char **sp)
{
	json_t *v = json_object_get(o, name);

	*sp = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "field '%s' must be a string", name);
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "field '%s' holds a NUL character", name);
		return -1;
	}
	*sp = json_string_value(v);
	return 0;
}

int
api_int(struct api_req *rq, json_t *o, const char *name, long long min,
    long long max, int *vp)
{
	json_t *v = json_object_get(o, name);
	json_int_t n;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || (n = json_integer_value(v)) < min ||
	    n > max) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "field '%s' must be an integer from %lld to %lld", name,
		    min, max);
		return -1;
	}
	*vp = (int)n;
	return 0;
}

int
api_bool(struct api_req *rq, json_t *o, const char *name, int *vp)
{
	json_t *v = json_object_get(o, name);

	*vp = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "field '%s' must be true or false", name);
		return -1;
	}
	*vp = json_is_true(v);
	return 0;
}

int
api_strlist(struct api_req *rq, json_t *o, const char *name,
    const char ***listp, size_t *np)
{
	json_t *v = json_object_get(o, name), *e;
	const char **list = NULL;
	size_t i;

	*listp = NULL;
	*np = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		goto bad;
	list = xcalloc(json_array_size(v) + 1, sizeof(*list));
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e) ||
		    strlen(json_string_value(e)) != json_string_length(e))
			goto bad;
		list[i] = json_string_value(e);
	}
	*listp = list; /* the caller's */
	*np = json_array_size(v);
	return 0;
bad:
	free(list);
	api_error(rq, 400, "INVALID_ARGUMENT", NULL,
	    "field '%s' must be a list of strings", name);
	return -1;
}

int
api_page(struct api_req *rq, struct ops_page *page)
{
	const char *s = api_query(rq, "limit");
	char *end = NULL;
	long n;

	memset(page, 0, sizeof(*page));
	if (s != NULL) {
		errno = 0;
		n = strtol(s, &end, 10);
		if (*s == '\0' || *end != '\0' || errno != 0 || n < 1 ||
		    n > OPS_PAGE_MAX) {
			api_error(rq, 400, "INVALID_ARGUMENT", NULL,
			    "limit must be a number from 1 to %d",
			    OPS_PAGE_MAX);
			return -1;
		}
		page->limit = (size_t)n;
	}
	page->before_id = api_query(rq, "before_id");
	if (page->before_id != NULL && page->before_id[0] == '\0')
		page->before_id = NULL;
	return 0;
}

void
api_list_begin(struct api_req *rq, const char *plural)
{
	buf_free(rq->out);
	rq->out = buf_new();
	buf_putc(rq->out, '{');
	json_str(rq->out, plural);
	buf_puts(rq->out, ":[");
	rq->status = 200;
}

void
api_list_sep(struct api_req *rq, size_t i)
{
	if (i > 0)
		buf_putc(rq->out, ',');
}

/* Append "&name=value" (or "?…" first), the value percent-encoded. */
static void
api_query_add(struct buf *b, int *first, const char *name, const char *v)
{
	const unsigned char *p;

	buf_putc(b, *first ? '?' : '&');
	*first = 0;
	buf_puts(b, name);
	buf_putc(b, '=');
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
			buf_putc(b, (char)*p);
		else
			buf_printf(b, "%%%02X", *p);
	}
}

void
api_list_end(struct api_req *rq, int more, const char *last_id,
    const char *const *keep)
{
	struct buf *u = buf_new();
	const char *v;
	size_t i;
	int first = 1;

	buf_printf(u, "%s%s", rq->base, rq->url);
	buf_puts(rq->out, "],\"uri\":");
	json_str(rq->out, buf_str(u));
	buf_puts(rq->out, ",\"next_page_uri\":");
	if (!more || last_id == NULL) {
		buf_puts(rq->out, "null}\n");
		goto out;
	}
	for (i = 0; keep != NULL && keep[i] != NULL; i++) {
		if ((v = api_query(rq, keep[i])) != NULL)
			api_query_add(u, &first, keep[i], v);
	}
	if ((v = api_query(rq, "limit")) != NULL)
		api_query_add(u, &first, "limit", v);
	api_query_add(u, &first, "before_id", last_id);
	json_str(rq->out, buf_str(u));
	buf_puts(rq->out, "}\n");
out:
	buf_free(u);
}

void
api_obj_begin(struct api_req *rq, int status)
{
	buf_free(rq->out);
	rq->out = buf_new();
	buf_putc(rq->out, '{');
	rq->status = status;
}

void
api_no_content(struct api_req *rq)
{
	buf_free(rq->out);
	rq->out = buf_new();
	rq->status = 204;
}

void
api_account_ref(struct buf *b, const char *key, const char *id,
    const char *name)
{
	buf_putc(b, ',');
	json_str(b, key);
	if (id == NULL) {
		buf_puts(b, ":null");
		return;
	}
	buf_puts(b, ":{");
	json_kv_str(b, 1, "id", id);
	json_kv_str(b, 0, "name", name != NULL ? name : "");
	buf_putc(b, '}');
}

void
api_text(struct buf *b, const char *key, const char *text)
{
	json_kv_str(b, 0, key, text != NULL ? text : "");
}
