/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "portholed.h"

#include "err.h"
#include "log.h"
#include "pubkey.h"
#include "store.h"
#include "xmalloc.h"

/* Longest user name we keep (it is shown in listings, never trusted). */
#define AUTH_USER_MAX 64

/* Remember the (sanitized) user name the client offered. */
static void
auth_note_user(struct sess *s, const char *user)
{
	char buf[AUTH_USER_MAX + 1];

	if (s->user != NULL)
		return;
	log_sanitize(buf, sizeof(buf), user != NULL ? user : "");
	s->user = xstrdup(buf);
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
			verbose("connection from %s port %u: key %s is not "
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
		verbose("connection from %s port %u: bad signature for key %s",
		    s->client_ip, s->client_port, fp);
		goto out;
	}
	xasprintf(&cred, "key:%s", fp);
	if (sess_login(s, k->account_id, k->account_name, cred) != 0)
		goto out;
	ret = SSH_AUTH_SUCCESS;
out:
	if (ret != SSH_AUTH_SUCCESS && state != SSH_PUBLICKEY_STATE_NONE)
		s->auth_failures++;
	free(cred);
	ssh_string_free_char(b64);
	store_key_free(k);
	return ret;
}

void
auth_setup(struct sess *s)
{
	memset(&s->server_cb, 0, sizeof(s->server_cb));
	s->server_cb.userdata = s;
	s->server_cb.auth_pubkey_function = auth_pubkey_cb;
	s->server_cb.channel_open_request_session_function = sess_channel_open;
	ssh_callbacks_init(&s->server_cb);
	ssh_set_server_callbacks(s->ssh, &s->server_cb);
	ssh_set_auth_methods(s->ssh, SSH_AUTH_METHOD_PUBLICKEY);
}

int
auth_message(struct sess *s, ssh_message msg)
{
	/* Methods we do not offer: libssh's default reply lists ours. */
	auth_note_user(s, ssh_message_auth_user(msg));
	return 1;
}
