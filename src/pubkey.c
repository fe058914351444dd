/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "err.h"
#include "log.h"
#include "pubkey.h"
#include "utf8.h"
#include "xmalloc.h"

/*
 * Largest decoded key blob we accept. A 16384-bit RSA key, the largest
 * OpenSSH generates, is about 2 KiB; this bounds memory spent on a
 * hostile line.
 */
#define PUBKEY_BLOB_MAX 8192

#define PUBKEY_SEP " \t"

#define PUBKEY_NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The key types OpenSSH knows and we accept. After the type string, the
 * blob holds <nfields> more SSH strings (mpints have the same framing);
 * the first of them is <keylen> bytes long or equals <curve> when set.
 */
static const struct {
	const char *name;
	int nfields;
	size_t keylen;
	const char *curve;
} pubkey_types[] = {
	{ "ssh-ed25519", 1, 32, NULL },
	{ "ssh-rsa", 2, 0, NULL },
	{ "ecdsa-sha2-nistp256", 2, 0, "nistp256" },
	{ "ecdsa-sha2-nistp384", 2, 0, "nistp384" },
	{ "ecdsa-sha2-nistp521", 2, 0, "nistp521" },
	{ "sk-ssh-ed25519@openssh.com", 2, 32, NULL },
	{ "sk-ecdsa-sha2-nistp256@openssh.com", 3, 0, "nistp256" },
};

/* authorized_keys options without a value, which may lead a line. */
static const char *const pubkey_flag_options[] = {
	"agent-forwarding",
	"cert-authority",
	"no-agent-forwarding",
	"no-port-forwarding",
	"no-pty",
	"no-touch-required",
	"no-user-rc",
	"no-x11-forwarding",
	"port-forwarding",
	"pty",
	"restrict",
	"touch-required",
	"user-rc",
	"verify-required",
	"x11-forwarding",
};

static void pubkey_err(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy a formatted reason into errbuf, which may be NULL. */
static void
pubkey_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list args;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(args, fmt);
	vsnprintf(errbuf, errlen, fmt, args);
	va_end(args);
}

/* Return the index of key type <name> in pubkey_types, or -1. */
static int
pubkey_type_index(const char *name)
{
	size_t i;

	for (i = 0; i < PUBKEY_NITEMS(pubkey_types); i++) {
		if (strcmp(name, pubkey_types[i].name) == 0)
			return (int)i;
	}
	return -1;
}

/* Predicate: first word <word> looks like an authorized_keys option. */
static int
pubkey_is_option(const char *word)
{
	size_t i;

	if (strpbrk(word, "=,\"") != NULL)
		return 1;
	for (i = 0; i < PUBKEY_NITEMS(pubkey_flag_options); i++) {
		if (strcasecmp(word, pubkey_flag_options[i]) == 0)
			return 1;
	}
	return 0;
}

/*
 * Decode base64 <b64> into a new buffer in *binp and its length in
 * *lenp. Returns 0 or PORTHOLE_ERR_INVALID_FORMAT.
 */
static int
pubkey_decode(const char *b64, unsigned char **binp, size_t *lenp)
{
	unsigned char *bin = NULL;
	size_t b64len, maxlen, binlen = 0;
	int rc, r = PORTHOLE_ERR_INTERNAL;

	*binp = NULL;
	*lenp = 0;
	b64len = strlen(b64);
	if (b64len == 0 || b64len / 4 * 3 > PUBKEY_BLOB_MAX) {
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	maxlen = b64len / 4 * 3 + 3;
	bin = xmalloc(maxlen);
	/* No b64_end: anything but a whole, padded encoding is an error. */
	rc = sodium_base642bin(bin, maxlen, b64, b64len, NULL, &binlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL);
	if (rc != 0 || binlen == 0) {
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	/* Ownership of bin passes to the caller. */
	*binp = bin;
	*lenp = binlen;
	bin = NULL;
	r = 0;
out:
	free(bin);
	return r;
}

/*
 * Read one SSH string (uint32 big-endian length, then bytes) at *offp
 * of <bin>; store where it starts and its length, and advance *offp.
 * Returns 0 or PORTHOLE_ERR_INVALID_FORMAT if it runs past the end.
 */
static int
pubkey_get_string(const unsigned char *bin, size_t len, size_t *offp,
    const unsigned char **strp, size_t *slenp)
{
	size_t off = *offp;
	uint32_t n;
	int r = PORTHOLE_ERR_INVALID_FORMAT;

	*strp = NULL;
	*slenp = 0;
	if (len - off < 4)
		goto out;
	n = (uint32_t)bin[off] << 24 | (uint32_t)bin[off + 1] << 16 |
	    (uint32_t)bin[off + 2] << 8 | (uint32_t)bin[off + 3];
	off += 4;
	if (n > len - off)
		goto out;
	*strp = bin + off;
	*slenp = n;
	*offp = off + n;
	r = 0;
out:
	return r;
}

/*
 * Check the framing of decoded key blob <bin> against key type index
 * <ti>: the type string equals the type's name, the expected number of
 * fields follow and nothing trails them. Returns 0 or
 * PORTHOLE_ERR_INVALID_FORMAT with a reason in errbuf.
 */
static int
pubkey_check_blob(const unsigned char *bin, size_t len, int ti, char *errbuf,
    size_t errlen)
{
	const char *name = pubkey_types[ti].name;
	const char *curve = pubkey_types[ti].curve;
	const unsigned char *s;
	size_t off = 0, slen, keylen = pubkey_types[ti].keylen;
	int i, bad = 0, r = PORTHOLE_ERR_INVALID_FORMAT;

	if (pubkey_get_string(bin, len, &off, &s, &slen) != 0) {
		pubkey_err(errbuf, errlen, "key data is truncated");
		goto out;
	}
	if (slen != strlen(name) || memcmp(s, name, slen) != 0) {
		pubkey_err(errbuf, errlen, "key data does not hold a %s key",
		    name);
		goto out;
	}
	for (i = 0; i < pubkey_types[ti].nfields; i++) {
		if (pubkey_get_string(bin, len, &off, &s, &slen) != 0) {
			pubkey_err(errbuf, errlen, "%s key data is truncated",
			    name);
			goto out;
		}
		if (i != 0)
			continue;
		if (keylen != 0 && slen != keylen)
			bad = 1;
		if (curve != NULL &&
		    (slen != strlen(curve) || memcmp(s, curve, slen) != 0))
			bad = 1;
		if (bad) {
			pubkey_err(errbuf, errlen, "%s key data is malformed",
			    name);
			goto out;
		}
	}
	if (off != len) {
		pubkey_err(errbuf, errlen, "%s key data has trailing bytes",
		    name);
		goto out;
	}
	r = 0;
out:
	return r;
}

/* Write the SHA256 fingerprint of decoded blob <bin> into <fp>. */
static void
pubkey_fingerprint_bin(const unsigned char *bin, size_t len, char *fp,
    size_t fplen)
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
	    sodium_base64_VARIANT_ORIGINAL)];
	char *eq;

	crypto_hash_sha256(digest, bin, len);
	sodium_bin2base64(b64, sizeof(b64), digest, sizeof(digest),
	    sodium_base64_VARIANT_ORIGINAL);
	/* OpenSSH prints the digest without base64 padding. */
	if ((eq = strchr(b64, '=')) != NULL)
		*eq = '\0';
	snprintf(fp, fplen, "SHA256:%s", b64);
}

/* Fingerprint base64 key blob <blob> as OpenSSH does (see pubkey.h). */
int
pubkey_fingerprint(const char *blob, char *fp, size_t fplen)
{
	unsigned char *bin = NULL;
	size_t len;
	int r = PORTHOLE_ERR_INTERNAL;

	/* "SHA256:" + 43 characters + NUL. */
	if (fp == NULL || fplen < PUBKEY_FP_LEN) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	*fp = '\0';
	if ((r = pubkey_decode(blob, &bin, &len)) != 0)
		goto out;
	pubkey_fingerprint_bin(bin, len, fp, fplen);
	r = 0;
out:
	free(bin);
	return r;
}

/* Parse and check one public key line (see pubkey.h). */
int
pubkey_parse(const char *line, struct pubkey **keyp, char *errbuf,
    size_t errlen)
{
	struct pubkey *key = NULL;
	unsigned char *bin = NULL;
	char *copy = NULL, *type, *b64, *comment, what[UTF8_ERRLEN];
	size_t len, binlen;
	int ti, r = PORTHOLE_ERR_INTERNAL;

	*keyp = NULL;
	pubkey_err(errbuf, errlen, "%s", "");
	copy = xstrdup(line);

	/* Tolerate the line's end and surrounding blanks. */
	len = strlen(copy);
	while (len > 0 && strchr("\r\n" PUBKEY_SEP, copy[len - 1]) != NULL)
		copy[--len] = '\0';
	/* The comment is kept and listed: no C0, DEL or C1 controls. */
	if (utf8_check_text(copy, "\t", what, sizeof(what)) != 0) {
		pubkey_err(errbuf, errlen,
		    "key line contains a control character: %s", what);
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	type = copy + strspn(copy, PUBKEY_SEP);
	if (*type == '\0') {
		pubkey_err(errbuf, errlen, "key line is empty");
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	b64 = type + strcspn(type, PUBKEY_SEP);
	if (*b64 != '\0')
		*b64++ = '\0';
	b64 += strspn(b64, PUBKEY_SEP);
	comment = b64 + strcspn(b64, PUBKEY_SEP);
	if (*comment != '\0')
		*comment++ = '\0';
	comment += strspn(comment, PUBKEY_SEP);

	if ((ti = pubkey_type_index(type)) == -1) {
		if (strcmp(type, "ssh-dss") == 0)
			pubkey_err(errbuf, errlen,
			    "ssh-dss keys are not accepted");
		else if (pubkey_is_option(type))
			pubkey_err(errbuf, errlen,
			    "authorized_keys options are not accepted");
		else
			pubkey_err(errbuf, errlen, "unknown key type \"%.64s\"",
			    type);
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	if (*b64 == '\0') {
		pubkey_err(errbuf, errlen, "%s key has no key data", type);
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	if (strlen(b64) / 4 * 3 > PUBKEY_BLOB_MAX) {
		pubkey_err(errbuf, errlen, "%s key data is too long", type);
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	if (pubkey_decode(b64, &bin, &binlen) != 0) {
		pubkey_err(errbuf, errlen, "%s key data is not valid base64",
		    type);
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = pubkey_check_blob(bin, binlen, ti, errbuf, errlen)) != 0)
		goto out;

	key = xcalloc(1, sizeof(*key));
	key->type = xstrdup(type);
	key->blob = xstrdup(b64);
	key->comment = xstrdup(comment);
	pubkey_fingerprint_bin(bin, binlen, key->fingerprint,
	    sizeof(key->fingerprint));
	/* Ownership of key passes to the caller. */
	*keyp = key;
	key = NULL;
	r = 0;
out:
	if (r != 0 && errbuf != NULL && errlen > 0)
		debug_f("rejected public key: %s", errbuf);
	pubkey_free(key);
	free(bin);
	free(copy);
	return r;
}

/* Free <key> and the strings it owns. */
void
pubkey_free(struct pubkey *key)
{
	if (key == NULL)
		return;
	free(key->type);
	free(key->blob);
	free(key->comment);
	free(key);
}
