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

/*
 * Parse one key line (text without its newline) into a new entry of
 * *keysp, as ops_key_parse() does, reporting why not on stderr.
 */
static int
ctl_key_parse(const char *line, const char *what, size_t lineno,
    struct pubkey ***keysp, size_t *nkeysp)
{
	struct pubkey *key = NULL;
	struct ops_err err;
	int r;

	if ((r = ops_key_parse(line, what, lineno, &key, &err)) != 0) {
		ctl_report(&err);
		return r;
	}
	*keysp = xreallocarray(*keysp, *nkeysp + 1, sizeof(**keysp));
	(*keysp)[(*nkeysp)++] = key; /* the array owns it now */
	return 0;
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
	struct store_key **added = NULL;
	struct pubkey **keys = NULL;
	struct buf *b = NULL;
	struct ops_err err;
	size_t nkeys = 0, i;
	int r = PORTHOLE_ERR_INTERNAL;

	/* The account first: an unknown one is said before a bad file. */
	if ((r = ops_account_get(ctl_ops(ctl), args->account, &a, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if ((r = ctl_key_collect(args->source, &keys, &nkeys)) != 0)
		goto out;
	if (nkeys == 0) {
		r = PORTHOLE_ERR_NOT_FOUND;
		error("no keys found in %.200s",
		    strcmp(args->source, "-") == 0 ? "(stdin)" : args->source);
		goto out;
	}
	if ((r = ops_key_add_all(ctl_ops(ctl), a->id, keys, nkeys, NULL, NULL,
	         &added, &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	b = buf_new();
	for (i = 0; i < nkeys; i++) {
		if (ctl->json) {
			ctl_key_json(b, added[i]->fingerprint, added[i]->type,
			    added[i]->comment, added[i]->account_name,
			    added[i]->account_id, 0, -1);
			ctl_json_line(b);
		} else
			ctl_printf("%s\n", added[i]->fingerprint);
	}
	r = 0;
out:
	for (i = 0; i < nkeys; i++)
		pubkey_free(keys[i]);
	free(keys);
	buf_free(b);
	store_key_list_free(added, added == NULL ? 0 : nkeys);
	store_account_free(a);
	return r;
}

/* key list [ACCOUNT]: the keys of one account, or of all. */
int
ctl_key_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct store_key **list = NULL, *k;
	struct ctl_table *t = NULL;
	struct buf *b = NULL;
	struct ops_err err;
	char when[CTL_TIME_LEN];
	size_t n = 0, i;
	int r = PORTHOLE_ERR_INTERNAL, more = 0;

	if ((r = ops_key_list(ctl_ops(ctl), args->account, NULL, &list, &n,
	         &more, &err)) != 0) {
		ctl_report(&err);
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
	struct ops_err err;
	size_t nended = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	if ((r = ops_key_delete(ctl_ops(ctl), args->fingerprint, &k, &nended,
	         &err)) != 0) {
		ctl_report(&err);
		goto out;
	}
	if (ctl->json) {
		b = buf_new();
		ctl_key_json(b, k->fingerprint, k->type, k->comment,
		    k->account_name, k->account_id, k->created_ms,
		    (int64_t)nended);
		ctl_json_line(b);
	} else
		ctl_printf("deleted key %s from account %s; ended %zu "
		           "session%s\n",
		    k->fingerprint, k->account_name, nended,
		    nended == 1 ? "" : "s");
	r = 0;
out:
	buf_free(b);
	store_key_free(k);
	return r;
}
