/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ctl.h"
#include "err.h"
#include "store.h"

/*
 * usage [ACCOUNT] [--since TIME] [--by day|hour]: connections, refusals
 * and bytes each way per account and endpoint address, as the monitor
 * counts them (usage_hours), with a total per account; --json gives
 * the rows alone, one object a line.
 */

/* Add a row of figures to <t>: the cells before them, then the four. */
static void
ctl_usage_row(struct ctl_table *t, int by, const char *account,
    const char *endpoint, const char *when, int64_t conns, int64_t refused,
    int64_t in, int64_t out)
{
	char c[24], f[24], i[24], o[24];

	snprintf(c, sizeof(c), "%" PRId64, conns);
	snprintf(f, sizeof(f), "%" PRId64, refused);
	snprintf(i, sizeof(i), "%" PRId64, in);
	snprintf(o, sizeof(o), "%" PRId64, out);
	if (by)
		ctl_table_add(t, account, endpoint, when, c, f, i, o);
	else
		ctl_table_add(t, account, endpoint, c, f, i, o);
}

/* The start of a bucket of <bucket_ms> for a table cell, in <buf>. */
static const char *
ctl_usage_when(int64_t ms, int64_t bucket_ms, char *buf, size_t len)
{
	ctl_time(ms, buf, len);
	/* A day is its date; an hour drops its seconds. */
	if (bucket_ms == OPS_USAGE_DAY && strlen(buf) > 10)
		buf[10] = '\0';
	else if (strlen(buf) == 20)
		memmove(buf + 16, "Z", 2);
	return buf;
}

int
ctl_usage_show(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_usage *list = NULL, *u, tot;
	struct ctl_table *t = NULL;
	struct buf *b = NULL;
	struct ops_err err;
	char when[CTL_TIME_LEN];
	size_t n = 0, i;
	int64_t bucket = args->bucket_ms > 0 ? args->bucket_ms : 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ops_usage(ctl_ops(ctl), args->account,
	         args->since_ms > 0 ? args->since_ms : 0, bucket, &list, &n,
	         &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json) {
		b = buf_new();
		for (i = 0; i < n; i++) {
			ops_usage_json(b, &list[i]);
			ctl_json_line(b);
		}
		r = 0;
		goto out;
	}
	if (bucket != 0)
		t = ctl_table_new("ACCOUNT", "ENDPOINT",
		    bucket == OPS_USAGE_DAY ? "DAY" : "HOUR", "CONNECTIONS",
		    "REFUSED", "BYTES_IN", "BYTES_OUT", NULL);
	else
		t = ctl_table_new("ACCOUNT", "ENDPOINT", "CONNECTIONS",
		    "REFUSED", "BYTES_IN", "BYTES_OUT", NULL);
	memset(&tot, 0, sizeof(tot));
	for (i = 0; i < n; i++) {
		u = &list[i];
		ctl_usage_row(t, bucket != 0, u->account_name, u->hostport,
		    ctl_usage_when(u->hour_ms, bucket, when, sizeof(when)),
		    u->connections, u->refused, u->bytes_in, u->bytes_out);
		tot.connections += u->connections;
		tot.refused += u->refused;
		tot.bytes_in += u->bytes_in;
		tot.bytes_out += u->bytes_out;
		/* The account's rows come together: its total after them. */
		if (i + 1 == n ||
		    strcmp(list[i + 1].account_id, u->account_id) != 0) {
			ctl_usage_row(t, bucket != 0, u->account_name, "total",
			    NULL, tot.connections, tot.refused, tot.bytes_in,
			    tot.bytes_out);
			memset(&tot, 0, sizeof(tot));
		}
	}
	ctl_table_print(t);
	r = 0;
out:
	ctl_table_free(t);
	buf_free(b);
	store_usage_list_free(list, n);
	return r;
}
