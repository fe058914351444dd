/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"
#include "log.h"
#include "store-int.h"
#include "store.h"
#include "xmalloc.h"

/*
 * Change notification: an administrator's change (portholectl here,
 * on any machine) is announced on one PostgreSQL channel, and each
 * portholed's monitor listens to it on a connection of its own
 * (struct store_changes) and has its live sessions re-read their
 * settings. The notification says only that something changed: what
 * changed, and whom it concerns, each session finds in the store, as
 * its periodic re-check does. SQLite has no such channel: its
 * portholectl signals the session processes of its own machine.
 */

/* The channel every change is announced on. */
#define STORE_CHANGES_CHANNEL "porthole_changes"

/* A connection that listens to STORE_CHANGES_CHANNEL. */
struct store_changes {
	struct db *db;
	char errmsg[256]; /* the last failure */
};

int
store_can_notify(struct store *store)
{
	return db_kind(store->db) == DB_POSTGRES;
}

int
store_notify_change(struct store *store)
{
	int r;

	if ((r = db_notify(store->db, STORE_CHANGES_CHANNEL, NULL)) != 0) {
		snprintf(store->errmsg, sizeof(store->errmsg), "%s",
		    db_errmsg(store->db));
		debug("store: notify %s: %s", STORE_CHANGES_CHANNEL,
		    store->errmsg);
	}
	return r;
}

int
store_changes_open(const char *target, struct store_changes **chp, char *errbuf,
    size_t errlen)
{
	struct store_changes *ch = NULL;
	char shown[256];
	int r = PORTHOLE_ERR_INTERNAL;

	*chp = NULL;
	if (errbuf != NULL && errlen > 0)
		*errbuf = '\0';
	ch = xcalloc(1, sizeof(*ch));
	if (!db_target_is_pg(target)) {
		snprintf(ch->errmsg, sizeof(ch->errmsg),
		    "change notification needs PostgreSQL");
		r = PORTHOLE_ERR_UNSUPPORTED;
		goto out;
	}
	if ((r = db_open(target, &ch->db, ch->errmsg, sizeof(ch->errmsg))) != 0)
		goto out;
	if ((r = db_listen(ch->db, STORE_CHANGES_CHANNEL)) != 0) {
		snprintf(ch->errmsg, sizeof(ch->errmsg), "%s",
		    db_errmsg(ch->db));
		goto out;
	}
	*chp = ch; /* now the caller's */
	ch = NULL;
	r = 0;
out:
	if (r != 0 && errbuf != NULL && errlen > 0) {
		db_target_print(target, shown, sizeof(shown));
		snprintf(errbuf, errlen, "%s: %s", shown, ch->errmsg);
	}
	store_changes_free(ch);
	return r;
}

void
store_changes_free(struct store_changes *ch)
{
	if (ch == NULL)
		return;
	db_close(ch->db);
	free(ch);
}

int
store_changes_fd(const struct store_changes *ch)
{
	return db_notify_fd(ch->db);
}

int
store_changes_drain(struct store_changes *ch, int *np)
{
	int r;

	if ((r = db_notify_drain(ch->db, np)) != 0)
		snprintf(ch->errmsg, sizeof(ch->errmsg), "%s",
		    db_errmsg(ch->db));
	return r;
}

int
store_changes_reconnect(struct store_changes *ch)
{
	int r;

	if ((r = db_reconnect(ch->db)) != 0)
		snprintf(ch->errmsg, sizeof(ch->errmsg), "%s",
		    db_errmsg(ch->db));
	return r;
}

const char *
store_changes_errmsg(const struct store_changes *ch)
{
	return ch->errmsg;
}
