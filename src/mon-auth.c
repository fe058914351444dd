/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "mon-int.h"

#include "conf.h"
#include "err.h"
#include "id.h"
#include "log.h"
#include "misc.h"
#include "pubkey.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

/*
 * Logins, decided by the monitor. A session process reports what the
 * client offered (a public key whose signature libssh has checked, a
 * token, a wish to be anonymous); the monitor finds the account, checks
 * that it may log in now, counts the attempts (MaxAuthTries holds here
 * whatever the session process does) and, for a login, records the
 * session. Later it re-reads the session's settings (mon_check): an
 * administrator may have ended it, disabled its account, revoked its
 * credential or changed its IP policy.
 */

/* The account anonymous logins share (AllowAnonymous). */
#define MON_ANONYMOUS    "anonymous"
#define MON_ROW_CHECK_MS 10000

/* Keep the user name a client offered: sanitized, never a token. */
static void
mon_note_user(struct mon_kid *k, const char *user)
{
	char buf[65];

	if (k->user != NULL || user == NULL)
		return;
	if (token_is_token(user))
		k->user = xstrdup(TOKEN_REDACTED);
	else {
		log_sanitize(buf, sizeof(buf), user);
		k->user = xstrdup(buf);
	}
}

/* Answer <k>'s authentication request with <result> and <reason>. */
static void
mon_auth_answer(struct mon *mon, struct mon_kid *k, enum mon_auth result,
    const char *reason)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_AUTH_RESULT);
	ipc_put_u32(&m, result);
	ipc_put_str(&m, reason);
	mon_send(mon, k, &m, -1);
	ipc_msg_free(&m);
}

/*
 * The store cannot be reached (PostgreSQL down, or being switched
 * over): refuse <k> saying so, rather than have it try every key and
 * read "Permission denied". Returns the REFUSED it answered.
 */
static enum mon_auth
mon_auth_unavailable(struct mon *mon, struct mon_kid *k)
{
	logit("connection from %s port %u: refused: the database cannot be "
	      "reached",
	    k->src, k->src_port);
	k->state = MON_KID_REFUSED;
	mon_kid_leave_soon(mon, k);
	mon_auth_answer(mon, k, MON_AUTH_REFUSED,
	    "the server cannot reach its database; try again in a moment");
	return MON_AUTH_REFUSED;
}

/*
 * Log in <k> as account <account_id> with <credential>. Returns the
 * result it answered (LOGIN, REFUSED or DENIED).
 */
static enum mon_auth
mon_login(struct mon *mon, struct mon_kid *k, const char *account_id,
    const char *credential, int anonymous)
{
	struct conf *conf = mon->conf;
	struct store_account *a = NULL;
	struct store_session row;
	struct ipc_msg m;
	char *id = NULL, reason[256];
	uint64_t stamp = 0;
	int64_t now = misc_now_ms();
	int r, max_sessions;
	enum mon_auth ret = MON_AUTH_DENIED;

	memset(&m, 0, sizeof(m));
	reason[0] = '\0';
	if ((r = store_account_get(mon->store, account_id, &a)) != 0) {
		if (r == PORTHOLE_ERR_UNAVAILABLE) {
			ret = mon_auth_unavailable(mon, k);
			goto out_answered;
		}
		error_r(r, "account %s", account_id);
		goto out;
	}
	if (a->disabled) {
		logit("connection from %s port %u: account %s is disabled",
		    k->src, k->src_port, a->name);
		goto out;
	}
	ipc_msg_init(&m, MON_AUTH_RESULT);
	ipc_put_u32(&m, MON_AUTH_LOGIN);
	ipc_put_str(&m, "");
	if ((int)mon->nsessions >= conf->max_sessions) {
		snprintf(reason, sizeof(reason),
		    "the server already has %d live sessions (MaxSessions); "
		    "try again later",
		    conf->max_sessions);
		ret = MON_AUTH_REFUSED;
		goto out;
	}
	max_sessions = a->max_sessions > 0 ? a->max_sessions
	                                   : conf->max_sessions_per_account;
	id = id_new("ss");
	memset(&row, 0, sizeof(row));
	row.id = id;
	row.account_id = a->id;
	row.pid = (int64_t)k->pid;
	row.client_ip = k->src;
	row.client_port = k->src_port;
	row.user = k->user;
	row.credential = (char *)credential;
	row.started_ms = now;
	row.node = conf->node_name;
	row.region = conf->region;
	r = store_session_add(mon->store, &row, max_sessions);
	if (r == PORTHOLE_ERR_EXHAUSTED) {
		snprintf(reason, sizeof(reason),
		    "account %s already has %d live sessions "
		    "(MaxSessionsPerAccount)",
		    a->name, max_sessions);
		ret = MON_AUTH_REFUSED;
		goto out;
	}
	if (r == PORTHOLE_ERR_DENIED || r == PORTHOLE_ERR_NOT_FOUND) {
		logit("connection from %s port %u: account %s was disabled or "
		      "deleted as it logged in",
		    k->src, k->src_port, a->name);
		goto out;
	}
	if (r == PORTHOLE_ERR_UNAVAILABLE) {
		ret = mon_auth_unavailable(mon, k);
		goto out_answered;
	}
	if (r != 0) {
		error_r(r, "cannot record a session of account %s", a->name);
		goto out;
	}
	/*
	 * A token revoked or a key deleted between our lookup and the
	 * insert: the row is there, so the revocation did not see it.
	 */
	{
		struct store_session_status st;

		memset(&st, 0, sizeof(st));
		r = store_session_status(mon->store, id, &st);
		if (r == 0 && !st.credential_valid) {
			(void)store_session_end(mon->store, id, now);
			logit("connection from %s port %u: its credential was "
			      "revoked as it logged in",
			    k->src, k->src_port);
			store_session_status_clear(&st);
			goto out;
		}
		store_session_status_clear(&st);
	}
	k->session_id = id;
	id = NULL;
	k->account_id = xstrdup(a->id);
	k->account_name = xstrdup(a->name);
	k->credential = xstrdup(credential);
	k->anonymous = anonymous;
	k->started_ms = now;
	k->max_endpoints = a->max_endpoints > 0
	    ? a->max_endpoints
	    : conf->max_endpoints_per_session;
	ipc_put_str(&m, k->session_id);
	ipc_put_str(&m, k->account_id);
	ipc_put_str(&m, k->account_name);
	ipc_put_str(&m,
	    anonymous                                 ? "anonymous"
	        : strncmp(credential, "key:", 4) == 0 ? "key"
	                                              : "token");
	ipc_put_u8(&m, anonymous ? 1 : 0);
	ipc_put_u32(&m, (uint32_t)k->max_endpoints);
	if (mon_put_policy(mon, &m, a->ip_policy_id, &stamp) != 0) {
		/* Not logged in after all: its row goes again. */
		(void)store_session_end(mon->store, k->session_id, now);
		goto out;
	}
	k->policy_stamp = stamp;
	k->state = MON_KID_AUTHED;
	mon->nsessions++;
	k->kill_deadline = 0;
	k->next_check = misc_monotonic_ms() + MON_ROW_CHECK_MS;
	k->last_check = misc_monotonic_ms();
	if (k->next_check < mon->next_scan)
		mon->next_scan = k->next_check;
	logit("session %s: account %s from %s port %u (%s)", k->session_id,
	    k->account_name, k->src, k->src_port, credential);
	mon_rec_session(mon, k, 1, NULL);
	/* Affinity is per credential; anonymous users share one. */
	if (!anonymous && conf->address_affinity > 0 &&
	    (r = store_affinity(mon->store, k->account_id, credential,
	         now - conf->address_affinity * 1000, &k->affinity,
	         &k->naffinity)) != 0)
		error_r(r, "session %s: address affinity", k->session_id);
	mon_send(mon, k, &m, -1);
	/* Its traffic limits, before any forward can accept. */
	mon_limits(mon, k, a);
	ret = MON_AUTH_LOGIN;
out:
	if (ret == MON_AUTH_REFUSED) {
		logit("connection from %s port %u: account %s refused: %s",
		    k->src, k->src_port, a->name, reason);
		/* It ends at once, and stays out of the logged-in count. */
		k->state = MON_KID_REFUSED;
		mon_kid_leave_soon(mon, k);
		mon_auth_answer(mon, k, MON_AUTH_REFUSED, reason);
	}
out_answered:
	ipc_msg_free(&m);
	store_account_free(a);
	free(id);
	return ret;
}

/* MON_AUTH_KEY: is this public key registered to an enabled account? */
static enum mon_auth
mon_auth_key(struct mon *mon, struct mon_kid *k, int probe, const char *type,
    const char *b64)
{
	struct store_key *key = NULL;
	char fp[PUBKEY_FP_LEN + 1], *cred = NULL;
	enum mon_auth ret = MON_AUTH_DENIED;
	int r;

	if (pubkey_fingerprint(b64, fp, sizeof(fp)) != 0) {
		verbose("connection from %s port %u: unusable public key",
		    k->src, k->src_port);
		goto out;
	}
	if ((r = store_key_get(mon->store, fp, &key)) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND)
			logit("connection from %s port %u: key %s is not "
			      "registered",
			    k->src, k->src_port, fp);
		else if (r == PORTHOLE_ERR_UNAVAILABLE)
			ret = mon_auth_unavailable(mon, k);
		else
			error_r(r, "key lookup for %s", fp);
		goto out;
	}
	if (strcmp(key->blob, b64) != 0) {
		error("key %s: stored key differs from the offered one", fp);
		goto out;
	}
	if (key->account_disabled) {
		logit("connection from %s port %u: account %s is disabled",
		    k->src, k->src_port, key->account_name);
		goto out;
	}
	if (probe) {
		ret = MON_AUTH_PROBE_OK;
		goto out;
	}
	xasprintf(&cred, "key:%s", fp);
	ret = mon_login(mon, k, key->account_id, cred, 0);
out:
	free(cred);
	store_key_free(key);
	(void)type;
	return ret;
}

/* MON_AUTH_TOKEN: an authtoken, hashed with the key only we hold. */
static enum mon_auth
mon_auth_token(struct mon *mon, struct mon_kid *k, const char *token,
    const char *how)
{
	struct store_token *t = NULL;
	unsigned char hash[TOKEN_HASH_LEN], stored[TOKEN_HASH_LEN];
	char *cred = NULL;
	enum mon_auth ret = MON_AUTH_DENIED;
	int r;

	if (!token_is_token(token))
		goto out;
	token_hash(mon->token_key, token, hash);
	if ((r = store_token_find(mon->store, hash, sizeof(hash), &t,
	         stored)) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND)
			logit("connection from %s port %u: unknown or revoked "
			      "token (%s)",
			    k->src, k->src_port, how);
		else if (r == PORTHOLE_ERR_UNAVAILABLE)
			ret = mon_auth_unavailable(mon, k);
		else
			error_r(r, "token lookup");
		goto out;
	}
	if (!token_hash_equal(hash, stored))
		goto out;
	if (t->account_disabled) {
		logit("connection from %s port %u: account %s is disabled",
		    k->src, k->src_port, t->account_name);
		goto out;
	}
	xasprintf(&cred, "token:%s", t->id);
	ret = mon_login(mon, k, t->account_id, cred, 0);
	if (ret == MON_AUTH_LOGIN &&
	    (r = store_token_touch(mon->store, t->id, misc_now_ms())) != 0)
		error_r(r, "token %s: cannot note its use", t->id);
out:
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(stored, sizeof(stored));
	free(cred);
	store_token_free(t);
	return ret;
}

/* MON_AUTH_ANON: the shared anonymous account, if AllowAnonymous. */
static enum mon_auth
mon_auth_anon(struct mon *mon, struct mon_kid *k)
{
	struct store_account *a = NULL;
	char *cred = NULL;
	enum mon_auth ret = MON_AUTH_DENIED;
	int r;

	if (!mon->conf->allow_anonymous)
		goto out;
	r = store_account_get(mon->store, MON_ANONYMOUS, &a);
	if (r == PORTHOLE_ERR_NOT_FOUND) {
		r = store_account_add(mon->store, MON_ANONYMOUS, &a);
		if (r == PORTHOLE_ERR_EXISTS)
			r = store_account_get(mon->store, MON_ANONYMOUS, &a);
	}
	if (r != 0) {
		error_r(r, "anonymous account");
		goto out;
	}
	if (a->disabled) {
		logit("connection from %s port %u: the anonymous account is "
		      "disabled",
		    k->src, k->src_port);
		goto out;
	}
	xasprintf(&cred, "anonymous:%s", k->src);
	ret = mon_login(mon, k, a->id, cred, 1);
out:
	free(cred);
	store_account_free(a);
	return ret;
}

void
mon_auth(struct mon *mon, struct mon_kid *k, struct ipc_msg *m)
{
	char *user = NULL, *type = NULL, *secret = NULL;
	const char *how = "password";
	enum mon_auth ret = MON_AUTH_DENIED;
	int probe = 0;
	uint32_t t = m->type;

	switch (t) {
	case MON_AUTH_KEY:
		probe = ipc_get_u8(m) != 0;
		user = ipc_get_str(m, MON_USER_MAX);
		type = ipc_get_str(m, 64);
		secret = ipc_get_str(m, MON_KEY_MAX);
		break;
	case MON_AUTH_TOKEN:
		switch (ipc_get_u8(m)) {
		case MON_HOW_KBDINT:
			how = "keyboard-interactive";
			break;
		case MON_HOW_USER:
			how = "user name";
			break;
		default:
			break;
		}
		user = ipc_get_str(m, MON_USER_MAX);
		secret = ipc_get_str(m, MON_TOKEN_MAX);
		break;
	default: /* MON_AUTH_ANON */
		user = ipc_get_str(m, MON_USER_MAX);
		break;
	}
	if (!ipc_ok(m, 1)) {
		mon_violation(mon, k, t, "malformed message");
		goto out;
	}
	mon_note_user(k, user);
	if (k->state != MON_KID_PREAUTH) {
		/* libssh asks nothing after a login: answer, change nothing. */
		mon_auth_answer(mon, k, MON_AUTH_DENIED, "");
		goto out;
	}
	if (k->failures >= mon->conf->max_auth_tries) {
		mon_auth_answer(mon, k, MON_AUTH_TOO_MANY, "");
		goto out;
	}
	switch (t) {
	case MON_AUTH_KEY:
		ret = mon_auth_key(mon, k, probe, type, secret);
		break;
	case MON_AUTH_TOKEN:
		ret = mon_auth_token(mon, k, secret, how);
		break;
	default:
		ret = mon_auth_anon(mon, k);
		break;
	}
	switch (ret) {
	case MON_AUTH_DENIED:
		/* A refused key counts, probe or not, as it does for sshd. */
		k->failures++;
		mon_auth_answer(mon, k,
		    k->failures >= mon->conf->max_auth_tries ? MON_AUTH_TOO_MANY
		                                             : MON_AUTH_DENIED,
		    "");
		break;
	case MON_AUTH_PROBE_OK:
		mon_auth_answer(mon, k, MON_AUTH_PROBE_OK, "");
		break;
	default:
		break; /* mon_login answered */
	}
out:
	if (secret != NULL) {
		sodium_memzero(secret, strlen(secret));
		free(secret);
	}
	free(user);
	free(type);
}

void
mon_end(struct mon *mon, struct mon_kid *k, const char *why, const char *said)
{
	struct ipc_msg m;
	int64_t pid = 0;
	int r, lost;

	if (k->end_reason != NULL)
		return;
	k->end_reason = xstrdup(why);
	/* The row may still be live (a race the check caught): end it. */
	if ((r = store_session_kill(mon->store, k->session_id, why,
	         misc_now_ms(), &pid)) != 0 &&
	    r != PORTHOLE_ERR_NOT_FOUND)
		error_r(r, "session %s: cannot end its row", k->session_id);
	lost = strcmp(why, "node lost") == 0;
	if (lost)
		logit("session %s: ended: another node took this one for lost",
		    k->session_id);
	else if (said != NULL)
		logit("session %s: ending: %s", k->session_id, why);
	else
		logit("session %s: ended by an administrator (%s)",
		    k->session_id, why);
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, MON_END);
	ipc_put_u32(&m, 1);
	ipc_put_str(&m, "session_ended");
	{
		char *msg = NULL;

		if (said != NULL)
			msg = xstrdup(said);
		else if (lost)
			xasprintf(&msg,
			    "session ended by the server: this node lost "
			    "touch with its fleet and its sessions were "
			    "ended; connect again");
		else
			xasprintf(&msg,
			    "session ended by the server's administrator: %s",
			    why);
		ipc_put_str(&m, msg);
		free(msg);
	}
	mon_send(mon, k, &m, -1);
	ipc_msg_free(&m);
	mon_kid_leave_soon(mon, k);
}

void
mon_check(struct mon *mon, struct mon_kid *k)
{
	struct store_session_status st;
	struct ipc_msg m;
	uint64_t stamp = 0;
	int r;

	memset(&m, 0, sizeof(m));
	memset(&st, 0, sizeof(st));
	k->last_check = misc_monotonic_ms();
	k->next_check = k->last_check + MON_ROW_CHECK_MS;
	if (k->check_requested)
		debug("session %s: settings re-read on request", k->session_id);
	k->check_requested = 0;
	/* One read: the row, the account and the credential together. */
	if ((r = store_session_status(mon->store, k->session_id, &st)) != 0) {
		error_r(r, "session %s: cannot read its row", k->session_id);
		goto out;
	}
	if (st.account_deleted) {
		mon_end(mon, k, "account deleted", NULL);
		goto out;
	}
	if (st.ended) {
		mon_end(mon, k, st.end_reason != NULL ? st.end_reason : "ended",
		    NULL);
		goto out;
	}
	/* A disable or revocation that raced the login is caught here. */
	if (st.account_disabled) {
		mon_end(mon, k, "account disabled", NULL);
		goto out;
	}
	if (!st.credential_valid) {
		mon_end(mon, k,
		    strncmp(k->credential, "key:", 4) == 0 ? "key deleted"
		                                           : "token revoked",
		    NULL);
		goto out;
	}
	/* Take up policy changes the administrator made. */
	ipc_msg_init(&m, MON_ACCOUNT_POLICY);
	if (mon_put_policy(mon, &m, st.ip_policy_id, &stamp) == 0 &&
	    stamp != k->policy_stamp) {
		k->policy_stamp = stamp;
		mon_send(mon, k, &m, -1);
	}
	/* Limits, and what is left of a quota as usage grows. */
	{
		struct store_account lim;

		memset(&lim, 0, sizeof(lim));
		lim.bandwidth_limit = st.bandwidth_limit;
		lim.quota_bytes = st.quota_bytes;
		lim.quota_period_s = st.quota_period_s;
		lim.connection_rate = st.connection_rate;
		lim.connections_per_source = st.connections_per_source;
		lim.idle_timeout_s = st.idle_timeout_s;
		mon_limits(mon, k, &lim);
	}
	mon_check_endpoints(mon, k);
out:
	ipc_msg_free(&m);
	store_session_status_clear(&st);
}
