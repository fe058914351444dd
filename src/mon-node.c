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

void
mon_node_tick(struct mon *mon)
{
	const struct conf *conf = mon->conf;
	int64_t now = misc_monotonic_ms(), lost = 0, timeout_ms;
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
	if ((r = store_node_release(mon->store, conf->node_name, timeout_ms,
	         misc_now_ms(), &names, &n, &nsess)) != 0) {
		error_r(r, "node %s: cannot look for lost nodes",
		    conf->node_name);
		return;
	}
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
