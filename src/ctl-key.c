/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ctl.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "pubkey.h"
#include "store.h"
#include "xmalloc.h"

/*
 * The key types that mark a "key add" argument as key text rather than
 * a file name. pubkey_parse() decides which of them are accepted.
 */
static const char *const ctl_key_types[] = {
	"ssh-ed25519",
	"ssh-rsa",
	"ssh-dss",
	"ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521",
	"sk-ssh-ed25519@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com",
};

/* Predicate: <s> begins with a key type word followed by a blank. */
static int
ctl_key_is_text(const char *s)
{
	size_t i, len;

	for (i = 0; i < sizeof(ctl_key_types) / sizeof(ctl_key_types[0]); i++) {
		len = strlen(ctl_key_types[i]);
		if (strncmp(s, ctl_key_types[i], len) == 0 &&
		    (s[len] == ' ' || s[len] == '\t'))
			return 1;
	}
	return 0;
}

/* Cut trailing blanks and line ends off <s>. */
static void
ctl_key_chomp(char *s)
{
	size_t len = strlen(s);

	while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
		s[--len] = '\0';
}

/* Predicate: <line> starts a private key, which must never be echoed. */
static int
ctl_key_is_private(const char *line)
{
	return strncmp(line, "-----BEGIN ", 11) == 0 &&
	    strstr(line, "PRIVATE KEY") != NULL;
}

/*
 * Parse one key line (text without its newline) into a new entry of
 * *keysp. <what> and <lineno> name it in messages; lineno 0 means the
 * key came from the command line.
 */
static int
ctl_key_parse(const char *line, const char *what, size_t lineno,
    struct pubkey ***keysp, size_t *nkeysp)
{
	struct pubkey *key = NULL;
	char errbuf[256];
	int r = PORTHOLE_ERR_INTERNAL;

	if (ctl_key_is_private(line)) {
		r = PORTHOLE_ERR_INVALID_FORMAT;
		error("%s is a private key; give the public key (.pub)", what);
		goto out;
	}
	errbuf[0] = '\0';
	if ((r = pubkey_parse(line, &key, errbuf, sizeof(errbuf))) != 0) {
		if (lineno == 0)
			error("invalid key: %s", errbuf);
		else
			error("%s:%zu: invalid key: %s", what, lineno, errbuf);
		goto out;
	}
	*keysp = xreallocarray(*keysp, *nkeysp + 1, sizeof(**keysp));
	(*keysp)[(*nkeysp)++] = key; /* the array owns it now */
	key = NULL;
	r = 0;
out:
	pubkey_free(key);
	return r;
}

/*
 * Read public keys from <fp>, one a line; blank lines and '#' comments
 * are skipped. Appends them to *keysp.
 */
static int
ctl_key_read(FILE *fp, const char *what, struct pubkey ***keysp, size_t *nkeysp)
{
	char *line = NULL, *p;
	size_t size = 0, lineno = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	while (getline(&line, &size, fp) != -1) {
		lineno++;
		ctl_key_chomp(line);
		p = line + strspn(line, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		if ((r = ctl_key_parse(p, what, lineno, keysp, nkeysp)) != 0)
			goto out;
	}
	if (ferror(fp)) {
		r = PORTHOLE_ERR_SYSTEM;
		error("read %s: %s", what, strerror(errno));
		goto out;
	}
	r = 0;
out:
	free(line);
	return r;
}

/* Collect the keys named by the "key add" <source> argument. */
static int
ctl_key_collect(const char *source, struct pubkey ***keysp, size_t *nkeysp)
{
	FILE *fp = NULL;
	char *text = NULL;
	int r = PORTHOLE_ERR_INTERNAL;

	if (ctl_key_is_text(source)) {
		text = xstrdup(source);
		ctl_key_chomp(text);
		r = ctl_key_parse(text, "key", 0, keysp, nkeysp);
		goto out;
	}
	if (strcmp(source, "-") == 0) {
		r = ctl_key_read(stdin, "(stdin)", keysp, nkeysp);
		goto out;
	}
	if ((fp = fopen(source, "r")) == NULL) {
		/* Not a file, yet text with blanks: let the parser say why. */
		if (errno == ENOENT && strpbrk(source, " \t") != NULL) {
			r = ctl_key_parse(source, "key", 0, keysp, nkeysp);
			goto out;
		}
		r = PORTHOLE_ERR_SYSTEM;
		error("%.200s: %s", source, strerror(errno));
		goto out;
	}
	r = ctl_key_read(fp, source, keysp, nkeysp);
out:
	if (fp != NULL)
		fclose(fp);
	free(text);
	return r;
}

/*
 * Append a key (with its account) to <b> as a JSON object; <nended>,
 * unless negative, is the number of sessions its deletion ended.
 */
static void
ctl_key_json(struct buf *b, const char *fingerprint, const char *type,
    const char *comment, const char *account, const char *account_id,
    int64_t created_ms, int64_t nended)
{
	char when[CTL_TIME_LEN];

	buf_putc(b, '{');
	json_kv_str(b, 1, "fingerprint", fingerprint);
	json_kv_str(b, 0, "type", type);
	json_kv_str(b, 0, "comment", comment);
	json_kv_str(b, 0, "account", account);
	json_kv_str(b, 0, "account_id", account_id);
	if (created_ms != 0)
		json_kv_str(b, 0, "created_at",
		    misc_rfc3339(created_ms, when, sizeof(when)));
	if (nended >= 0)
		json_kv_int(b, 0, "sessions_ended", nended);
	buf_putc(b, '}');
}

/*
 * key add ACCOUNT (FILE | - | 'TYPE BASE64 [COMMENT]'): register every
 * key given and print one fingerprint per key. All keys are parsed and
 * checked first, so a bad or duplicate key adds none of them.
 */
int
ctl_key_add(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_account *a = NULL;
	struct store_key *k = NULL;
	struct pubkey **keys = NULL;
	struct buf *b = NULL;
	size_t nkeys = 0, i, j;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ctl_account_lookup(ctl, args->account, &a)) != 0)
		goto out;
	if ((r = ctl_key_collect(args->source, &keys, &nkeys)) != 0)
		goto out;
	if (nkeys == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		error("no keys found in %.200s",
		    strcmp(args->source, "-") == 0 ? "(stdin)" : args->source);
		goto out;
	}
	for (i = 0; i < nkeys; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(keys[i]->fingerprint,
			        keys[j]->fingerprint) == 0) {
				r = PORTHOLE_ERR_EXISTS;
				error("key %s is given twice",
				    keys[i]->fingerprint);
				goto out;
			}
		}
		r = store_key_get(ctl->store, keys[i]->fingerprint, &k);
		if (r == 0) {
			r = PORTHOLE_ERR_EXISTS;
			error("key %s is already registered to account %s",
			    k->fingerprint, k->account_name);
			goto out;
		} else if (r != PORTHOLE_ERR_NOT_FOUND) {
			error_r(r, "key %s", keys[i]->fingerprint);
			goto out;
		}
	}

	b = buf_new();
	for (i = 0; i < nkeys; i++) {
		if ((r = store_key_add(ctl->store, a->id, keys[i]->type,
		         keys[i]->blob, keys[i]->fingerprint,
		         keys[i]->comment)) != 0) {
			if (r == PORTHOLE_ERR_EXISTS)
				error("key %s is already registered",
				    keys[i]->fingerprint);
			else
				error_r(r, "add key %s", keys[i]->fingerprint);
			goto out;
		}
		if (ctl->json) {
			ctl_key_json(b, keys[i]->fingerprint, keys[i]->type,
			    keys[i]->comment, a->name, a->id, 0, -1);
			ctl_json_line(b);
		} else
			ctl_printf("%s\n", keys[i]->fingerprint);
	}
	r = 0;
out:
	for (i = 0; i < nkeys; i++)
		pubkey_free(keys[i]);
	free(keys);
	buf_free(b);
	store_key_free(k);
	store_account_free(a);
	return r;
}

/* key list [ACCOUNT]: the keys of one account, or of all. */
int
ctl_key_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_account *a = NULL;
	struct store_key **list = NULL, *k;
	struct ctl_table *t = NULL;
	struct buf *b = NULL;
	char when[CTL_TIME_LEN];
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	if (args->account != NULL &&
	    (r = ctl_account_lookup(ctl, args->account, &a)) != 0)
		goto out;
	if ((r = store_key_list(ctl->store, a == NULL ? NULL : a->id, &list,
	         &n)) != 0) {
		error_r(r, "list keys");
		goto out;
	}
	if (ctl->json) {
		b = buf_new();
		for (i = 0; i < n; i++) {
			k = list[i];
			ctl_key_json(b, k->fingerprint, k->type, k->comment,
			    k->account_name, k->account_id, k->created_ms, -1);
			ctl_json_line(b);
		}
	} else {
		t = ctl_table_new("FINGERPRINT", "TYPE", "ACCOUNT", "ADDED",
		    "COMMENT", NULL);
		for (i = 0; i < n; i++) {
			k = list[i];
			ctl_table_add(t, k->fingerprint, k->type,
			    k->account_name,
			    ctl_time(k->created_ms, when, sizeof(when)),
			    k->comment);
		}
		ctl_table_print(t);
	}
	r = 0;
out:
	ctl_table_free(t);
	buf_free(b);
	store_key_list_free(list, n);
	store_account_free(a);
	return r;
}

/*
 * key delete FINGERPRINT: remove a key from its account and end the
 * live sessions that logged in with it; their processes are told at
 * once.
 */
int
ctl_key_delete(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_key *k = NULL;
	struct buf *b = NULL;
	int64_t *pids = NULL;
	size_t npids = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = store_key_get(ctl->store, args->fingerprint, &k)) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND)
			error("no such key '%.100s'", args->fingerprint);
		else
			error_r(r, "key '%.100s'", args->fingerprint);
		goto out;
	}
	if ((r = store_key_delete(ctl->store, k->fingerprint, misc_now_ms(),
	         &pids, &npids)) != 0) {
		if (r == PORTHOLE_ERR_NOT_FOUND) /* deleted meanwhile */
			error("no such key '%.100s'", args->fingerprint);
		else
			error_r(r, "delete key %s", k->fingerprint);
		goto out;
	}
	ctl_signal_sessions(ctl, pids, npids);
	if (ctl->json) {
		b = buf_new();
		ctl_key_json(b, k->fingerprint, k->type, k->comment,
		    k->account_name, k->account_id, k->created_ms,
		    (int64_t)npids);
		ctl_json_line(b);
	} else
		ctl_printf("deleted key %s from account %s; ended %zu "
		           "session%s\n",
		    k->fingerprint, k->account_name, npids,
		    npids == 1 ? "" : "s");
	r = 0;
out:
	free(pids);
	buf_free(b);
	store_key_free(k);
	return r;
}
