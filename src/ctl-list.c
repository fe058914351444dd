/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "ctl.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "store.h"
#include "xmalloc.h"

/* endpoint list: the live endpoints, oldest first. */
int
ctl_endpoint_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_endpoint **list = NULL, *e;
	struct ctl_table *t = NULL;
	struct buf *b = NULL;
	char when[CTL_TIME_LEN], *hostport = NULL;
	char *url = NULL;
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_endpoint_list(ctl->store, &list, &n)) != 0) {
		error_r(r, "list endpoints");
		goto out;
	}
	if (ctl->json)
		b = buf_new();
	else
		t = ctl_table_new("ID", "URL", "ACCOUNT", "SESSION", "SINCE",
		    "METADATA", NULL);
	for (i = 0; i < n; i++) {
		e = list[i];
		hostport = ctl_hostport(e->host, e->port);
		xasprintf(&url, "tcp://%s", hostport);
		if (ctl->json) {
			buf_putc(b, '{');
			json_kv_str(b, 1, "id", e->id);
			json_kv_str(b, 0, "url", url);
			json_kv_str(b, 0, "host", e->host);
			json_kv_int(b, 0, "port", e->port);
			json_kv_str(b, 0, "account", e->account_name);
			json_kv_str(b, 0, "account_id", e->account_id);
			json_kv_str(b, 0, "session_id", e->session_id);
			json_kv_str(b, 0, "bind_address", e->bind_address);
			json_kv_str(b, 0, "metadata", e->metadata);
			json_kv_str(b, 0, "started_at",
			    misc_rfc3339(e->started_ms, when, sizeof(when)));
			buf_putc(b, '}');
			ctl_json_line(b);
		} else
			ctl_table_add(t, e->id, url, e->account_name,
			    e->session_id,
			    ctl_time(e->started_ms, when, sizeof(when)),
			    e->metadata);
		free(hostport);
		free(url);
		hostport = url = NULL;
	}
	if (t != NULL)
		ctl_table_print(t);
	r = 0;
out:
	ctl_table_free(t);
	buf_free(b);
	store_endpoint_list_free(list, n);
	return r;
}

/* session list: the live sessions, oldest first. */
int
ctl_session_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_session **list = NULL, *s;
	struct ctl_table *t = NULL;
	struct buf *b = NULL;
	char when[CTL_TIME_LEN], pid[24], nep[16];
	char *client = NULL;
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_session_list(ctl->store, &list, &n)) != 0) {
		error_r(r, "list sessions");
		goto out;
	}
	if (ctl->json)
		b = buf_new();
	else
		t = ctl_table_new("ID", "ACCOUNT", "CLIENT", "PID", "STARTED",
		    "ENDPOINTS", "USER", NULL);
	for (i = 0; i < n; i++) {
		s = list[i];
		if (ctl->json) {
			buf_putc(b, '{');
			json_kv_str(b, 1, "id", s->id);
			json_kv_str(b, 0, "account", s->account_name);
			json_kv_str(b, 0, "account_id", s->account_id);
			json_kv_str(b, 0, "client_ip", s->client_ip);
			json_kv_int(b, 0, "client_port", s->client_port);
			json_kv_str(b, 0, "user", s->user);
			json_kv_int(b, 0, "pid", s->pid);
			json_kv_str(b, 0, "started_at",
			    misc_rfc3339(s->started_ms, when, sizeof(when)));
			json_kv_int(b, 0, "endpoints", s->nendpoints);
			buf_putc(b, '}');
			ctl_json_line(b);
			continue;
		}
		client = ctl_hostport(s->client_ip, s->client_port);
		snprintf(pid, sizeof(pid), "%lld", (long long)s->pid);
		snprintf(nep, sizeof(nep), "%d", s->nendpoints);
		ctl_table_add(t, s->id, s->account_name, client, pid,
		    ctl_time(s->started_ms, when, sizeof(when)), nep, s->user);
		free(client);
		client = NULL;
	}
	if (t != NULL)
		ctl_table_print(t);
	r = 0;
out:
	ctl_table_free(t);
	buf_free(b);
	store_session_list_free(list, n);
	return r;
}
