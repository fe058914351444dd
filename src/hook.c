/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "hook.h"
#include "log.h"
#include "store.h"
#include "token.h"

void
hook_sign(const char *secret, const void *body, size_t len,
    char sig[HOOK_SIGNATURE_LEN])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	if (sodium_init() < 0)
		fatal_f("libsodium initialisation failed");
	/* Any key length: HMAC hashes a long key, pads a short one. */
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret,
	    strlen(secret));
	crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(sig, HOOK_SIGNATURE_PREFIX, 7);
	sodium_bin2hex(sig + 7, HOOK_SIGNATURE_LEN - 7, mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
}

int
hook_verify(const char *secret, const void *body, size_t len, const char *sig)
{
	char want[HOOK_SIGNATURE_LEN];
	int ok;

	if (sig == NULL || strlen(sig) != HOOK_SIGNATURE_LEN - 1)
		return 0;
	hook_sign(secret, body, len, want);
	ok = sodium_memcmp(want, sig, HOOK_SIGNATURE_LEN - 1) == 0;
	sodium_memzero(want, sizeof(want));
	return ok;
}

void
hook_secret_new(char *buf, size_t len)
{
	token_generate_prefixed(HOOK_SECRET_PREFIX, buf, len);
}

char *
hook_body(struct store_event *const *evs, size_t n, size_t *lenp)
{
	struct buf *b = buf_new();
	char *body;
	size_t i;

	buf_putc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		/* The envelope as stored, already JSON. */
		buf_puts(b, evs[i]->json);
	}
	buf_putc(b, ']');
	*lenp = buf_len(b);
	body = buf_steal(b); /* now the caller's */
	buf_free(b);
	return body;
}

int64_t
hook_backoff_ms(int attempts)
{
	int64_t ms = HOOK_BACKOFF_MIN_MS;
	int i;

	for (i = 1; i < attempts && ms < HOOK_BACKOFF_MAX_MS; i++)
		ms *= 2;
	return ms > HOOK_BACKOFF_MAX_MS ? HOOK_BACKOFF_MAX_MS : ms;
}

int
hook_url_ok(const char *url)
{
	const char *p, *host;
	size_t len;

	if (url == NULL || (len = strlen(url)) > STORE_HOOK_URL_MAX)
		return 0;
	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return 0;
	if (*host == '\0' || *host == '/' || *host == ':' || *host == '?')
		return 0;
	for (p = url; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	}
	return 1;
}
