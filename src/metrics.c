/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"
#include "store.h"
#include "utf8.h"
#include "xmalloc.h"

/*
 * The text exposition format (Prometheus, "0.0.4"): each family is a
 * "# HELP name text" line, a "# TYPE name gauge|counter" line and its
 * samples, "name value" or "name{label="value",...} value", all
 * together; a family may appear only once. The counters come from the
 * store as name and label text; both are checked before they are
 * written, so that a bad row never breaks a whole scrape.
 */

/* A family that is always shown, with the text of its HELP line. */
struct metrics_family {
	const char *name;
	const char *help;
	/*
	 * 1: shown as 0 until first counted; 0: its header only; -1:
	 * nothing of it until first counted.
	 */
	int unlabelled;
};

static const struct metrics_family metrics_gauges[] = {
	{ "porthole_sessions", "Live SSH sessions.", 1 },
	{ "porthole_endpoints", "Live endpoints (public listeners).", 1 },
	{ "porthole_connections_open", "Public connections being relayed.", 1 },
};

static const struct metrics_family metrics_counters[] = {
	{ "porthole_sessions_total", "SSH sessions started.", 1 },
	{ "porthole_auth_failures_total",
	    "SSH connections that failed to authenticate.", 1 },
	{ "porthole_api_auth_failures_total",
	    "HTTP API requests that failed to authenticate.", 1 },
	{ "porthole_connections_total", "Public connections to endpoints.", 1 },
	{ "porthole_bytes_in_total", "Bytes received from public clients.", 1 },
	{ "porthole_bytes_out_total", "Bytes sent to public clients.", 1 },
	{ "porthole_forwards_refused_total",
	    "Forward requests refused, by reason.", 0 },
	{ "porthole_connections_refused_total",
	    "Public connections refused before relaying, by reason.", 0 },
	{ "porthole_refused_events_summarized_total",
	    "Refused connections recorded in a summary, not an event each.",
	    1 },
	{ "porthole_webhook_events_delivered_total",
	    "Events a webhook destination took (2xx).", 1 },
	{ "porthole_webhook_failures_total",
	    "Webhook requests that failed and are tried again.", 1 },
	/* MetricsAccountLabels yes: nothing of them shows otherwise. */
	{ "porthole_account_connections_total",
	    "Public connections relayed, by account.", -1 },
	{ "porthole_account_bytes_total",
	    "Bytes from (in) and to (out) public clients, by account.", -1 },
	{ "porthole_account_connections_refused_total",
	    "Public connections refused, by account and reason.", -1 },
};

#define METRICS_NGAUGES (sizeof(metrics_gauges) / sizeof(metrics_gauges[0]))
#define METRICS_NCOUNTERS                                                      \
	(sizeof(metrics_counters) / sizeof(metrics_counters[0]))

/* The node whose metrics are served, and its label text; see metrics.h. */
static char *metrics_node;
static char *metrics_node_prefix;

char *
metrics_node_labels(const char *node, const char *region)
{
	char *s = NULL;

	xasprintf(&s, "node=\"%s\",region=\"%s\"", node,
	    region != NULL ? region : "");
	return s;
}

void
metrics_set_node(const char *node, const char *region)
{
	free(metrics_node);
	free(metrics_node_prefix);
	metrics_node = metrics_node_prefix = NULL;
	if (node == NULL)
		return;
	metrics_node = xstrdup(node);
	metrics_node_prefix = metrics_node_labels(node, region);
}

/* Predicate: counter labels <labels> are this node's (or no node is set). */
static int
metrics_ours(const char *labels)
{
	size_t n;

	if (metrics_node_prefix == NULL)
		return 1;
	n = strlen(metrics_node_prefix);
	return strncmp(labels, metrics_node_prefix, n) == 0 &&
	    (labels[n] == '\0' || labels[n] == ',');
}

/* One sample to write, its strings borrowed. */
struct metrics_sample {
	const char *name;
	const char *labels; /* label text, "" for none */
	int64_t value;
};

/* A writer of one format: a family's header, then its samples. */
struct metrics_writer {
	void (*family)(struct buf *, const char *name, const char *type,
	    const char *help);
	void (*sample)(struct buf *, const char *type,
	    const struct metrics_sample *);
};

/* Predicate: <c> may start (<first>) or continue a metric or label name. */
static int
metrics_name_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    (!first && c >= '0' && c <= '9');
}

/* Predicate: <s> is a valid metric name (we use no colons). */
static int
metrics_name_valid(const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (!metrics_name_char(s[i], i == 0))
			return 0;
	}
	return 1;
}

/*
 * Walk the label text <s>, 'name="value",...' with the value escapes
 * \\ \" \n. With <json> not NULL, append the labels to it as the
 * members of a JSON object (without braces), values unescaped. Returns
 * 0, or PORTHOLE_ERR_INVALID_FORMAT if <s> is not such text or holds a
 * control character (C0, DEL, C1), which the text format would carry
 * to whoever reads it on a terminal.
 */
static int
metrics_labels_walk(const char *s, struct buf *json)
{
	struct buf *name = NULL, *value = NULL;
	const char *p = s;
	int r = PORTHOLE_ERR_INVALID_FORMAT, first = 1;

	if (*p == '\0')
		return 0;
	if (utf8_check_text(s, NULL, NULL, 0) != 0)
		return PORTHOLE_ERR_INVALID_FORMAT;
	name = buf_new();
	value = buf_new();
	for (;;) {
		buf_reset(name);
		buf_reset(value);
		if (!metrics_name_char(*p, 1))
			goto out;
		while (metrics_name_char(*p, 0))
			buf_putc(name, *p++);
		if (*p++ != '=' || *p++ != '"')
			goto out;
		while (*p != '"') {
			if (*p == '\0' || *p == '\n')
				goto out;
			if (*p == '\\') {
				p++;
				if (*p == 'n')
					buf_putc(value, '\n');
				else if (*p == '\\' || *p == '"')
					buf_putc(value, *p);
				else
					goto out;
			} else
				buf_putc(value, *p);
			p++;
		}
		p++; /* the closing quote */
		if (json != NULL)
			json_kv_str(json, first, buf_str(name), buf_str(value));
		first = 0;
		if (*p == '\0')
			break;
		if (*p++ != ',')
			goto out;
	}
	r = 0;
out:
	buf_free(name);
	buf_free(value);
	return r;
}

/* The text format: "# HELP" and "# TYPE" lines. */
static void
metrics_text_family(struct buf *b, const char *name, const char *type,
    const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The text format: "name{labels} value". */
static void
metrics_text_sample(struct buf *b, const char *type,
    const struct metrics_sample *s)
{
	if (*s->labels == '\0')
		buf_printf(b, "%s %lld\n", s->name, (long long)s->value);
	else
		buf_printf(b, "%s{%s} %lld\n", s->name, s->labels,
		    (long long)s->value);
}

/* JSON Lines: no family headers. */
static void
metrics_json_family(struct buf *b, const char *name, const char *type,
    const char *help)
{
}

/* JSON Lines: one object per sample. */
static void
metrics_json_sample(struct buf *b, const char *type,
    const struct metrics_sample *s)
{
	buf_putc(b, '{');
	json_kv_str(b, 1, "name", s->name);
	json_kv_str(b, 0, "type", type);
	buf_puts(b, ",\"labels\":{");
	/* Checked already by metrics_render_with(). */
	(void)metrics_labels_walk(s->labels, b);
	buf_putc(b, '}');
	json_kv_int(b, 0, "value", s->value);
	buf_puts(b, "}\n");
}

/* The family of <name> among the known counters, or NULL. */
static const struct metrics_family *
metrics_counter_known(const char *name)
{
	size_t i;

	for (i = 0; i < METRICS_NCOUNTERS; i++) {
		if (strcmp(metrics_counters[i].name, name) == 0)
			return &metrics_counters[i];
	}
	return NULL;
}

/*
 * Write the counters of <list> named <name> (those not <skip>) as
 * samples; returns how many.
 */
static size_t
metrics_counter_samples(const struct metrics_writer *w, struct buf *b,
    const struct store_counter *list, size_t n, const char *skip,
    const char *name)
{
	struct metrics_sample s;
	size_t i, count = 0;

	for (i = 0; i < n; i++) {
		if (skip[i] || strcmp(list[i].name, name) != 0)
			continue;
		s.name = list[i].name;
		s.labels = list[i].labels;
		s.value = list[i].value;
		w->sample(b, "counter", &s);
		count++;
	}
	return count;
}

/* Render the metrics of <store> with writer <w>; see metrics_render(). */
static int
metrics_render_with(struct store *store, struct buf *out,
    const struct metrics_writer *w)
{
	struct store_counter *list = NULL;
	struct metrics_sample s;
	struct buf *b = NULL;
	char *skip = NULL, *help = NULL;
	int64_t gauges[METRICS_NGAUGES];
	size_t n = 0, i, j;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_live_totals(store, metrics_node, &gauges[0], &gauges[1],
	         &gauges[2])) != 0) {
		error_fr(r, "live totals");
		goto out;
	}
	if ((r = store_counter_list(store, &list, &n)) != 0) {
		error_fr(r, "counters");
		goto out;
	}
	b = buf_new();
	for (i = 0; i < METRICS_NGAUGES; i++) {
		w->family(b, metrics_gauges[i].name, "gauge",
		    metrics_gauges[i].help);
		s.name = metrics_gauges[i].name;
		s.labels =
		    metrics_node_prefix != NULL ? metrics_node_prefix : "";
		s.value = gauges[i];
		w->sample(b, "gauge", &s);
	}

	/* Leave out, once and for all, what the format cannot carry. */
	skip = xcalloc(n + 1, 1);
	for (i = 0; i < n; i++) {
		if (list[i].labels != NULL && !metrics_ours(list[i].labels)) {
			skip[i] = 1; /* another node's */
			continue;
		}
		if (list[i].name == NULL || list[i].labels == NULL ||
		    !metrics_name_valid(list[i].name) ||
		    metrics_labels_walk(list[i].labels, NULL) != 0) {
			error_f("counter '%.100s{%.100s}' is not valid in the "
			        "exposition format; left out",
			    list[i].name == NULL ? "(null)" : list[i].name,
			    list[i].labels == NULL ? "(null)" : list[i].labels);
			skip[i] = 1;
		}
	}

	/* The known families, always (or once counted), in a fixed order. */
	for (i = 0; i < METRICS_NCOUNTERS; i++) {
		if (metrics_counters[i].unlabelled == -1) {
			for (j = 0; j < n; j++) {
				if (!skip[j] &&
				    strcmp(list[j].name,
				        metrics_counters[i].name) == 0)
					break;
			}
			if (j == n)
				continue;
		}
		w->family(b, metrics_counters[i].name, "counter",
		    metrics_counters[i].help);
		if (metrics_counter_samples(w, b, list, n, skip,
		        metrics_counters[i].name) == 0 &&
		    metrics_counters[i].unlabelled == 1) {
			s.name = metrics_counters[i].name;
			s.labels = metrics_node_prefix != NULL
			    ? metrics_node_prefix
			    : "";
			s.value = 0;
			w->sample(b, "counter", &s);
		}
	}
	/* Then any other counter, one family per name, as first listed. */
	for (i = 0; i < n; i++) {
		if (skip[i] || metrics_counter_known(list[i].name) != NULL)
			continue;
		for (j = 0; j < i; j++) {
			if (!skip[j] && strcmp(list[j].name, list[i].name) == 0)
				break;
		}
		if (j < i)
			continue; /* written with its first */
		free(help);
		help = NULL;
		xasprintf(&help, "porthole counter %s.", list[i].name);
		w->family(b, list[i].name, "counter", help);
		metrics_counter_samples(w, b, list, n, skip, list[i].name);
	}

	/* All or nothing: <out> only gets a complete rendering. */
	buf_append(out, buf_str(b), buf_len(b));
	r = 0;
out:
	free(help);
	free(skip);
	buf_free(b);
	store_counter_list_free(list, n);
	return r;
}

int
metrics_render(struct store *store, struct buf *out)
{
	static const struct metrics_writer text = { metrics_text_family,
		metrics_text_sample };

	return metrics_render_with(store, out, &text);
}

int
metrics_render_json(struct store *store, struct buf *out)
{
	static const struct metrics_writer json = { metrics_json_family,
		metrics_json_sample };

	return metrics_render_with(store, out, &json);
}
