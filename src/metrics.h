/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_METRICS_H
#define PORTHOLE_METRICS_H

/*
 * The server's metrics in the Prometheus text exposition format, for
 * "portholectl metrics" (node_exporter's textfile collector) and for
 * portholed's MetricsListen endpoint alike. The gauges are the live
 * totals of the store (store_live_totals): porthole_sessions,
 * porthole_endpoints, porthole_connections_open. The counters are
 * whatever the session processes have recorded (store_counter_list),
 * each family with its HELP and TYPE lines; the known unlabelled ones
 * (porthole_connections_total, porthole_bytes_in_total, …) show 0
 * until first counted, so a scrape always sees the same families.
 */

struct buf;
struct store;

/*
 * A node of a fleet (PostgreSQL) serves its own metrics: once this is
 * set, the gauges count only <node>'s rows and the counters are only
 * those labelled as its (their labels begin with metrics_node_labels()),
 * every sample labelled node="NODE",region="REGION". Unset (SQLite, or
 * portholectl), the gauges count every row and counters are shown as
 * stored. NodeName and Region hold no quote or backslash.
 */
void metrics_set_node(const char *node, const char *region);
/* The label text node="NODE",region="REGION" of <node>, a new string. */
char *metrics_node_labels(const char *node, const char *region);

/* The Content-Type of what metrics_render() writes, for an HTTP reply. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Append the metrics of <store> to <out> in the text exposition format:
 * "# HELP" and "# TYPE" lines, then one "name{labels} value" sample per
 * line. A counter whose name or label text is not valid in the format
 * is left out and logged. Returns 0, or a negative PORTHOLE_ERR_* (from
 * the store) with <out> unchanged.
 */
int metrics_render(struct store *store, struct buf *out);

/*
 * As metrics_render(), but one JSON object per sample and line:
 * {"name":"porthole_forwards_refused_total","type":"counter",
 *  "labels":{"reason":"ip_policy"},"value":3}.
 */
int metrics_render_json(struct store *store, struct buf *out);

#endif /* PORTHOLE_METRICS_H */
