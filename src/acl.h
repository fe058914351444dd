/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_ACL_H
#define PORTHOLE_ACL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

/*
 * IP restrictions. An acl is one layer (an account's policy, a reserved
 * address's policy, a session's --cidr-* flags): allow rules and deny
 * rules. Within a layer a matching deny wins; if the layer has allow
 * rules, one must match; an empty layer admits everyone. A connection
 * is admitted only if every layer admits it.
 *
 * IPv4 clients seen on an IPv6 socket (IPv4-mapped, ::ffff:a.b.c.d) are
 * matched as IPv4; an IPv4 rule never matches a native IPv6 address.
 */

#define ACL_CIDR_STRLEN 64 /* "ffff:…:ffff/128" and NUL fit */

struct acl_cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network address, 4 or 16 bytes used */
	int prefix; /* 0-32 or 0-128 */
};

/*
 * Parse "ADDR/PREFIX" or a bare address (a /32 or /128) into *cp. The
 * address bits past the prefix must be zero ("10.0.0.1/8" is refused
 * with a hint naming 10.0.0.0/8). Returns 0 or
 * PORTHOLE_ERR_INVALID_FORMAT with a one-line reason in errbuf.
 */
int acl_cidr_parse(const char *s, struct acl_cidr *cp, char *errbuf,
    size_t errlen);

/* Write the canonical text of <c> ("10.0.0.0/8", "2001:db8::/32"). */
char *acl_cidr_format(const struct acl_cidr *c, char *buf, size_t len);

/* Predicate: <sa> (AF_INET or AF_INET6) lies inside <c>. */
int acl_cidr_contains(const struct acl_cidr *c, const struct sockaddr *sa);

struct acl;

enum acl_decision {
	ACL_ALLOW = 0,
	ACL_DENY_RULE, /* a deny rule matched */
	ACL_DENY_UNLISTED, /* allow rules exist and none matched */
};

/* A new, empty layer; <name> (copied) names it in decisions and logs. */
struct acl *acl_new(const char *name);
void acl_free(struct acl *acl); /* NULL is a no-op */
const char *acl_name(const struct acl *acl);

/*
 * Add a rule to <acl>: <allow> 1 for allow, 0 for deny, <cidr> as
 * acl_cidr_parse takes it. Returns 0 or PORTHOLE_ERR_INVALID_FORMAT
 * with the reason in errbuf.
 */
int acl_add(struct acl *acl, int allow, const char *cidr, char *errbuf,
    size_t errlen);

/* Number of allow and deny rules. */
size_t acl_count(const struct acl *acl, int allow);

/*
 * The decision of one layer for client <sa>. If <rulep> is not NULL it
 * gets the rule that decided (the matching deny or allow rule), or NULL.
 */
enum acl_decision acl_check(const struct acl *acl, const struct sockaddr *sa,
    const struct acl_cidr **rulep);

/*
 * Every layer must admit <sa>; NULL layers are skipped. Returns 1 if
 * admitted; otherwise 0 with the refusing layer in *layerp and its
 * decision in *decisionp (either may be NULL).
 */
int acl_permits(struct acl *const *layers, size_t nlayers,
    const struct sockaddr *sa, const struct acl **layerp,
    enum acl_decision *decisionp);

#endif /* PORTHOLE_ACL_H */
