/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "fwdreq.h"
#include "log.h"

const char *
fwdreq_public_host(const char *addr, const char *const *public_hosts,
    size_t npublic_hosts)
{
	size_t i;

	if (public_hosts == NULL || npublic_hosts == 0)
		return NULL;
	if (addr == NULL)
		addr = "";
	/*
	 * What ssh sends for -R PORT:… and -R localhost:PORT:…, and the
	 * wildcards some clients use: none of them names a host of ours,
	 * so they mean the default one.
	 */
	if (*addr == '\0' || strcmp(addr, "localhost") == 0 ||
	    strcmp(addr, "*") == 0 || strcmp(addr, "0.0.0.0") == 0 ||
	    strcmp(addr, "::") == 0)
		return public_hosts[0];
	/* Host names are case-insensitive (RFC 4343). */
	for (i = 0; i < npublic_hosts; i++) {
		if (strcasecmp(addr, public_hosts[i]) == 0)
			return public_hosts[i];
	}
	return NULL;
}

int
fwdreq_classify(const char *addr, int port, const char *const *public_hosts,
    size_t npublic_hosts, struct fwdreq *out)
{
	int r = PORTHOLE_ERR_INTERNAL;

	if (out == NULL)
		return PORTHOLE_ERR_INVALID_ARGUMENT;
	memset(out, 0, sizeof(*out));
	out->kind = FWDREQ_REFUSED;
	out->port = port;
	out->code = FWDREQ_CODE_INTERNAL;
	if (addr == NULL)
		addr = "";
	/* Every message about the request quotes only this copy. */
	log_sanitize(out->safe, sizeof(out->safe), addr);

	if (public_hosts == NULL || npublic_hosts == 0) {
		/* conf_validate always leaves one: a bug, not the peer. */
		snprintf(out->reason, sizeof(out->reason),
		    "internal error (no PublicHost)");
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (port < 0 || port > 65535) {
		/* libssh hands us the uint32 from the wire as an int. */
		snprintf(out->reason, sizeof(out->reason),
		    "port %d is out of range", port);
		out->code = FWDREQ_CODE_INVALID;
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	if (strlen(addr) > FWDREQ_ADDR_MAX) {
		snprintf(out->reason, sizeof(out->reason),
		    "the address is too long");
		out->code = FWDREQ_CODE_INVALID;
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	out->host = fwdreq_public_host(addr, public_hosts, npublic_hosts);
	if (out->host == NULL) {
		/* Tell the user what would work instead. */
		snprintf(out->reason, sizeof(out->reason),
		    "'%s' is not a host this server serves; ask for "
		    "-R 0:localhost:PORT (a random address on %s)",
		    out->safe, public_hosts[0]);
		out->code = FWDREQ_CODE_UNKNOWN_HOST;
		r = PORTHOLE_ERR_NOT_FOUND;
		goto out;
	}
	/* A fixed port is served only if it is a reserved address. */
	out->kind = port == 0 ? FWDREQ_RANDOM : FWDREQ_FIXED;
	out->code = NULL;
	r = 0;
out:
	return r;
}

int
fwdreq_matches(const char *bind_address, int bound_port, const char *addr,
    int port)
{
	if (bind_address == NULL)
		bind_address = "";
	if (addr == NULL)
		addr = "";
	return bound_port == port && strcmp(bind_address, addr) == 0;
}
