/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "portholed.h"

#include "acl.h"
#include "conf.h"
#include "log.h"
#include "misc.h"
#include "mon.h"
#include "token.h"
#include "xmalloc.h"

/*
 * Authentication in a session process: libssh checks the protocol (and
 * a public key's signature); which account a key, a token or an
 * anonymous login is, and whether it may log in now, the monitor
 * decides (src/mon-auth.c). This side only asks and says the answer.
 */

/* Longest user name we keep (it is shown in listings, never trusted). */
#define AUTH_USER_MAX 64
/* The user name that asks for anonymous access at once (AllowAnonymous). */
#define AUTH_ANONYMOUS "anonymous"

/* Remember the user name the client offered: sanitized, never a token. */
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
		ssh_session_set_disconnect_message(s->ssh,
		    "Too many authentication failures");
		s->quit = 1;
	}
}

/* The monitor logged us in: take what it said of the session. */
static int
auth_logged_in(struct sess *s, struct ipc_msg *ans)
{
	struct acl *acl = NULL;
	char *account_id;

	s->id = ipc_get_str(ans, MON_ID_MAX);
	account_id = ipc_get_str(ans, MON_ID_MAX);
	s->account_name = ipc_get_str(ans, 128);
	s->credential_kind = ipc_get_str(ans, 16);
	s->anonymous = ipc_get_u8(ans) != 0;
	s->max_endpoints = (int)ipc_get_u32(ans);
	free(account_id);
	if (mon_get_acl(ans, &acl) != 0 || !ipc_ok(ans, 1)) {
		error("connection from %s port %u: bad login answer",
		    s->client_ip, s->client_port);
		acl_free(acl);
		s->quit = 1;
		return SSH_AUTH_DENIED;
	}
	s->acl_account = acl;
	s->authenticated = 1;
	s->started_mono = misc_monotonic_ms();
	s->ready_deadline = s->started_mono + 1000;
	s->alive_deadline =
	    s->started_mono + s->conf->client_alive_interval * 1000;
	return SSH_AUTH_SUCCESS;
}

/*
 * Ask the monitor about a credential (<req>, built by the caller) and
 * turn its answer into libssh's. <probe> says a PK_OK is all we ask.
 */
static int
auth_ask(struct sess *s, struct ipc_msg *req)
{
	struct ipc_msg ans;
	char *reason = NULL;
	int ret = SSH_AUTH_DENIED;
	uint32_t result;

	memset(&ans, 0, sizeof(ans));
	/*
	 * Refused at the probe (PK_OK sent): the signed request that
	 * follows may arrive before this process has left. A failure would
	 * reach the client before the disconnect message and read
	 * "Permission denied"; let it in again, as below.
	 */
	if (s->refused) {
		ret = SSH_AUTH_SUCCESS;
		goto out;
	}
	if (s->authenticated || s->auth_done || s->quit)
		goto out;
	if (link_call(s, req, MON_AUTH_RESULT, &ans, NULL) != 0) {
		s->quit = 1;
		goto out;
	}
	result = ipc_get_u32(&ans);
	reason = ipc_get_str(&ans, IPC_STR_MAX);
	switch (result) {
	case MON_AUTH_PROBE_OK:
		ret = SSH_AUTH_SUCCESS;
		break;
	case MON_AUTH_LOGIN:
		ret = auth_logged_in(s, &ans);
		break;
	case MON_AUTH_REFUSED:
		/*
		 * Known, but over a limit: leave at once, saying why in the
		 * disconnect message, which ssh prints. libssh lets the client
		 * in first (a failure would send it on to other methods, or
		 * make it give up before it reads the message); the monitor
		 * grants this process nothing, and it ends now.
		 */
		ssh_session_set_disconnect_message(s->ssh, reason);
		/*
		 * What the client sends before it reads that message gets no
		 * answer at all: a refused session channel would make ssh
		 * exit before it prints the reason. Without this callback,
		 * a channel open goes to sess_message_cb, which drops it.
		 */
		s->server_cb.channel_open_request_session_function = NULL;
		s->end_why = "over a limit";
		s->auth_done = 1;
		s->refused = 1;
		s->quit = 1;
		ret = SSH_AUTH_SUCCESS;
		break;
	case MON_AUTH_TOO_MANY:
		s->auth_done = 1;
		s->auth_failures = s->conf->max_auth_tries - 1;
		auth_failed(s);
		break;
	default:
		auth_failed(s);
		break;
	}
out:
	free(reason);
	ipc_msg_free(&ans);
	return ret;
}

/* Ask about authtoken <token>, given <how> (a MON_HOW_*). */
static int
auth_token(struct sess *s, const char *user, const char *token, int how)
{
	struct ipc_msg req;
	int ret;

	if (token == NULL || !token_is_token(token)) {
		auth_failed(s);
		return SSH_AUTH_DENIED;
	}
	memset(&req, 0, sizeof(req));
	ipc_msg_init(&req, MON_AUTH_TOKEN);
	ipc_put_u8(&req, (uint8_t)how);
	ipc_put_str(&req, user);
	ipc_put_str(&req, token);
	ret = auth_ask(s, &req);
	ipc_msg_free(&req); /* wiped */
	return ret;
}

/* Ask for an anonymous login (AllowAnonymous). */
static int
auth_anonymous(struct sess *s, const char *user)
{
	struct ipc_msg req;
	int ret;

	memset(&req, 0, sizeof(req));
	ipc_msg_init(&req, MON_AUTH_ANON);
	ipc_put_str(&req, user);
	ret = auth_ask(s, &req);
	ipc_msg_free(&req);
	return ret;
}

/*
 * Public-key authentication: libssh calls this once to probe
 * (STATE_NONE: the monitor says whether the key would do) and once with
 * a signature it has verified (STATE_VALID: the monitor logs us in).
 */
static int
auth_pubkey_cb(ssh_session ssh, const char *user, struct ssh_key_struct *key,
    char state, void *ud)
{
	struct sess *s = ud;
	struct ipc_msg req;
	char *b64 = NULL;
	int ret = SSH_AUTH_DENIED;

	auth_note_user(s, user);
	memset(&req, 0, sizeof(req));
	if (s->authenticated)
		goto out;
	if (state != SSH_PUBLICKEY_STATE_NONE &&
	    state != SSH_PUBLICKEY_STATE_VALID) {
		logit("connection from %s port %u: bad signature", s->client_ip,
		    s->client_port);
		auth_failed(s);
		goto out;
	}
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) {
		auth_failed(s);
		goto out;
	}
	ipc_msg_init(&req, MON_AUTH_KEY);
	ipc_put_u8(&req, state == SSH_PUBLICKEY_STATE_NONE);
	ipc_put_str(&req, user);
	ipc_put_str(&req, ssh_key_type_to_char(ssh_key_type(key)));
	ipc_put_str(&req, b64);
	ret = auth_ask(s, &req);
out:
	ipc_msg_free(&req);
	ssh_string_free_char(b64);
	return ret;
}

/* Password authentication: the password is an authtoken. */
static int
auth_password_cb(ssh_session ssh, const char *user, const char *password,
    void *ud)
{
	struct sess *s = ud;

	auth_note_user(s, user);
	return auth_token(s, user, password, MON_HOW_PASSWORD);
}

/*
 * "none" authentication, which OpenSSH always tries first: a user name
 * that is an authtoken (ssh TOKEN@host), or "anonymous" when allowed.
 * Anything else goes on to the other methods, and is not counted.
 */
static int
auth_none_cb(ssh_session ssh, const char *user, void *ud)
{
	struct sess *s = ud;

	auth_note_user(s, user);
	if (user != NULL && token_is_token(user))
		return auth_token(s, user, user, MON_HOW_USER);
	if (s->conf->allow_anonymous && user != NULL &&
	    strcmp(user, AUTH_ANONYMOUS) == 0)
		return auth_anonymous(s, user);
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
 * Keyboard-interactive (libssh 0.10 has no callback for it). With
 * AllowAnonymous, it is how a client whose keys are not registered (or
 * that has none) gets in: no prompt at all, so ssh asks the user
 * nothing, and the empty answer is an anonymous login. Otherwise one
 * prompt for an authtoken.
 */
int
auth_message(struct sess *s, ssh_message msg)
{
	const char *prompts[] = { "porthole authtoken: " };
	char echo[] = { 0 };
	int r;

	if (ssh_message_subtype(msg) != SSH_AUTH_METHOD_INTERACTIVE)
		return 1; /* libssh's default reply lists our methods */
	if (!ssh_message_auth_kbdint_is_response(msg)) {
		auth_note_user(s, ssh_message_auth_user(msg));
		if (s->authenticated || s->auth_done)
			return 1;
		if (s->conf->allow_anonymous)
			ssh_message_auth_interactive_request(msg, "", "", 0,
			    NULL, NULL);
		else
			ssh_message_auth_interactive_request(msg, "porthole",
			    "Enter an authtoken (portholectl token create).", 1,
			    prompts, echo);
		return 0;
	}
	if (s->conf->allow_anonymous &&
	    ssh_userauth_kbdint_getnanswers(s->ssh) <= 0)
		r = auth_anonymous(s, s->user);
	else if (ssh_userauth_kbdint_getnanswers(s->ssh) == 1)
		r = auth_token(s, s->user,
		    ssh_userauth_kbdint_getanswer(s->ssh, 0), MON_HOW_KBDINT);
	else {
		auth_failed(s);
		r = SSH_AUTH_DENIED;
	}
	if (r == SSH_AUTH_SUCCESS) {
		ssh_message_auth_reply_success(msg, 0);
		return 0;
	}
	return 1;
}
