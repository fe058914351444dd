/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_HOOK_H
#define PORTHOLE_HOOK_H

#include <stddef.h>
#include <stdint.h>

/*
 * What a webhook request is made of, apart from sending it (the
 * delivery process, sshd/webhook.c): the body of a batch of events,
 * its signature, new secrets and the time to wait after a failure.
 */

struct store_event;

/* The headers a request carries. */
#define HOOK_SIGNATURE_HEADER "X-Porthole-Signature"
#define HOOK_DELIVERY_HEADER  "X-Porthole-Delivery"
/* "sha256=" and 64 hex digits, with the NUL. */
#define HOOK_SIGNATURE_PREFIX "sha256="
#define HOOK_SIGNATURE_LEN    (7 + 64 + 1)

/* A generated secret: "whsec_" and TOKEN_RANDOM_LEN base62 characters. */
#define HOOK_SECRET_PREFIX "whsec_"
#define HOOK_SECRET_LEN    (6 + 40)

/* Backoff after failures: 1 s, doubling, at most 60 s. */
#define HOOK_BACKOFF_MIN_MS 1000
#define HOOK_BACKOFF_MAX_MS 60000

/*
 * Write "sha256=" and the hex HMAC-SHA256 of <body> (<len> bytes) keyed
 * with <secret> (its bytes, any length) to <sig> (HOOK_SIGNATURE_LEN).
 */
void hook_sign(const char *secret, const void *body, size_t len,
    char sig[HOOK_SIGNATURE_LEN]);
/*
 * Predicate: <sig> is the signature of <body> with <secret>, compared
 * in constant time.
 */
int hook_verify(const char *secret, const void *body, size_t len,
    const char *sig);
/* A new random secret in <buf> of at least HOOK_SECRET_LEN + 1 bytes. */
void hook_secret_new(char *buf, size_t len);
/*
 * The body of a request for the <n> events of <evs>: a JSON array of
 * their envelopes, oldest first. The caller frees it; its length in
 * *lenp.
 */
char *hook_body(struct store_event *const *evs, size_t n, size_t *lenp);
/* How long to wait after <attempts> (>= 1) failures in a row, in ms. */
int64_t hook_backoff_ms(int attempts);
/*
 * Predicate: <url> is one a destination may have: http:// or https://
 * then a host, at most STORE_HOOK_URL_MAX bytes of printable ASCII.
 */
int hook_url_ok(const char *url);

#endif /* PORTHOLE_HOOK_H */
