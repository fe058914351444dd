/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#ifndef PORTHOLE_CMDLINE_H
#define PORTHOLE_CMDLINE_H

#include <stddef.h>

/*
 * The session command a client runs: "tcp [flags]" (ssh HOST tcp …).
 * Parsed here, free of libssh, so it can be unit tested and fuzzed.
 */

#define CMDLINE_METADATA_MAX 1024 /* bytes of --metadata */
#define CMDLINE_MAX          8192 /* bytes of the whole command */
#define CMDLINE_CIDR_MAX     64 /* --cidr-* entries in all */

struct cmdline {
	int help; /* --help (or -h) */
	int json; /* --json */
	int pooling; /* --pooling: share reserved addresses */
	int force; /* --force: take reserved addresses over */
	int proxy_proto; /* 0 (none), 1 or 2 */
	char *metadata; /* --metadata TEXT, or NULL */
	char **cidr_allow; /* --cidr-allow entries, split on ',' */
	size_t ncidr_allow;
	char **cidr_deny;
	size_t ncidr_deny;
};

/*
 * Split <command> into words as a POSIX shell would for simple words:
 * blanks separate, '…' and "…" quote, backslash escapes outside single
 * quotes. Then require the first word to be "tcp" and parse the flags:
 * --help/-h, --json, --proxy-proto=1|2, --cidr-allow=CIDR,
 * --cidr-deny=CIDR (repeatable, comma lists), --metadata=TEXT,
 * --pooling, --force; each
 * value flag also as "--flag VALUE". A NULL or empty command (shell
 * request) means plain "tcp".
 *
 * Returns 0 and a new struct in *clp, or PORTHOLE_ERR_INVALID_FORMAT
 * (unknown command or flag, missing or bad value, unbalanced quote,
 * too long) with a one-line reason for the user in errbuf, e.g.
 * "unknown flag '--foo'; try 'tcp --help'". CIDR values are checked
 * only for syntax here (non-empty, no blanks). --metadata may not hold
 * a control character, C0, DEL or C1 (see utf8_check_text).
 */
int cmdline_parse(const char *command, struct cmdline **clp, char *errbuf,
    size_t errlen);

void cmdline_free(struct cmdline *cl); /* NULL is a no-op */

/* The usage text printed for --help (static, ends with '\n'). */
const char *cmdline_usage(void);

#endif /* PORTHOLE_CMDLINE_H */
