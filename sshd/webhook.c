/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "portholed.h"

#include "conf.h"
#include "db.h"
#include "err.h"
#include "hook.h"
#include "id.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"
#include "misc.h"
#include "store.h"
#include "xmalloc.h"

/*
 * The webhook delivery process (portholed -W FD). The monitor starts it
 * as it starts the spawner, a fresh image of this program running as
 * User, and starts it again if it dies; it never touches an SSH
 * session or a relayed byte, so a slow or dead destination holds up
 * nothing but its own deliveries. It opens a store of its own and,
 * for each live destination:
 *
 *  - takes the destination's lease for this node (NodeName) for
 *    WEBHOOK_LEASE_MS, renewed while it runs, so that in a fleet one
 *    node delivers a destination at a time; a lease of a node that
 *    stopped runs out and another takes over;
 *  - reads the events after the destination's cursor that its
 *    subscriptions name (an account's destination: that account's
 *    only), at most WebhookBatchSize, and POSTs them as one JSON array
 *    signed with the destination's secret (X-Porthole-Signature:
 *    sha256=HEX of HMAC-SHA256(secret, body)), with an id of its own
 *    (X-Porthole-Delivery) that its retries keep, with the very body;
 *  - on a 2xx answer moves the cursor past them in the store; on
 *    anything else (no connection, WebhookTimeout, another status)
 *    waits 1 s, 2 s, 4 s … at most 60 s (kept in the store, so a
 *    restart waits too) and sends the same batch again.
 *
 * One request per destination at a time, the next only after the
 * last succeeded: in order per destination, and at least once (a
 * request that was received but whose answer was lost, or a restart
 * between the answer and the cursor's move, sends a batch again;
 * receivers deduplicate by event_id). Why a cursor loses no event is
 * said at store_hook_pending(). All destinations share one libcurl
 * multi handle: one poll waits for all of them, for the store's next
 * look (WEBHOOK_POLL_MS) and for the monitor's socket, whose end is
 * this process's end.
 */

#define WEBHOOK_POLL_MS        50 /* look for new events this often */
#define WEBHOOK_REFRESH_MS     2000 /* re-read the destinations */
#define WEBHOOK_LEASE_MS       30000 /* a lease lasts */
#define WEBHOOK_RENEW_MS       10000 /* and is renewed this often */
#define WEBHOOK_STORE_RETRY_MS 1000 /* after a store error */

/* One destination, as this process delivers it. */
struct wh_dest {
	struct store_hook_dest *d; /* id, account, url, secret */
	int present; /* seen in the last refresh */
	int leased; /* this node holds its lease */
	int64_t renew_at; /* monotonic: take or renew the lease then */
	int64_t cursor; /* as the store has it */
	int attempts; /* failures in a row */
	int64_t next_try_ms; /* epoch ms: not before (after failures) */
	/* The request in flight, or easy == NULL. */
	CURL *easy;
	struct curl_slist *headers;
	/* The batch it sends, kept until taken (body NULL: none). */
	char *body;
	size_t body_len;
	char *delivery; /* X-Porthole-Delivery, the batch's id */
	int64_t batch_from; /* the cursor it starts after */
	int64_t batch_to; /* the cursor once it is delivered */
	size_t batch_n;
	int64_t sent_ms; /* monotonic */
	char curl_err[CURL_ERROR_SIZE];
};

struct wh {
	struct conf *conf;
	struct store *store;
	CURLM *multi;
	int sock; /* the monitor's */
	struct wh_dest **dests;
	size_t ndests;
	int64_t next_refresh; /* monotonic */
	int64_t newest; /* the newest event seq seen */
	char *node_labels; /* a fleet's metrics labels, or NULL */
};

int
webhook_init_send(int sock, const struct conf *conf)
{
	struct ipc_msg m;
	char *text;
	int r;

	memset(&m, 0, sizeof(m));
	text = spawn_conf_text(conf);
	ipc_msg_init(&m, WEBHOOK_INIT);
	ipc_put_str(&m, text);
	ipc_put_u32(&m, (uint32_t)log_get_level());
	ipc_put_u8(&m, conf->syslog ? 1 : 0);
	r = ipc_send(sock, &m, NULL, 0);
	ipc_msg_free(&m);
	free(text);
	return r;
}

/* WEBHOOK_INIT: the configuration and how to log. */
static struct conf *
webhook_init(int sock)
{
	struct ipc_msg m;
	struct conf *conf = NULL;
	char *text = NULL;
	int fds[IPC_FDS_MAX];
	size_t nfds = 0, i;
	uint32_t level;
	int syslog_on;

	memset(&m, 0, sizeof(m));
	if (ipc_recv(sock, &m, fds, IPC_FDS_MAX, &nfds, 1) != 0 ||
	    m.type != WEBHOOK_INIT)
		goto out;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	text = ipc_get_str(&m, IPC_STR_MAX);
	level = ipc_get_u32(&m);
	syslog_on = ipc_get_u8(&m);
	if (!ipc_ok(&m, 1))
		goto out;
	log_init("portholed", (enum log_level)level,
	    syslog_on ? LOG_SINK_SYSLOG : LOG_SINK_STDERR);
	conf = spawn_conf_parse(text);
out:
	free(text);
	ipc_msg_free(&m);
	return conf;
}

/* libcurl's body of an answer: not wanted. */
static size_t
webhook_discard(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

/* Forget the request of <w>, if any (its batch stays). */
static void
webhook_req_free(struct wh *wh, struct wh_dest *w)
{
	if (w->easy != NULL) {
		curl_multi_remove_handle(wh->multi, w->easy);
		curl_easy_cleanup(w->easy);
		w->easy = NULL;
	}
	curl_slist_free_all(w->headers);
	w->headers = NULL;
}

/* Forget the batch of <w>, if any. */
static void
webhook_batch_free(struct wh_dest *w)
{
	free(w->body);
	w->body = NULL;
	w->body_len = 0;
	free(w->delivery);
	w->delivery = NULL;
	w->batch_n = 0;
}

static void
webhook_dest_free(struct wh *wh, struct wh_dest *w)
{
	if (w == NULL)
		return;
	webhook_req_free(wh, w);
	webhook_batch_free(w);
	store_hook_dest_free(w->d);
	free(w);
}

/* Add <n> to counter <name> in the store (its metrics). */
static void
webhook_count(struct wh *wh, const char *name, int64_t n)
{
	struct store_counter c;
	int r;

	c.name = name;
	c.labels = wh->node_labels != NULL ? wh->node_labels : "";
	c.value = n;
	if ((r = store_record(wh->store, NULL, 0, &c, 1, NULL, NULL)) != 0)
		error_r(r, "webhooks: cannot count %s", name);
}

/* <w>'s request failed (<why>): wait before the same batch goes again. */
static void
webhook_failed(struct wh *wh, struct wh_dest *w, const char *why)
{
	int64_t wait;
	int r;

	w->attempts++;
	webhook_count(wh, "porthole_webhook_failures_total", 1);
	wait = hook_backoff_ms(w->attempts);
	w->next_try_ms = misc_now_ms() + wait;
	logit("webhook %s: %s; attempt %d failed, again in %lld s", w->d->id,
	    why, w->attempts, (long long)(wait / 1000));
	if ((r = store_hook_failed(wh->store, w->d->id, wh->conf->node_name,
	         w->attempts, why, w->next_try_ms)) == PORTHOLE_ERR_DENIED) {
		/* Another node has it now. */
		w->leased = 0;
		w->renew_at = 0;
	} else if (r != 0)
		error_r(r, "webhook %s: cannot record the failure", w->d->id);
}

/* Move <w>'s cursor to <to> after <n> events were delivered (or none). */
static void
webhook_advance(struct wh *wh, struct wh_dest *w, int64_t to, size_t n)
{
	int r;

	if ((r = store_hook_advance(wh->store, w->d->id, wh->conf->node_name,
	         w->cursor, to, (int64_t)n, misc_now_ms())) == 0) {
		w->cursor = to;
		w->attempts = 0;
		w->next_try_ms = 0;
		webhook_batch_free(w);
		if (n > 0)
			webhook_count(wh,
			    "porthole_webhook_events_delivered_total",
			    (int64_t)n);
		return;
	}
	if (r == PORTHOLE_ERR_DENIED) {
		/* Another node took over: its cursor is the one. */
		logit("webhook %s: another node delivers it now", w->d->id);
		w->leased = 0;
		w->renew_at = 0;
		webhook_batch_free(w);
	} else {
		error_r(r, "webhook %s: cannot move the cursor", w->d->id);
		/* Sent again later: at least once. */
		w->next_try_ms = misc_now_ms() + WEBHOOK_STORE_RETRY_MS;
	}
}

/* A request of <w> is done with <res>. */
static void
webhook_done(struct wh *wh, struct wh_dest *w, CURLcode res)
{
	char why[CURL_ERROR_SIZE + 64];
	long status = 0;

	if (res == CURLE_OK)
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &status);
	if (res == CURLE_OK && status >= 200 && status <= 299) {
		debug("webhook %s: %zu event(s) delivered in %lld ms (HTTP "
		      "%ld)",
		    w->d->id, w->batch_n,
		    (long long)(misc_monotonic_ms() - w->sent_ms), status);
		webhook_advance(wh, w, w->batch_to, w->batch_n);
	} else {
		if (res != CURLE_OK)
			snprintf(why, sizeof(why), "%s",
			    w->curl_err[0] != '\0' ? w->curl_err
			                           : curl_easy_strerror(res));
		else
			snprintf(why, sizeof(why), "HTTP status %ld", status);
		webhook_failed(wh, w, why);
	}
	webhook_req_free(wh, w);
}

/* Make <w>'s batch of <evs>, after its cursor; the cursor then is <to>. */
static void
webhook_batch(struct wh_dest *w, struct store_event *const *evs, size_t n,
    int64_t to)
{
	webhook_batch_free(w);
	w->body = hook_body(evs, n, &w->body_len);
	w->delivery = id_new("dlv");
	w->batch_from = w->cursor;
	w->batch_to = to;
	w->batch_n = n;
}

/*
 * Start a POST of <w>'s batch, signed with its secret as it is now: a
 * retry sends the very same body with the same delivery id.
 */
static int
webhook_send(struct wh *wh, struct wh_dest *w)
{
	char sig[HOOK_SIGNATURE_LEN], *line = NULL;
	long timeout_ms = (long)wh->conf->webhook_timeout * 1000;
	int ret = -1;

	hook_sign(w->d->secret, w->body, w->body_len, sig);
	w->headers =
	    curl_slist_append(w->headers, "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip. */
	w->headers = curl_slist_append(w->headers, "Expect:");
	xasprintf(&line, "%s: %s", HOOK_SIGNATURE_HEADER, sig);
	w->headers = curl_slist_append(w->headers, line);
	free(line);
	xasprintf(&line, "%s: %s", HOOK_DELIVERY_HEADER, w->delivery);
	w->headers = curl_slist_append(w->headers, line);
	free(line);
	if (w->headers == NULL || (w->easy = curl_easy_init()) == NULL) {
		error("webhook %s: cannot make a request", w->d->id);
		goto out;
	}
	w->curl_err[0] = '\0';
	curl_easy_setopt(w->easy, CURLOPT_URL, w->d->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(w->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(w->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(w->easy, CURLOPT_POSTFIELDS, w->body);
	curl_easy_setopt(w->easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)w->body_len);
	curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->headers);
	curl_easy_setopt(w->easy, CURLOPT_USERAGENT,
	    "porthole-webhook/" PACKAGE_VERSION);
	curl_easy_setopt(w->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(w->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, webhook_discard);
	curl_easy_setopt(w->easy, CURLOPT_ERRORBUFFER, w->curl_err);
	curl_easy_setopt(w->easy, CURLOPT_PRIVATE, w);
	if (curl_multi_add_handle(wh->multi, w->easy) != CURLM_OK) {
		error("webhook %s: cannot start a request", w->d->id);
		goto out;
	}
	w->sent_ms = misc_monotonic_ms();
	ret = 0;
out:
	sodium_memzero(sig, sizeof(sig));
	if (ret != 0) {
		webhook_req_free(wh, w);
		w->next_try_ms = misc_now_ms() + WEBHOOK_STORE_RETRY_MS;
	}
	return ret;
}

/* The destination of <wh> with id <id>, or NULL. */
static struct wh_dest *
webhook_find(struct wh *wh, const char *id)
{
	size_t i;

	for (i = 0; i < wh->ndests; i++) {
		if (strcmp(wh->dests[i]->d->id, id) == 0)
			return wh->dests[i];
	}
	return NULL;
}

/*
 * Re-read the live destinations: new ones are added, changed ones take
 * their new URL and secret from their next request on, deleted ones go
 * (a request under way is dropped).
 */
static void
webhook_refresh(struct wh *wh)
{
	struct store_hook_dest **list = NULL;
	struct wh_dest *w;
	size_t n = 0, i, j;
	int r;

	wh->next_refresh = misc_monotonic_ms() + WEBHOOK_REFRESH_MS;
	if ((r = store_hook_deliverable(wh->store, &list, &n)) != 0) {
		error_r(r, "webhooks: cannot read the destinations");
		return;
	}
	for (i = 0; i < wh->ndests; i++)
		wh->dests[i]->present = 0;
	for (i = 0; i < n; i++) {
		if ((w = webhook_find(wh, list[i]->id)) == NULL) {
			w = xcalloc(1, sizeof(*w));
			wh->dests = xreallocarray(wh->dests, wh->ndests + 1,
			    sizeof(*wh->dests));
			wh->dests[wh->ndests++] = w;
			debug("webhook %s: delivering to %.200s", list[i]->id,
			    list[i]->url);
		} else if (w->easy != NULL) {
			/* In flight with the old one: change it after. */
			w->present = 1;
			continue;
		}
		store_hook_dest_free(w->d);
		w->d = list[i]; /* now w's */
		list[i] = NULL;
		w->present = 1;
	}
	for (i = j = 0; i < wh->ndests; i++) {
		if (wh->dests[i]->present)
			wh->dests[j++] = wh->dests[i];
		else {
			debug("webhook %s: deleted", wh->dests[i]->d->id);
			webhook_dest_free(wh, wh->dests[i]);
		}
	}
	wh->ndests = j;
	store_hook_dest_list_free(list, n);
}

/* Take or renew <w>'s lease when due; returns 1 if this node holds it. */
static int
webhook_lease(struct wh *wh, struct wh_dest *w, int64_t mono)
{
	int64_t now = misc_now_ms(), cursor = 0, next = 0;
	int r, attempts = 0, had = w->leased;

	if (mono < w->renew_at)
		return w->leased;
	r = store_hook_lease(wh->store, w->d->id, wh->conf->node_name, now,
	    now + WEBHOOK_LEASE_MS, &cursor, &attempts, &next);
	if (r == 0) {
		w->leased = 1;
		w->renew_at = mono + WEBHOOK_RENEW_MS;
		if (!had && w->easy == NULL) {
			/*
			 * Where the last holder (maybe us, before) left it.
			 * With a request under way, its end says: moving
			 * the cursor fails if another node moved it.
			 */
			w->cursor = cursor;
			w->attempts = attempts;
			w->next_try_ms = next;
			debug("webhook %s: lease taken at event %lld", w->d->id,
			    (long long)cursor);
		}
	} else {
		if (r != PORTHOLE_ERR_DENIED && r != PORTHOLE_ERR_NOT_FOUND)
			error_r(r, "webhook %s: lease", w->d->id);
		w->leased = 0;
		w->renew_at = mono + WEBHOOK_RENEW_MS;
	}
	return w->leased;
}

/* Start what is due for <w>. */
static void
webhook_dest_run(struct wh *wh, struct wh_dest *w, int64_t mono)
{
	struct store_event **evs = NULL;
	size_t n = 0;
	int64_t scanned;
	int r;

	/* Renewed while a request is under way too (WebhookTimeout). */
	if (!webhook_lease(wh, w, mono) || w->easy != NULL)
		return;
	if (w->next_try_ms != 0 && misc_now_ms() < w->next_try_ms)
		return;
	/* A batch kept for a retry, if the cursor is still where it was. */
	if (w->body != NULL && w->batch_from != w->cursor)
		webhook_batch_free(w);
	if (w->body != NULL) {
		(void)webhook_send(wh, w);
		return;
	}
	if (w->cursor >= wh->newest)
		return;
	if ((r = store_hook_pending(wh->store, w->d, w->cursor,
	         (size_t)wh->conf->webhook_batch_size, &evs, &n, &scanned)) !=
	    0) {
		error_r(r, "webhook %s: cannot read events", w->d->id);
		w->next_try_ms = misc_now_ms() + WEBHOOK_STORE_RETRY_MS;
		goto out;
	}
	if (n == 0) {
		/* Nothing of its own since: pass over the others. */
		if (scanned > w->cursor)
			webhook_advance(wh, w, scanned, 0);
		goto out;
	}
	webhook_batch(w, evs, n, scanned);
	(void)webhook_send(wh, w);
out:
	store_event_list_free(evs, n);
}

/* Collect the requests that finished. */
static void
webhook_collect(struct wh *wh)
{
	struct wh_dest *w;
	CURLMsg *msg;
	char *priv;
	int left, running;

	curl_multi_perform(wh->multi, &running);
	while ((msg = curl_multi_info_read(wh->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		if ((w = (struct wh_dest *)(void *)priv) == NULL)
			continue;
		webhook_done(wh, w, msg->data.result);
	}
}

/* Predicate: the monitor's socket is closed (or broken). */
static int
webhook_monitor_gone(int sock)
{
	struct ipc_msg m;
	int fds[IPC_FDS_MAX];
	size_t nfds = 0, i;
	int r;

	memset(&m, 0, sizeof(m));
	r = ipc_recv(sock, &m, fds, IPC_FDS_MAX, &nfds, 0);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	ipc_msg_free(&m);
	return r == 1 || (r == -1 && errno != EAGAIN && errno != EINTR);
}

/* The newest event seq, into wh->newest (kept on error). */
static void
webhook_newest(struct wh *wh)
{
	struct store_event **evs = NULL;
	size_t n = 0;
	int r;

	/* The newest one alone: a lookup on the seq key. */
	if ((r = store_event_list(wh->store, 0, NULL, 0, 1, &evs, &n)) != 0) {
		error_r(r, "webhooks: cannot read the newest event");
		return;
	}
	if (n > 0)
		wh->newest = evs[0]->seq;
	store_event_list_free(evs, n);
}

static int
webhook_loop(struct wh *wh)
{
	struct curl_waitfd wfd;
	int64_t mono;
	size_t i;
	int numfds;

	for (;;) {
		mono = misc_monotonic_ms();
		if (mono >= wh->next_refresh)
			webhook_refresh(wh);
		webhook_newest(wh);
		for (i = 0; i < wh->ndests; i++)
			webhook_dest_run(wh, wh->dests[i], mono);
		webhook_collect(wh);
		memset(&wfd, 0, sizeof(wfd));
		wfd.fd = wh->sock;
		wfd.events = CURL_WAIT_POLLIN;
		if (curl_multi_poll(wh->multi, &wfd, 1, WEBHOOK_POLL_MS,
		        &numfds) != CURLM_OK) {
			error("webhooks: curl_multi_poll failed");
			return 1;
		}
		if (wfd.revents != 0 && webhook_monitor_gone(wh->sock))
			return 0;
		webhook_collect(wh);
	}
}

int
webhook_main(int sock)
{
	struct wh wh;
	char errbuf[256];
	size_t i;
	int r, ret = 1;

	memset(&wh, 0, sizeof(wh));
	wh.sock = sock;
	log_init("portholed", LOG_LEVEL_INFO, LOG_SINK_STDERR);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		error("webhooks: libsodium initialisation failed");
		goto out;
	}
	if ((wh.conf = webhook_init(sock)) == NULL) {
		error("webhooks: no configuration from the monitor");
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (wh.multi = curl_multi_init()) == NULL) {
		error("webhooks: libcurl initialisation failed");
		goto out;
	}
	if (store_open(wh.conf->database, &wh.store, errbuf, sizeof(errbuf)) !=
	    0) {
		error("webhooks: Database %s", errbuf);
		goto out;
	}
	/* In a fleet, each node's counters carry its labels (as mon.c). */
	if (db_target_is_pg(wh.conf->database))
		wh.node_labels =
		    metrics_node_labels(wh.conf->node_name, wh.conf->region);
	debug("webhooks: delivery process started, node %s",
	    wh.conf->node_name);
	ret = webhook_loop(&wh);
	/* A clean end: the next holder need not wait for the leases. */
	if ((r = store_hook_release(wh.store, wh.conf->node_name)) != 0)
		error_r(r, "webhooks: cannot give up the leases");
out:
	for (i = 0; i < wh.ndests; i++)
		webhook_dest_free(&wh, wh.dests[i]);
	free(wh.dests);
	if (wh.multi != NULL)
		curl_multi_cleanup(wh.multi);
	curl_global_cleanup();
	store_free(wh.store);
	conf_free(wh.conf);
	free(wh.node_labels);
	return ret;
}
