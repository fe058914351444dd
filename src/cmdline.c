/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmdline.h"
#include "err.h"
#include "log.h"
#include "utf8.h"
#include "xmalloc.h"

/* Bytes of untrusted text quoted in an error message, before escaping. */
#define CMDLINE_CLIP 64
/* Room for CMDLINE_CLIP bytes escaped as \ooo, "..." and the NUL. */
#define CMDLINE_CLIP_BUF (CMDLINE_CLIP * 4 + 4)

enum cmdline_opt {
	CMDLINE_OPT_HELP = 0,
	CMDLINE_OPT_JSON,
	CMDLINE_OPT_PROXY_PROTO,
	CMDLINE_OPT_CIDR_ALLOW,
	CMDLINE_OPT_CIDR_DENY,
	CMDLINE_OPT_METADATA,
	CMDLINE_OPT_POOLING,
	CMDLINE_OPT_FORCE,
};

/* The flags "tcp" accepts, relayctl-style: one row per spelling. */
static const struct {
	const char *name;
	enum cmdline_opt opt;
	int has_value;
} cmdline_opts[] = {
	{ "--help", CMDLINE_OPT_HELP, 0 },
	{ "-h", CMDLINE_OPT_HELP, 0 },
	{ "--json", CMDLINE_OPT_JSON, 0 },
	{ "--proxy-proto", CMDLINE_OPT_PROXY_PROTO, 1 },
	{ "--cidr-allow", CMDLINE_OPT_CIDR_ALLOW, 1 },
	{ "--cidr-deny", CMDLINE_OPT_CIDR_DENY, 1 },
	{ "--metadata", CMDLINE_OPT_METADATA, 1 },
	{ "--pooling", CMDLINE_OPT_POOLING, 0 },
	{ "--force", CMDLINE_OPT_FORCE, 0 },
};

/* Keep the limits in step with cmdline.h; check_cmdline tests that. */
static const char cmdline_usage_text[] =
    "usage: tcp [--json] [--proxy-proto=1|2] [--cidr-allow=CIDR[,CIDR...]]\n"
    "           [--cidr-deny=CIDR[,CIDR...]] [--metadata=TEXT] [--pooling]\n"
    "           [--force] [--help]\n"
    "Serve the ports forwarded with ssh -R to this server.\n"
    "  --json             print one JSON object per line\n"
    "  --proxy-proto=1|2  send a PROXY protocol v1 or v2 header first on\n"
    "                     each relayed connection\n"
    "  --cidr-allow=CIDR  admit only clients from CIDR (IPv4 or IPv6)\n"
    "  --cidr-deny=CIDR   refuse clients from CIDR\n"
    "  --metadata=TEXT    text stored with this session's endpoints\n"
    "                     (at most 1024 bytes)\n"
    "  --pooling          share a reserved address with this account's\n"
    "                     other sessions that serve it with --pooling\n"
    "  --force            take a reserved address over from an older\n"
    "                     session of this account that still holds it\n"
    "  -h, --help         print this help\n"
    "--cidr-* are repeatable and take comma lists (at most 64 CIDRs in all).\n"
    "Flags with a value also take the form '--flag VALUE'. Quote values\n"
    "with blanks for this server too: ssh HOST \"tcp --metadata='my app'\"\n";

/* Write a one-line message for the user into errbuf, if there is one. */
static void __attribute__((format(printf, 3, 4)))
cmdline_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Make untrusted <s> safe to quote in a message: at most CMDLINE_CLIP of
 * its bytes, non-printables escaped, "..." when clipped. Returns dst.
 */
static const char *
cmdline_clip(char *dst, size_t dstlen, const char *s)
{
	char head[CMDLINE_CLIP + 1];
	size_t n;

	n = strlen(s);
	memcpy(head, s, n > CMDLINE_CLIP ? CMDLINE_CLIP : n);
	head[n > CMDLINE_CLIP ? CMDLINE_CLIP : n] = '\0';
	log_sanitize(dst, dstlen, head);
	if (n > CMDLINE_CLIP && strlen(dst) + 4 <= dstlen)
		memcpy(dst + strlen(dst), "...", 4);
	return dst;
}

/* Whether <c> separates words, as a shell's blanks and newlines do. */
static int
cmdline_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Append the word collected in <w> to the list, and empty <w>. */
static void
cmdline_push_word(char ***wordsp, size_t *nwordsp, struct buf *w)
{
	*wordsp = xreallocarray(*wordsp, *nwordsp + 1, sizeof(**wordsp));
	/* The list owns the copy; cmdline_free_words releases it. */
	(*wordsp)[(*nwordsp)++] = xstrdup(buf_str(w));
	buf_reset(w);
}

/* Free a word list made by cmdline_split. */
static void
cmdline_free_words(char **words, size_t nwords)
{
	size_t i;

	for (i = 0; i < nwords; i++)
		free(words[i]);
	free(words);
}

/*
 * Split <command> into words like a POSIX shell does for simple words:
 * blanks separate, '...' quotes literally, "..." quotes with \" \\ \$ \`
 * escapes, and a backslash outside quotes escapes the next character;
 * backslash-newline joins lines. Nothing is expanded. Returns 0 and a new
 * list in *wordsp, *nwordsp, or PORTHOLE_ERR_INVALID_FORMAT.
 */
static int
cmdline_split(const char *command, char ***wordsp, size_t *nwordsp,
    char *errbuf, size_t errlen)
{
	struct buf *w = NULL;
	char **words = NULL, quote = '\0';
	size_t nwords = 0;
	const char *p;
	int r = PORTHOLE_ERR_INTERNAL, inword = 0;

	*wordsp = NULL;
	*nwordsp = 0;
	w = buf_new();
	for (p = command;; p++) {
		if (quote != '\0' && *p == '\0') {
			cmdline_err(errbuf, errlen,
			    "unbalanced %s quote (%c) in command",
			    quote == '\'' ? "single" : "double", quote);
			r = PORTHOLE_ERR_INVALID_FORMAT;
			goto out;
		}
		if (quote == '\'') {
			if (*p == '\'')
				quote = '\0';
			else
				buf_putc(w, *p);
			continue;
		}
		if (quote == '"') {
			if (*p == '"')
				quote = '\0';
			else if (*p == '\\' && p[1] == '\n')
				p++;
			else if (*p == '\\' && p[1] != '\0' &&
			    strchr("\"\\$`", p[1]) != NULL)
				buf_putc(w, *++p);
			else
				buf_putc(w, *p);
			continue;
		}
		if (*p == '\\' && p[1] == '\n') {
			p++;
			continue;
		}
		if (*p == '\0' || cmdline_is_blank(*p)) {
			if (inword)
				cmdline_push_word(&words, &nwords, w);
			inword = 0;
			if (*p == '\0')
				break;
			continue;
		}
		inword = 1;
		if (*p == '\'' || *p == '"')
			quote = *p;
		else if (*p == '\\' && p[1] != '\0')
			buf_putc(w, *++p);
		else /* a final lone backslash stays, as with sh -c */
			buf_putc(w, *p);
	}
	/* Ownership of the list passes to the caller. */
	*wordsp = words;
	*nwordsp = nwords;
	words = NULL;
	nwords = 0;
	r = 0;
out:
	cmdline_free_words(words, nwords);
	buf_free(w);
	return r;
}

/*
 * Add the comma-separated CIDRs in <val> of flag <flag> to <*listp>,
 * checking syntax only. Returns 0 or PORTHOLE_ERR_INVALID_FORMAT.
 */
static int
cmdline_add_cidrs(struct cmdline *cl, const char *flag, const char *val,
    char ***listp, size_t *np, char *errbuf, size_t errlen)
{
	char clip[CMDLINE_CLIP_BUF], *cidr = NULL;
	const char *p, *end;
	size_t len, i;
	int r = PORTHOLE_ERR_INTERNAL;

	for (p = val;; p = end + 1) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (len == 0) {
			cmdline_err(errbuf, errlen,
			    "empty CIDR in %s '%s'; separate CIDRs with "
			    "single commas",
			    flag, cmdline_clip(clip, sizeof(clip), val));
			r = PORTHOLE_ERR_INVALID_FORMAT;
			goto out;
		}
		for (i = 0; i < len; i++) {
			if ((unsigned char)p[i] <= ' ' ||
			    (unsigned char)p[i] >= 0x7f) {
				cmdline_err(errbuf, errlen,
				    "bad CIDR '%s' in %s; separate CIDRs "
				    "with ',' and no blanks",
				    cmdline_clip(clip, sizeof(clip), val),
				    flag);
				r = PORTHOLE_ERR_INVALID_FORMAT;
				goto out;
			}
		}
		if (cl->ncidr_allow + cl->ncidr_deny >= CMDLINE_CIDR_MAX) {
			cmdline_err(errbuf, errlen,
			    "too many CIDRs: at most %d in all for "
			    "--cidr-allow and --cidr-deny",
			    CMDLINE_CIDR_MAX);
			r = PORTHOLE_ERR_INVALID_FORMAT;
			goto out;
		}
		cidr = xmalloc(len + 1);
		memcpy(cidr, p, len);
		cidr[len] = '\0';
		*listp = xreallocarray(*listp, *np + 1, sizeof(**listp));
		/* The list in <cl> owns the string now. */
		(*listp)[(*np)++] = cidr;
		cidr = NULL;
		if (*end == '\0')
			break;
	}
	r = 0;
out:
	free(cidr);
	return r;
}

/*
 * Apply flag <flag> (option <opt>) with value <val> (NULL for flags that
 * take none) to <cl>. Returns 0 or PORTHOLE_ERR_INVALID_FORMAT.
 */
static int
cmdline_apply(struct cmdline *cl, enum cmdline_opt opt, const char *flag,
    const char *val, char *errbuf, size_t errlen)
{
	char clip[CMDLINE_CLIP_BUF], what[UTF8_ERRLEN];
	size_t len;
	int r = PORTHOLE_ERR_INTERNAL;

	switch (opt) {
	case CMDLINE_OPT_HELP:
		cl->help = 1;
		break;
	case CMDLINE_OPT_JSON:
		cl->json = 1;
		break;
	case CMDLINE_OPT_POOLING:
		cl->pooling = 1;
		break;
	case CMDLINE_OPT_FORCE:
		cl->force = 1;
		break;
	case CMDLINE_OPT_PROXY_PROTO:
		if (strcmp(val, "1") == 0)
			cl->proxy_proto = 1;
		else if (strcmp(val, "2") == 0)
			cl->proxy_proto = 2;
		else {
			cmdline_err(errbuf, errlen,
			    "bad value '%s' for %s; expected 1 or 2",
			    cmdline_clip(clip, sizeof(clip), val), flag);
			r = PORTHOLE_ERR_INVALID_FORMAT;
			goto out;
		}
		break;
	case CMDLINE_OPT_CIDR_ALLOW:
		r = cmdline_add_cidrs(cl, flag, val, &cl->cidr_allow,
		    &cl->ncidr_allow, errbuf, errlen);
		if (r != 0)
			goto out;
		break;
	case CMDLINE_OPT_CIDR_DENY:
		r = cmdline_add_cidrs(cl, flag, val, &cl->cidr_deny,
		    &cl->ncidr_deny, errbuf, errlen);
		if (r != 0)
			goto out;
		break;
	case CMDLINE_OPT_METADATA:
		if ((len = strlen(val)) > CMDLINE_METADATA_MAX) {
			cmdline_err(errbuf, errlen,
			    "%s is too long (%zu bytes, at most %d)", flag, len,
			    CMDLINE_METADATA_MAX);
			r = PORTHOLE_ERR_INVALID_FORMAT;
			goto out;
		}
		/* Listings and events show it; keep terminals safe. */
		if (utf8_check_text(val, NULL, what, sizeof(what)) != 0) {
			cmdline_err(errbuf, errlen,
			    "%s must not contain control characters: %s", flag,
			    what);
			r = PORTHOLE_ERR_INVALID_FORMAT;
			goto out;
		}
		/* A repeated --metadata replaces the earlier one. */
		free(cl->metadata);
		cl->metadata = xstrdup(val);
		break;
	default:
		fatal_f("unhandled option %d", (int)opt);
	}
	r = 0;
out:
	return r;
}

/* Parse the session command; see cmdline.h for the contract. */
int
cmdline_parse(const char *command, struct cmdline **clp, char *errbuf,
    size_t errlen)
{
	struct cmdline *cl = NULL;
	char **words = NULL, clip[CMDLINE_CLIP_BUF];
	const char *word, *val, *lastval = NULL;
	size_t nwords = 0, i, j, len, namelen;
	int r = PORTHOLE_ERR_INTERNAL, endopts = 0;

	*clp = NULL;
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (command == NULL)
		command = ""; /* a shell request: plain "tcp" */
	if ((len = strlen(command)) > CMDLINE_MAX) {
		cmdline_err(errbuf, errlen,
		    "command is too long (%zu bytes, at most %d)", len,
		    CMDLINE_MAX);
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = cmdline_split(command, &words, &nwords, errbuf, errlen)) != 0)
		goto out;
	if (nwords > 0 && strcmp(words[0], "tcp") != 0) {
		cmdline_err(errbuf, errlen,
		    "unknown command '%s'; this server only runs 'tcp' "
		    "(try 'tcp --help')",
		    cmdline_clip(clip, sizeof(clip), words[0]));
		r = PORTHOLE_ERR_INVALID_FORMAT;
		goto out;
	}
	cl = xcalloc(1, sizeof(*cl));
	for (i = 1; i < nwords; i++) {
		word = words[i];
		if ((endopts || word[0] != '-') && lastval != NULL) {
			/* ssh joins its arguments: the user's quotes are gone. */
			cmdline_err(errbuf, errlen,
			    "unexpected argument '%s' after the value of %s; "
			    "quote values with blanks twice, e.g. ssh HOST "
			    "\"tcp --metadata='my app'\"",
			    cmdline_clip(clip, sizeof(clip), word), lastval);
			r = PORTHOLE_ERR_INVALID_FORMAT;
			goto out;
		}
		if (endopts || word[0] != '-') {
			cmdline_err(errbuf, errlen,
			    "unexpected argument '%s'; try 'tcp --help'",
			    cmdline_clip(clip, sizeof(clip), word));
			r = PORTHOLE_ERR_INVALID_FORMAT;
			goto out;
		}
		lastval = NULL;
		if (strcmp(word, "--") == 0) {
			endopts = 1;
			continue;
		}
		for (j = 0; j < sizeof(cmdline_opts) / sizeof(cmdline_opts[0]);
		     j++) {
			namelen = strlen(cmdline_opts[j].name);
			if (strncmp(word, cmdline_opts[j].name, namelen) == 0 &&
			    (word[namelen] == '\0' || word[namelen] == '='))
				break;
		}
		if (j == sizeof(cmdline_opts) / sizeof(cmdline_opts[0])) {
			cmdline_err(errbuf, errlen,
			    "unknown flag '%s'; try 'tcp --help'",
			    cmdline_clip(clip, sizeof(clip), word));
			r = PORTHOLE_ERR_INVALID_FORMAT;
			goto out;
		}
		val = NULL;
		if (word[namelen] == '=') {
			if (!cmdline_opts[j].has_value) {
				cmdline_err(errbuf, errlen,
				    "flag '%s' takes no value; try "
				    "'tcp --help'",
				    cmdline_opts[j].name);
				r = PORTHOLE_ERR_INVALID_FORMAT;
				goto out;
			}
			val = word + namelen + 1;
		} else if (cmdline_opts[j].has_value) {
			if (i + 1 >= nwords) {
				cmdline_err(errbuf, errlen,
				    "flag '%s' needs a value; try "
				    "'tcp --help'",
				    cmdline_opts[j].name);
				r = PORTHOLE_ERR_INVALID_FORMAT;
				goto out;
			}
			val = words[++i];
		}
		r = cmdline_apply(cl, cmdline_opts[j].opt, cmdline_opts[j].name,
		    val, errbuf, errlen);
		if (r != 0)
			goto out;
		if (val != NULL)
			lastval = cmdline_opts[j].name;
	}
	/* Ownership of the parsed command passes to the caller. */
	*clp = cl;
	cl = NULL;
	r = 0;
out:
	cmdline_free(cl);
	cmdline_free_words(words, nwords);
	return r;
}

/* Free a parsed command and everything it holds; NULL is a no-op. */
void
cmdline_free(struct cmdline *cl)
{
	size_t i;

	if (cl == NULL)
		return;
	for (i = 0; i < cl->ncidr_allow; i++)
		free(cl->cidr_allow[i]);
	free(cl->cidr_allow);
	for (i = 0; i < cl->ncidr_deny; i++)
		free(cl->cidr_deny[i]);
	free(cl->cidr_deny);
	free(cl->metadata);
	free(cl);
}

/* The static usage text for "tcp --help". */
const char *
cmdline_usage(void)
{
	return cmdline_usage_text;
}
