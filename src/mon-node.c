/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "misc.h"
#include "mon-int.h"
#include "mon.h"
#include "store.h"
#include "xmalloc.h"

/*
 * After an outage of its own, a node judges no other for NodeTimeout
 * and this much more: the others reconnect at their next try, up to
 * the store's longest gap between tries (4 s) later than this one did.
 */
#define MON_NODE_REJOIN_MS 5000

/*
 * This node's place in a fleet sharing one database: a heartbeat every
 * third of NodeTimeout, and the release of nodes silent for longer, so
 * that the addresses they served can be served by a node still up.
 */

char *
mon_node_hosts(const struct conf *conf)
{
	size_t i, len = 1;
	char *s;

	for (i = 0; i < conf->npublic_hosts; i++)
		len += strlen(conf->public_hosts[i]) + 1;
	s = xcalloc(1, len);
	for (i = 0; i < conf->npublic_hosts; i++) {
		if (i > 0)
			strlcat(s, " ", len);
		strlcat(s, conf->public_hosts[i], len);
	}
	return s;
}

/* The live (not ending) logged-in session <session_id>, or NULL. */
static struct mon_kid *
mon_node_kid(struct mon *mon, const char *session_id)
{
	struct mon_kid *k;

	TAILQ_FOREACH (k, &mon->kids, entry)
		if (k->state == MON_KID_AUTHED && !k->ended &&
		    k->session_id != NULL &&
		    strcmp(k->session_id, session_id) == 0)
			return k;
	return NULL;
}

/*
 * Back from a database outage: the sessions and endpoints of this node
 * that ended meanwhile could not be recorded; end their rows now.
 * Returns 0, or -1 if the store failed (to try again).
 */
static int
mon_node_reconcile(struct mon *mon)
{
	const char *self = mon->conf->node_name;
	struct store_session **sl = NULL;
	struct store_endpoint **el = NULL;
	struct mon_kid *k;
	size_t ns = 0, ne = 0, i, j;
	int64_t now = misc_now_ms();
	int ended = 0, live, r, ret = -1;

	if (store_session_list(mon->store, NULL, &sl, &ns) != 0)
		goto out;
	for (i = 0; i < ns; i++) {
		if (strcmp(sl[i]->node, self) != 0 ||
		    mon_node_kid(mon, sl[i]->id) != NULL)
			continue;
		r = store_session_end(mon->store, sl[i]->id, now);
		if (r == 0)
			ended++;
		else if (r != PORTHOLE_ERR_NOT_FOUND)
			goto out;
	}
	if (store_endpoint_list(mon->store, &el, &ne) != 0)
		goto out;
	for (i = 0; i < ne; i++) {
		if (strcmp(el[i]->node, self) != 0 ||
		    (k = mon_node_kid(mon, el[i]->session_id)) == NULL)
			continue;
		for (live = 0, j = 0; j < k->neps; j++)
			if (strcmp(k->eps[j]->id, el[i]->id) == 0)
				live = k->eps[j]->live;
		if (live)
			continue;
		r = store_endpoint_end(mon->store, el[i]->id, now);
		if (r == 0)
			ended++;
		else if (r != PORTHOLE_ERR_NOT_FOUND)
			goto out;
	}
	ret = 0;
out:
	if (ended > 0)
		logit("node %s: %d session(s) and endpoint(s) that ended "
		      "while the database was away recorded as ended",
		    self, ended);
	store_session_list_free(sl, ns);
	store_endpoint_list_free(el, ne);
	return ret;
}

void
mon_node_tick(struct mon *mon)
{
	const struct conf *conf = mon->conf;
	int64_t now = misc_monotonic_ms(), lost = 0, timeout_ms;
	struct store_released rel;
	struct mon_kid *k;
	char **names = NULL, *hosts;
	size_t n = 0, i;
	int r, nsess = 0;

	if (now < mon->next_beat)
		return;
	timeout_ms = conf->node_timeout * 1000;
	mon->next_beat = now + timeout_ms / 3;
	hosts = mon_node_hosts(conf);
	r = store_node_beat(mon->store, conf->node_name,
	    conf->region != NULL ? conf->region : "", hosts, misc_now_ms(),
	    &lost);
	free(hosts);
	if (r != 0) {
		if (!mon->beat_failing)
			error_r(r, "node %s: cannot record a heartbeat",
			    conf->node_name);
		mon->beat_failing = 1;
		return;
	}
	if (mon->beat_failing)
		logit("node %s: heartbeats recorded again", conf->node_name);
	if (mon->outages_seen != store_outages(mon->store)) {
		/* Until it is done, at every heartbeat. */
		if (mon_node_reconcile(mon) == 0)
			mon->outages_seen = store_outages(mon->store);
		/*
		 * The others may have been cut off as long: give them a
		 * NodeTimeout, and the time to reconnect, to beat again
		 * before judging them.
		 */
		mon->judge_after = now + timeout_ms + MON_NODE_REJOIN_MS;
	}
	mon->beat_failing = 0;
	if (lost != 0) {
		/* Its rows are ended: each session finds out, and stops. */
		logit("node %s: another node took this one for lost (silent "
		      "over NodeTimeout %llds); the sessions it had then are "
		      "ended",
		    conf->node_name, (long long)conf->node_timeout);
		TAILQ_FOREACH (k, &mon->kids, entry)
			if (k->state == MON_KID_AUTHED)
				mon_check_soon(mon, k);
	}
	if (now < mon->judge_after)
		return;
	if ((r = store_node_release(mon->store, conf->node_name, timeout_ms,
	         misc_now_ms(), &names, &n, &rel)) != 0) {
		error_r(r, "node %s: cannot look for lost nodes",
		    conf->node_name);
		return;
	}
	/* The lost node cannot record their ends: this one does, as its. */
	mon_rec_released(mon, &rel);
	nsess = (int)rel.nsessions;
	store_released_clear(&rel);
	for (i = 0; i < n; i++) {
		logit("node %s: no heartbeat for over %llds: taken for lost; "
		      "its sessions and endpoints are ended",
		    names[i], (long long)conf->node_timeout);
		free(names[i]);
	}
	if (n > 0)
		logit("node %s: %d session(s) of %zu lost node(s) ended",
		    conf->node_name, nsess, n);
	free(names);
}

int64_t
mon_node_deadline(struct mon *mon)
{
	return mon->next_beat;
}
