/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_CTL_H
#define PORTHOLE_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ops.h"

/*
 * portholectl: shared declarations of the admin command. ctl-parse.c
 * parses the command line with token tables, portholectl.c dispatches
 * to one function per command, and the ctl-*.c files hold one family
 * each: they turn the parsed words into calls of the operations layer
 * (ops.h), which holds every admin action, and print what it returns
 * (ctl-output.c: tables, JSON lines, times).
 */

struct buf;
struct conf;
struct event;
struct store;
struct store_account;
struct store_ip_policy;
struct ctl_table;

/* What every command works on; set up by main(). */
struct ctl {
	struct conf *conf; /* the effective configuration */
	struct store *store; /* the opened store */
	int json; /* --json: JSON Lines instead of a table */
	int dir_created; /* StateDirectory made before switching to User */
	struct ops ops; /* the context of ops calls: see ctl_ops() */
};

/*
 * The argument words and options of a command, borrowed from argv. An
 * option not given is NULL (strings) or -1 (numbers).
 */
struct ctl_args {
	const char *account; /* NAME or ACCOUNT (name or id) */
	const char *source; /* key add: FILE, "-" or key text */
	const char *fingerprint; /* key delete */
	/* token revoke, api-key revoke, session kill: "tk_…", "ak_…", "ss_…" */
	const char *id;
	const char *address; /* ADDR: "ra_…" or HOST:PORT */
	const char *edge; /* EDGE: "ed_…" */
	/* edge create --address ADDR...; the array is main()'s to free. */
	const char **addresses;
	size_t naddresses;
	const char *description; /* --description TEXT */
	const char *metadata; /* --metadata TEXT */
	const char *host; /* --host HOST */
	int max_sessions; /* --max-sessions N */
	int max_endpoints; /* --max-endpoints N */
	/*
	 * account update's traffic limits, parsed (src/limit.h): -2
	 * (STORE_KEEP) when not given, -1 for "default", 0 for "none".
	 */
	int64_t bandwidth; /* --bandwidth RATE */
	int64_t quota_bytes; /* --transfer-quota SIZE/PERIOD */
	int64_t quota_period; /* its period, seconds */
	int64_t connection_rate; /* --connection-rate N */
	int64_t per_source; /* --max-connections-per-source N */
	int64_t idle_timeout; /* --idle-timeout DURATION */
	const char *policy; /* ip-policy NAME (name or id) */
	/*
	 * ip-policy create --allow / --deny CIDR..., checked by the parser.
	 * The arrays are main()'s to free; the strings are argv's.
	 */
	const char **allow;
	size_t nallow;
	const char **deny;
	size_t ndeny;
	int rule_allow; /* rule add|delete: 1 allow, 0 deny, -1 not given */
	const char *cidr; /* rule add|delete: CIDR, checked by the parser */
	const char *ip_policy; /* --ip-policy POLICY or "none" */
	int proxy_proto; /* --proxy-proto 0|1|2 */
	int pooling; /* --pooling on|off: OPS_POOLING_*, 0 if not given */
	int follow; /* events --follow: 1 if given, else 0 */
	const char *type; /* events --type: a known EVENT_* type */
	int64_t since_ms; /* events --since TIME, parsed */
	int64_t limit; /* events --limit N */
	int64_t bucket_ms; /* usage --by: OPS_USAGE_HOUR or _DAY */
	/* Webhooks (ctl-hook.c); the arrays are main()'s to free. */
	const char *url; /* destination create URL */
	const char *secret; /* --secret SECRET */
	const char **destinations; /* --destination ID... */
	size_t ndestinations;
	const char **types; /* --type TYPE... */
	size_t ntypes;
};

/* What a command runs, and whether it needs the store opened first. */
struct ctl_command {
	int (*run)(struct ctl *, const struct ctl_args *);
	int open_store;
};

/*
 * ctl-parse.c. ctl_parse() matches <words> against the token tables:
 * 0 with the command in *cmdp (NULL for help: "-h", "--help" or "help"
 * among the words) and its arguments in <args>, or
 * PORTHOLE_ERR_INVALID_ARGUMENT after reporting what is wrong (a usage
 * error). "--json" may stand wherever a word is expected and sets
 * *jsonp. An option's value is taken as it is, so "--description
 * --json" describes rather than asks for JSON. Either way the caller
 * frees <args> with ctl_args_clear().
 */
int ctl_parse(char **words, size_t nwords, const struct ctl_command **cmdp,
    struct ctl_args *args, int *jsonp);
/* Set <args> to "nothing given". */
void ctl_args_init(struct ctl_args *args);
/* Free what ctl_parse() allocated in <args>; the words are argv's. */
void ctl_args_clear(struct ctl_args *args);
/*
 * --description and --metadata with a control character: not a usage
 * error (the words were right, their text is not); reported, and
 * PORTHOLE_ERR_INVALID_FORMAT.
 */
int ctl_check_text(const struct ctl_args *args);
/* The usage message, to <fp>. */
void ctl_usage(FILE *fp);
/*
 * For shell completion (contrib/completion/portholectl), from the same
 * token tables as ctl_parse(): print to <fp> what may follow <words>,
 * the command words typed so far (without portholectl's own options),
 * one a line: keywords and options as typed, fixed values, and "@KIND"
 * for names read from the store (@account, @address, @edge, @policy),
 * "@file" for a file, "@text" where a value goes that cannot be offered.
 * Nothing after a word the grammar does not take. Returns 0.
 */
int ctl_complete(char **words, size_t nwords, FILE *fp);

/* portholectl.c: the commands that need no operations layer. */
int ctl_init(struct ctl *ctl, const struct ctl_args *args);
int ctl_hostkey(struct ctl *ctl, const struct ctl_args *args);

/* Largest --max-sessions / --max-endpoints the store accepts. */
#define CTL_LIMIT_MAX OPS_LIMIT_MAX
/* Longest --description and --metadata, as a hosted provider allows. */
#define CTL_DESCRIPTION_MAX OPS_DESCRIPTION_MAX
#define CTL_METADATA_MAX    OPS_METADATA_MAX

/*
 * A portholed session process re-reads its session row this often, so
 * a session ended in the store stops within this many seconds even when
 * no signal reaches its process.
 */
#define CTL_SESSION_RECHECK_SECS 10

/* events --follow: how often the store is asked for new events. */
#define CTL_EVENTS_POLL_MS 200

/* Room for a time from ctl_time() or misc_rfc3339(). */
#define CTL_TIME_LEN 32

/*
 * Each command returns 0, or a negative PORTHOLE_ERR_* after it has
 * reported the reason on stderr; main() turns that into exit status 1.
 */
int ctl_account_add(struct ctl *ctl, const struct ctl_args *args);
int ctl_account_list(struct ctl *ctl, const struct ctl_args *args);
int ctl_account_show(struct ctl *ctl, const struct ctl_args *args);
int ctl_account_update(struct ctl *ctl, const struct ctl_args *args);
int ctl_account_disable(struct ctl *ctl, const struct ctl_args *args);
int ctl_account_enable(struct ctl *ctl, const struct ctl_args *args);
int ctl_account_delete(struct ctl *ctl, const struct ctl_args *args);
int ctl_key_add(struct ctl *ctl, const struct ctl_args *args);
int ctl_key_list(struct ctl *ctl, const struct ctl_args *args);
int ctl_key_delete(struct ctl *ctl, const struct ctl_args *args);
int ctl_token_create(struct ctl *ctl, const struct ctl_args *args);
int ctl_token_list(struct ctl *ctl, const struct ctl_args *args);
int ctl_token_revoke(struct ctl *ctl, const struct ctl_args *args);
int ctl_apikey_create(struct ctl *ctl, const struct ctl_args *args);
int ctl_apikey_list(struct ctl *ctl, const struct ctl_args *args);
int ctl_apikey_revoke(struct ctl *ctl, const struct ctl_args *args);
int ctl_address_reserve(struct ctl *ctl, const struct ctl_args *args);
int ctl_address_list(struct ctl *ctl, const struct ctl_args *args);
int ctl_address_show(struct ctl *ctl, const struct ctl_args *args);
int ctl_address_update(struct ctl *ctl, const struct ctl_args *args);
int ctl_address_delete(struct ctl *ctl, const struct ctl_args *args);
int ctl_edge_create(struct ctl *ctl, const struct ctl_args *args);
int ctl_edge_list(struct ctl *ctl, const struct ctl_args *args);
int ctl_edge_show(struct ctl *ctl, const struct ctl_args *args);
int ctl_edge_delete(struct ctl *ctl, const struct ctl_args *args);
int ctl_edge_address_add(struct ctl *ctl, const struct ctl_args *args);
int ctl_edge_address_remove(struct ctl *ctl, const struct ctl_args *args);
int ctl_edge_backend_add(struct ctl *ctl, const struct ctl_args *args);
int ctl_edge_backend_remove(struct ctl *ctl, const struct ctl_args *args);
int ctl_edge_update(struct ctl *ctl, const struct ctl_args *args);
int ctl_endpoint_list(struct ctl *ctl, const struct ctl_args *args);
int ctl_session_list(struct ctl *ctl, const struct ctl_args *args);
int ctl_session_kill(struct ctl *ctl, const struct ctl_args *args);
int ctl_policy_create(struct ctl *ctl, const struct ctl_args *args);
int ctl_policy_list(struct ctl *ctl, const struct ctl_args *args);
int ctl_policy_show(struct ctl *ctl, const struct ctl_args *args);
int ctl_policy_delete(struct ctl *ctl, const struct ctl_args *args);
int ctl_policy_rule_add(struct ctl *ctl, const struct ctl_args *args);
int ctl_policy_rule_delete(struct ctl *ctl, const struct ctl_args *args);
int ctl_events(struct ctl *ctl, const struct ctl_args *args);
int ctl_metrics(struct ctl *ctl, const struct ctl_args *args);
int ctl_usage_show(struct ctl *ctl, const struct ctl_args *args);
int ctl_dest_create(struct ctl *ctl, const struct ctl_args *args);
int ctl_dest_list(struct ctl *ctl, const struct ctl_args *args);
int ctl_dest_show(struct ctl *ctl, const struct ctl_args *args);
int ctl_dest_delete(struct ctl *ctl, const struct ctl_args *args);
int ctl_sub_create(struct ctl *ctl, const struct ctl_args *args);
int ctl_sub_list(struct ctl *ctl, const struct ctl_args *args);
int ctl_sub_delete(struct ctl *ctl, const struct ctl_args *args);

/*
 * Append the known event types, "a | b | ...", to <b> (for messages).
 */
void ctl_event_types(struct buf *b);

/*
 * The ops context of <ctl> (ctl->ops), as an administrator's, set up
 * for its store: changes are announced by ctl_signal_sessions() and
 * ctl_signal_reload(), events recorded by ctl_event_record().
 */
struct ops *ctl_ops(struct ctl *ctl);

/* Report on stderr why an ops call failed (err->msg). */
void ctl_report(const struct ops_err *err);

/*
 * Record event <ev>, which the caller still owns: store it (with no
 * session) and append it to EventLog. EventLog "-" is portholed's
 * standard output, not ours, so portholectl leaves that to the store.
 * Reports on stderr what failed; returns 0 or a negative
 * PORTHOLE_ERR_*.
 */
int ctl_event_record(struct ctl *ctl, struct event *ev);

/*
 * Tell the portholed processes <pids>, whose sessions the store has just
 * ended, to notice now. On PostgreSQL, whose sessions may be on any
 * machine, the change is announced to every portholed of the database
 * (store_notify_change) and no process is signalled. On SQLite: SIGUSR1
 * to each one that is still a portholed process (by /proc/PID/comm), so
 * a pid reused by another program is never signalled. Where neither can
 * be done, says on stderr that the session ends within
 * CTL_SESSION_RECHECK_SECS seconds anyway.
 */
void ctl_signal_sessions(struct ctl *ctl, const int64_t *pids, size_t npids);

/*
 * After a change to traffic policy (an IP policy's rules, which policy
 * an account or address has, an address's PROXY protocol, an edge): on
 * PostgreSQL announce it as ctl_signal_sessions() does; on SQLite send
 * SIGUSR1 to the process of every live session; so each reloads its
 * policies now. Where that cannot be done, says on stderr that they take
 * the change up within CTL_SESSION_RECHECK_SECS seconds anyway.
 */
void ctl_signal_reload(struct ctl *ctl);

/*
 * A table for human output: a header row, then rows of the same number
 * of cells, printed to stdout in aligned columns. Cells are copied, with
 * control characters (C0, DEL, C1) and bytes that are not UTF-8 shown
 * as \ooo (utf8_escape) so that text from users, peers or an older store
 * cannot drive the terminal. The last column is not padded; keep free
 * text (comments) there.
 */
/*
 * Header cells as arguments, ended by NULL. For a "show" command's
 * label/value list the first pair simply takes the header's place.
 */
struct ctl_table *ctl_table_new(const char *header, ...);
/* Exactly as many cells as the header has; a NULL cell prints as "-". */
void ctl_table_add(struct ctl_table *t, ...);
void ctl_table_print(const struct ctl_table *t);
void ctl_table_free(struct ctl_table *t); /* NULL is a no-op */

/*
 * printf(3) to stdout for plain (not JSON, not table) output, with the
 * escapes of a table cell for whatever the arguments hold; newlines
 * stay. Every line that quotes text from the store goes through here.
 */
void ctl_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Write the JSON text in <b> to stdout as one line (JSON Lines) and
 * empty <b>.
 */
void ctl_json_line(struct buf *b);

/*
 * Format <ms> for human output: RFC 3339 UTC to the second
 * ("2026-11-25T12:00:00Z"), or "-" for 0. Returns buf (CTL_TIME_LEN).
 */
char *ctl_time(int64_t ms, char *buf, size_t len);

/*
 * Format <host> and <port> as "host:port", with brackets around an IPv6
 * address. The caller frees the result.
 */
char *ctl_hostport(const char *host, int port);

/* <s> for a table cell: NULL (shown as "-") if it is NULL or empty. */
const char *ctl_cell(const char *s);

/*
 * A PROXY protocol version for a table: "v1", "v2", or <none> for 0
 * (which may be NULL, shown as "-").
 */
const char *ctl_address_proxy(int version, const char *none);

#endif /* PORTHOLE_CTL_H */
