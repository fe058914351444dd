/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api-int.h"

#include "buf.h"
#include "misc.h"
#include "ops.h"
#include "store.h"

/*
 * GET /usage?account=&since=&by=: connections, refusals and bytes each
 * way per account and endpoint address (and bucket, by hour or day), as
 * portholectl usage --json gives them, in one answer (not paged: one
 * row per account, address and bucket). An account's key sees its own.
 */
void
api_usage_list(struct api_req *rq)
{
	static const char *const keep[] = { "account", "since", "by", NULL };
	const char *account = api_query(rq, "account");
	const char *since = api_query(rq, "since");
	const char *by = api_query(rq, "by");
	struct store_usage *list = NULL;
	struct ops_err err;
	struct ops o;
	int64_t since_ms = 0, bucket_ms = 0;
	size_t n = 0, i;

	if (account != NULL && account[0] == '\0')
		account = NULL;
	if (since != NULL &&
	    misc_parse_when(since, misc_now_ms(), &since_ms) != 0) {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "since must be an RFC 3339 time or an age such as 10m, "
		    "not '%.64s'",
		    since);
		return;
	}
	if (by != NULL && strcmp(by, "hour") == 0)
		bucket_ms = OPS_USAGE_HOUR;
	else if (by != NULL && strcmp(by, "day") == 0)
		bucket_ms = OPS_USAGE_DAY;
	else if (by != NULL && by[0] != '\0') {
		api_error(rq, 400, "INVALID_ARGUMENT", NULL,
		    "by must be hour or day, not '%.64s'", by);
		return;
	}
	if (api_ops(rq, &o) != 0)
		return;
	if (ops_usage(&o, account, since_ms, bucket_ms, &list, &n, &err) != 0) {
		api_ops_error(rq, &err);
		return;
	}
	api_list_begin(rq, "usage");
	for (i = 0; i < n; i++) {
		api_list_sep(rq, i);
		ops_usage_json(rq->out, &list[i]);
	}
	api_list_end(rq, 0, NULL, keep);
	store_usage_list_free(list, n);
}
