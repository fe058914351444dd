/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "misc.h"
#include "ops-int.h"
#include "ops.h"
#include "store.h"

/* Usage: what accounts did through their addresses, as the monitor counts. */

int
ops_usage(struct ops *ops, const char *account, int64_t since_ms,
    int64_t bucket_ms, struct store_usage **listp, size_t *np,
    struct ops_err *err)
{
	struct store_account *a = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	*listp = NULL;
	*np = 0;
	if (bucket_ms != 0 && bucket_ms != OPS_USAGE_HOUR &&
	    bucket_ms != OPS_USAGE_DAY) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "usage is by hour or by day");
		goto out;
	}
	if (since_ms < 0) {
		r = ops_errf(err, PORTHOLE_ERR_INVALID_ARGUMENT,
		    "since: a time before 1970");
		goto out;
	}
	/* An account scope sees its own account's alone. */
	if ((account != NULL || !ops_is_admin(ops)) &&
	    (r = ops_account_resolve(ops, account, &a, err)) != 0)
		goto out;
	if ((r = store_usage_list(ops->store, a != NULL ? a->id : NULL,
	         since_ms, bucket_ms, listp, np)) != 0) {
		ops_errf_r(err, ops, r, "usage");
		goto out;
	}
	r = 0;
out:
	store_account_free(a);
	return r;
}

void
ops_usage_json(struct buf *b, const struct store_usage *u)
{
	char start[32];

	buf_putc(b, '{');
	json_kv_str(b, 1, "account", u->account_name);
	json_kv_str(b, 0, "account_id", u->account_id);
	json_kv_str(b, 0, "endpoint", u->hostport);
	json_kv_str(b, 0, "start",
	    misc_rfc3339(u->hour_ms, start, sizeof(start)));
	json_kv_int(b, 0, "connections", u->connections);
	json_kv_int(b, 0, "refused", u->refused);
	json_kv_int(b, 0, "bytes_in", u->bytes_in);
	json_kv_int(b, 0, "bytes_out", u->bytes_out);
	buf_putc(b, '}');
}
