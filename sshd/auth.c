/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "portholed.h"

#include "conf.h"
#include "err.h"
#include "log.h"
#include "misc.h"
#include "pubkey.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

/* Longest user name we keep (it is shown in listings, never trusted). */
#define AUTH_USER_MAX 64
/* The user name that asks for anonymous access (AllowAnonymous). */
#define AUTH_ANONYMOUS "anonymous"

/*
 * Remember the user name the client offered, for listings: sanitized,
 * and never a token (a CI job may log in with its token as user name).
 */
static void
auth_note_user(struct sess *s, const char *user)
{
	char buf[AUTH_USER_MAX + 1];

	if (s->user != NULL || user == NULL)
		return;
	if (token_is_token(user))
		s->user = xstrdup(TOKEN_REDACTED);
	else {
		log_sanitize(buf, sizeof(buf), user);
		s->user = xstrdup(buf);
	}
}

/* Count a failed attempt; past MaxAuthTries the connection ends. */
static void
auth_failed(struct sess *s)
{
	if (++s->auth_failures >= s->conf->max_auth_tries && !s->quit) {
		logit("connection from %s port %u: too many authentication "
		      "failures (MaxAuthTries %d)",
		    s->client_ip, s->client_port, s->conf->max_auth_tries);
		s->quit = 1;
	}
}

/*
 * Check authtoken <token> (from a password, a keyboard-interactive
 * answer or the user name) and log in with its account. Returns
 * SSH_AUTH_SUCCESS or SSH_AUTH_DENIED. The token is never logged.
 */
static int
auth_token(struct sess *s, const char *token, const char *how)
{
	struct store_token *t = NULL;
	unsigned char hash[TOKEN_HASH_LEN], stored[TOKEN_HASH_LEN];
	char *cred = NULL;
	int r, ret = SSH_AUTH_DENIED;

	if (s->authenticated || token == NULL || !token_is_token(token))
		goto out;
	if (!s->token_key_ok) {
		if ((r = token_key_load(s->conf->token_key, 1, s->token_key)) !=
		    0) {
			error_r(r, "TokenKey %s", s->conf->token_key);
			goto out;
		}
		s->token_key_ok = 1;
	}
	token_hash(s->token_key, token, hash);
	if ((r = store_token_find(s->store, hash, sizeof(hash), &t, stored)) !=
	    0) {
		if (r == PORTHOLE_ERR_NOT_FOUND)
			logit("connection from %s port %u: unknown or "
			      "revoked token (%s)",
			    s->client_ip, s->client_port, how);
		else
			error_r(r, "token lookup");
		goto out;
	}
	if (!token_hash_equal(hash, stored))
		goto out;
	if (t->account_disabled) {
		logit("connection from %s port %u: account %s is disabled",
		    s->client_ip, s->client_port, t->account_name);
		goto out;
	}
	xasprintf(&cred, "token:%s", t->id);
	if (sess_login(s, t->account_id, cred) != 0)
		goto out;
	if ((r = store_token_touch(s->store, t->id, misc_now_ms())) != 0)
		error_r(r, "token %s: cannot note its use", t->id);
	ret = SSH_AUTH_SUCCESS;
out:
	if (ret != SSH_AUTH_SUCCESS)
		auth_failed(s);
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(stored, sizeof(stored));
	free(cred);
	store_token_free(t);
	return ret;
}

/*
 * Anonymous access (AllowAnonymous): the shared "anonymous" account,
 * made on first use; its limits are that account's.
 */
static int
auth_anonymous(struct sess *s)
{
	struct store_account *a = NULL;
	char *cred = NULL;
	int r, ret = SSH_AUTH_DENIED;

	r = store_account_get(s->store, AUTH_ANONYMOUS, &a);
	if (r == PORTHOLE_ERR_NOT_FOUND) {
		r = store_account_add(s->store, AUTH_ANONYMOUS, &a);
		if (r == PORTHOLE_ERR_EXISTS) /* another session won */
			r = store_account_get(s->store, AUTH_ANONYMOUS, &a);
	}
	if (r != 0) {
		error_r(r, "anonymous account");
		goto out;
	}
	if (a->disabled) {
		logit("connection from %s port %u: the anonymous account is "
		      "disabled",
		    s->client_ip, s->client_port);
		goto out;
	}
	/* Affinity per source address: all anonymous users share a name. */
	xasprintf(&cred, "anonymous:%s", s->client_ip);
	s->anonymous = 1;
	if (sess_login(s, a->id, cred) != 0) {
		s->anonymous = 0;
		goto out;
	}
	ret = SSH_AUTH_SUCCESS;
out:
	free(cred);
	store_account_free(a);
	return ret;
}

/*
 * Public-key authentication: the key must be registered to an enabled
 * account. libssh calls this once to probe (STATE_NONE, we answer PK_OK)
 * and once with a verified signature (STATE_VALID); both are checked.
 */
static int
auth_pubkey_cb(ssh_session ssh, const char *user, struct ssh_key_struct *key,
    char state, void *ud)
{
	struct sess *s = ud;
	struct store_key *k = NULL;
	char *b64 = NULL, *cred = NULL;
	char fp[PUBKEY_FP_LEN + 1];
	int r, ret = SSH_AUTH_DENIED;

	auth_note_user(s, user);
	if (s->authenticated)
		goto out;
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK ||
	    pubkey_fingerprint(b64, fp, sizeof(fp)) != 0) {
		verbose("connection from %s port %u: unusable public key",
		    s->client_ip, s->client_port);
		goto out;
	}
	if ((r = store_key_get(s->store, fp, &k)) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND)
			logit("connection from %s port %u: key %s is not "
			      "registered",
			    s->client_ip, s->client_port, fp);
		else
			error_r(r, "key lookup for %s", fp);
		goto out;
	}
	if (strcmp(k->blob, b64) != 0) {
		error("key %s: stored key differs from the offered one", fp);
		goto out;
	}
	if (k->account_disabled) {
		logit("connection from %s port %u: account %s is disabled",
		    s->client_ip, s->client_port, k->account_name);
		goto out;
	}
	if (state == SSH_PUBLICKEY_STATE_NONE) {
		ret = SSH_AUTH_SUCCESS;
		goto out;
	}
	if (state != SSH_PUBLICKEY_STATE_VALID) {
		logit("connection from %s port %u: bad signature for key %s",
		    s->client_ip, s->client_port, fp);
		goto out;
	}
	xasprintf(&cred, "key:%s", fp);
	if (sess_login(s, k->account_id, cred) != 0)
		goto out;
	ret = SSH_AUTH_SUCCESS;
out:
	/* A refused key counts, probe or not, as it does for sshd. */
	if (ret != SSH_AUTH_SUCCESS)
		auth_failed(s);
	free(cred);
	ssh_string_free_char(b64);
	store_key_free(k);
	return ret;
}

/* Password authentication: the password is an authtoken. */
static int
auth_password_cb(ssh_session ssh, const char *user, const char *password,
    void *ud)
{
	struct sess *s = ud;

	auth_note_user(s, user);
	return auth_token(s, password, "password");
}

/*
 * "none" authentication, which OpenSSH always tries first: a user name
 * that is an authtoken (ssh TOKEN@host), or "anonymous" when allowed.
 */
static int
auth_none_cb(ssh_session ssh, const char *user, void *ud)
{
	struct sess *s = ud;

	auth_note_user(s, user);
	if (user != NULL && token_is_token(user))
		return auth_token(s, user, "user name");
	if (s->conf->allow_anonymous && user != NULL &&
	    strcmp(user, AUTH_ANONYMOUS) == 0)
		return auth_anonymous(s);
	return SSH_AUTH_DENIED;
}

void
auth_setup(struct sess *s)
{
	memset(&s->server_cb, 0, sizeof(s->server_cb));
	s->server_cb.userdata = s;
	s->server_cb.auth_pubkey_function = auth_pubkey_cb;
	s->server_cb.auth_password_function = auth_password_cb;
	s->server_cb.auth_none_function = auth_none_cb;
	s->server_cb.channel_open_request_session_function = sess_channel_open;
	ssh_callbacks_init(&s->server_cb);
	ssh_set_server_callbacks(s->ssh, &s->server_cb);
	ssh_set_auth_methods(s->ssh,
	    SSH_AUTH_METHOD_PUBLICKEY | SSH_AUTH_METHOD_PASSWORD |
	        SSH_AUTH_METHOD_INTERACTIVE);
}

/*
 * Keyboard-interactive (libssh 0.10 has no callback for it): one prompt
 * for the authtoken, then its answer.
 */
int
auth_message(struct sess *s, ssh_message msg)
{
	const char *prompts[] = { "porthole authtoken: " };
	char echo[] = { 0 };

	if (ssh_message_subtype(msg) != SSH_AUTH_METHOD_INTERACTIVE)
		return 1; /* libssh's default reply lists our methods */
	if (!ssh_message_auth_kbdint_is_response(msg)) {
		auth_note_user(s, ssh_message_auth_user(msg));
		if (s->authenticated)
			return 1;
		ssh_message_auth_interactive_request(msg, "porthole",
		    "Enter an authtoken (portholectl token create).", 1,
		    prompts, echo);
		return 0;
	}
	if (ssh_userauth_kbdint_getnanswers(s->ssh) == 1 &&
	    auth_token(s, ssh_userauth_kbdint_getanswer(s->ssh, 0),
	        "keyboard-interactive") == SSH_AUTH_SUCCESS) {
		ssh_message_auth_reply_success(msg, 0);
		return 0;
	}
	return 1;
}
