/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_PUBKEY_H
#define PORTHOLE_PUBKEY_H

#include <stddef.h>

/* OpenSSH public keys, handled without libssh (src/ stays SSH-free). */

/* "SHA256:" + 43 base64 characters + NUL. */
#define PUBKEY_FP_LEN 51

struct pubkey {
	char *type; /* "ssh-ed25519", "ecdsa-sha2-nistp256", … */
	char *blob; /* base64 of the wire-format key, as in .pub */
	char *comment; /* may be "" but never NULL */
	char fingerprint[PUBKEY_FP_LEN + 1]; /* "SHA256:…" */
};

/*
 * Parse one public key line as found in a .pub file or authorized_keys
 * ("TYPE BASE64 [COMMENT]"; authorized_keys options are refused).
 * Checks that TYPE is a key type OpenSSH knows, that BASE64 decodes,
 * and that the type inside the blob equals TYPE, and refuses a line with
 * a control character other than tab (C0, DEL or C1; utf8_check_text),
 * since the comment is kept and listed. Returns 0 and stores a
 * new struct in *keyp, or PORTHOLE_ERR_INVALID_FORMAT with a reason
 * copied into errbuf.
 */
int pubkey_parse(const char *line, struct pubkey **keyp, char *errbuf,
    size_t errlen);

/*
 * Compute the OpenSSH SHA256 fingerprint ("SHA256:" + unpadded base64 of
 * the SHA-256 of the decoded blob) of base64 <blob> into <fp>, which
 * holds PUBKEY_FP_LEN + 1 bytes. Returns 0 or PORTHOLE_ERR_INVALID_FORMAT.
 */
int pubkey_fingerprint(const char *blob, char *fp, size_t fplen);

void pubkey_free(struct pubkey *key); /* NULL is a no-op */

#endif /* PORTHOLE_PUBKEY_H */
