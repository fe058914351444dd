/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_OPS_INT_H
#define PORTHOLE_OPS_INT_H

#include <stddef.h>
#include <stdint.h>

/*
 * What the ops-*.c files share among themselves (ops.h is what callers
 * see). Each function fills <err> as the ops functions do.
 */

struct ops;
struct ops_err;
struct ops_page;
struct store;
struct store_account;
struct store_address;
struct store_ip_policy;

/*
 * ops_account_resolve(), with the account's counts of keys, tokens,
 * addresses and sessions if <counts> (ops_account_get, which shows
 * them), without otherwise: they cost a scan of the account's rows.
 */
int ops_account_find(struct ops *ops, const char *name_or_id, int counts,
    struct store_account **ap, struct ops_err *err);

/*
 * Find the reserved address <addr>, an id ("ra_…") or HOST:PORT (a
 * PublicHost in any case, IPv6 in brackets or not), as the caller may
 * see it: "no such address 'x'" otherwise (ops-address.c).
 */
int ops_address_lookup(struct ops *ops, const char *addr,
    struct store_address **ap, struct ops_err *err);

/*
 * Reserve a new address for account <account_id> (NULL: owned by no
 * account, as an edge's) on PublicHost <host> (NULL: the first): a port
 * from PortRange that is not and never was reserved, held by no live
 * endpoint, and free on TunnelAddress. No event is recorded.
 * PORTHOLE_ERR_EXHAUSTED when no port is left.
 */
int ops_address_new(struct ops *ops, const char *account_id, const char *host,
    const char *description, const char *metadata, int64_t now_ms,
    struct store_address **ap, struct ops_err *err);

/*
 * Record event <type> (tcp_address_*.v0) for address <a> at <now_ms>:
 * its object has id, url, host, port, description, metadata,
 * proxy_proto, ip_policy (the name) and ip_policy_id.
 */
int ops_address_event(struct ops *ops, const char *type,
    const struct store_address *a, int64_t now_ms, struct ops_err *err);

/* The IP policy <name_or_id>, or "no such ip-policy 'x'" (ops-policy.c). */
int ops_policy_lookup(struct ops *ops, const char *name_or_id,
    struct store_ip_policy **pp, struct ops_err *err);

/*
 * For an update's ip_policy: NULL keeps (*pp NULL, *setp 0), "none"
 * detaches (*pp NULL, *setp 1), else the policy (*setp 1).
 */
int ops_policy_choice(struct ops *ops, const char *ip_policy,
    struct store_ip_policy **pp, int *setp, struct ops_err *err);

/*
 * Load TokenKey into <key> (TOKEN_KEY_LEN bytes), made on first use
 * (O_EXCL), so that portholed and its tools share one (ops-token.c).
 */
int ops_token_key(struct ops *ops, unsigned char *key, struct ops_err *err);

/*
 * Take the page <page> of the <n> objects of <list> (pointers to
 * structs whose char *id and int64_t created_ms are at <id_off> and
 * <created_off>), newest first by creation time then id, into a new
 * *listp; the rest, and <list>, are freed with <list_free> (ownership
 * of <list> passes here, also on failure). A NULL <page> takes them
 * all, in the order they came. For the short lists the store does not
 * page (policies, edges, accounts).
 */
int ops_page_slice(const struct ops_page *page, void **list, size_t n,
    size_t id_off, size_t created_off, void (*list_free)(void *list, size_t n),
    void **listp, size_t *np, int *morep, struct ops_err *err);

/*
 * A kind of object that belongs to an account and that the store gets
 * by id and lists a page at a time (keys, tokens, API keys, sessions,
 * endpoints, addresses): what ops_kind_get() and ops_kind_list() need
 * to find one as the caller may see it. The function pointers take and
 * give the kind's own struct through void pointers.
 */
struct ops_kind {
	const char *noun; /* "session": "no such session 'x'" */
	const char *plural; /* "sessions": "list sessions" */
	int (*get)(struct store *store, const char *id, void *objp);
	const char *(*account_of)(const void *obj);
	void (*free)(void *obj);
	/* every one of an account (NULL: all), as portholectl lists them */
	int (*list)(struct store *store, const char *account_id, void *listp,
	    size_t *np);
	/* a keyset page, as store_address_page() */
	int (*page)(struct store *store, const char *account_id,
	    const char *before_id, size_t limit, void *listp, size_t *np,
	    int *morep);
};

/*
 * The object <id> of kind <k> into *objp (a struct of the kind's), or
 * "no such <noun> 'id'": also when it belongs to an account the caller
 * may not see.
 */
int ops_kind_get(struct ops *ops, const struct ops_kind *k, const char *id,
    void *objp, struct ops_err *err);

/*
 * The objects of kind <k> of <account> (NULL: of every account the
 * caller sees) as ops.h's list functions give them, into *listp.
 */
int ops_kind_list(struct ops *ops, const struct ops_kind *k,
    const char *account, const struct ops_page *page, void *listp, size_t *np,
    int *morep, struct ops_err *err);

/*
 * The traffic policy part of an update of <what> ("address", "edge")
 * <id>: attach policy <p> (NULL detaches) if <set_policy>, and set PROXY
 * protocol version <proxy_proto> unless it is -1, with the store
 * functions given. Whatever did change is announced
 * (OPS_CHANGE_POLICY), even when the rest failed.
 */
int ops_traffic_set(struct ops *ops, const char *what, const char *id,
    int set_policy, const struct store_ip_policy *p, int proxy_proto,
    int (*set_ip_policy)(struct store *, const char *, const char *),
    int (*set_proxy_proto)(struct store *, const char *, int),
    struct ops_err *err);

/* Predicate: strings <x> and <y> differ, NULL being a value of its own. */
int ops_str_differs(const char *x, const char *y);

#endif /* PORTHOLE_OPS_INT_H */
