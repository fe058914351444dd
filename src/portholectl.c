/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "ctl.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "store.h"
#include "xmalloc.h"

/*
 * portholectl [-f file] [-o Keyword=value]... [--json] command ...
 *
 * The command words are matched against token tables, as relayctl
 * does: each table lists what may come next, and an argument token
 * stores the word it matched in struct ctl_args. A word that no table
 * entry takes, or a missing one, is a usage error (exit 2); everything
 * that fails after parsing is an error (exit 1).
 */

enum ctl_action {
	CTL_NONE = 0,
	CTL_HELP,
	CTL_INIT,
	CTL_ACCOUNT_ADD,
	CTL_ACCOUNT_LIST,
	CTL_KEY_ADD,
	CTL_KEY_LIST,
	CTL_KEY_DELETE,
	CTL_ENDPOINT_LIST,
	CTL_SESSION_LIST,
};

enum ctl_token_type {
	CTL_TOK_END = 0, /* ends a table */
	CTL_TOK_NONE, /* no more words here is fine */
	CTL_TOK_KEYWORD, /* the word equals <keyword> */
	CTL_TOK_ACCOUNT, /* any word: args->account */
	CTL_TOK_SOURCE, /* any word: args->source */
	CTL_TOK_FINGERPRINT, /* any word: args->fingerprint */
};

struct ctl_token {
	enum ctl_token_type type;
	const char *keyword; /* the keyword, or a name for usage */
	enum ctl_action action;
	const struct ctl_token *next;
};

static const struct ctl_token t_end[] = {
	{ CTL_TOK_NONE, "", CTL_NONE, NULL },
	{ CTL_TOK_END, "", CTL_NONE, NULL },
};

static const struct ctl_token t_account_name[] = {
	{ CTL_TOK_ACCOUNT, "NAME", CTL_NONE, t_end },
	{ CTL_TOK_END, "", CTL_NONE, NULL },
};

static const struct ctl_token t_account[] = {
	{ CTL_TOK_KEYWORD, "add", CTL_ACCOUNT_ADD, t_account_name },
	{ CTL_TOK_KEYWORD, "list", CTL_ACCOUNT_LIST, t_end },
	{ CTL_TOK_END, "", CTL_NONE, NULL },
};

static const struct ctl_token t_key_source[] = {
	{ CTL_TOK_SOURCE, "FILE | - | 'TYPE BASE64 [COMMENT]'", CTL_NONE,
	    t_end },
	{ CTL_TOK_END, "", CTL_NONE, NULL },
};

static const struct ctl_token t_key_add[] = {
	{ CTL_TOK_ACCOUNT, "ACCOUNT", CTL_NONE, t_key_source },
	{ CTL_TOK_END, "", CTL_NONE, NULL },
};

static const struct ctl_token t_key_list[] = {
	{ CTL_TOK_NONE, "", CTL_NONE, NULL },
	{ CTL_TOK_ACCOUNT, "ACCOUNT", CTL_NONE, t_end },
	{ CTL_TOK_END, "", CTL_NONE, NULL },
};

static const struct ctl_token t_key_delete[] = {
	{ CTL_TOK_FINGERPRINT, "FINGERPRINT", CTL_NONE, t_end },
	{ CTL_TOK_END, "", CTL_NONE, NULL },
};

static const struct ctl_token t_key[] = {
	{ CTL_TOK_KEYWORD, "add", CTL_KEY_ADD, t_key_add },
	{ CTL_TOK_KEYWORD, "list", CTL_KEY_LIST, t_key_list },
	{ CTL_TOK_KEYWORD, "delete", CTL_KEY_DELETE, t_key_delete },
	{ CTL_TOK_END, "", CTL_NONE, NULL },
};

static const struct ctl_token t_endpoint[] = {
	{ CTL_TOK_KEYWORD, "list", CTL_ENDPOINT_LIST, t_end },
	{ CTL_TOK_END, "", CTL_NONE, NULL },
};

static const struct ctl_token t_session[] = {
	{ CTL_TOK_KEYWORD, "list", CTL_SESSION_LIST, t_end },
	{ CTL_TOK_END, "", CTL_NONE, NULL },
};

static const struct ctl_token t_main[] = {
	{ CTL_TOK_KEYWORD, "init", CTL_INIT, t_end },
	{ CTL_TOK_KEYWORD, "account", CTL_NONE, t_account },
	{ CTL_TOK_KEYWORD, "key", CTL_NONE, t_key },
	{ CTL_TOK_KEYWORD, "endpoint", CTL_NONE, t_endpoint },
	{ CTL_TOK_KEYWORD, "session", CTL_NONE, t_session },
	{ CTL_TOK_KEYWORD, "help", CTL_HELP, t_end },
	{ CTL_TOK_END, "", CTL_NONE, NULL },
};

static int ctl_init(struct ctl *, const struct ctl_args *);

/* The command table: what each action runs; init opens the store itself. */
static const struct ctl_command {
	enum ctl_action action;
	int (*run)(struct ctl *, const struct ctl_args *);
	int open_store;
} ctl_commands[] = {
	{ CTL_INIT, ctl_init, 0 },
	{ CTL_ACCOUNT_ADD, ctl_account_add, 1 },
	{ CTL_ACCOUNT_LIST, ctl_account_list, 1 },
	{ CTL_KEY_ADD, ctl_key_add, 1 },
	{ CTL_KEY_LIST, ctl_key_list, 1 },
	{ CTL_KEY_DELETE, ctl_key_delete, 1 },
	{ CTL_ENDPOINT_LIST, ctl_endpoint_list, 1 },
	{ CTL_SESSION_LIST, ctl_session_list, 1 },
};

struct ctl_table {
	size_t ncols;
	size_t nrows; /* the header is row 0 */
	char **cells; /* nrows * ncols, row by row */
	size_t *width; /* of each column */
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: portholectl [-f file] [-o keyword=value] [--json] "
	    "command [argument ...]\n"
	    "commands:\n"
	    "    init\n"
	    "    account add NAME\n"
	    "    account list\n"
	    "    key add ACCOUNT FILE | - | 'TYPE BASE64 [COMMENT]'\n"
	    "    key list [ACCOUNT]\n"
	    "    key delete FINGERPRINT\n"
	    "    endpoint list\n"
	    "    session list\n"
	    "    help\n");
}

/* Copy <s> for the terminal: control characters become '?'. */
static char *
ctl_table_cell(const char *s)
{
	char *cell, *p;

	cell = xstrdup(s == NULL ? "-" : s);
	for (p = cell; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	}
	return cell;
}

static void
ctl_table_addv(struct ctl_table *t, const char *first, va_list ap)
{
	size_t i, len, base;

	t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols,
	    sizeof(*t->cells));
	base = t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		t->cells[base + i] =
		    ctl_table_cell(i == 0 ? first : va_arg(ap, const char *));
		len = strlen(t->cells[base + i]);
		if (len > t->width[i])
			t->width[i] = len;
	}
	t->nrows++;
}

struct ctl_table *
ctl_table_new(const char *header, ...)
{
	struct ctl_table *t;
	va_list ap;

	t = xcalloc(1, sizeof(*t));
	va_start(ap, header);
	for (t->ncols = 1; va_arg(ap, const char *) != NULL; t->ncols++)
		;
	va_end(ap);
	t->width = xcalloc(t->ncols, sizeof(*t->width));
	va_start(ap, header);
	ctl_table_addv(t, header, ap);
	va_end(ap);
	return t;
}

void
ctl_table_add(struct ctl_table *t, ...)
{
	const char *first;
	va_list ap;

	/* Not in the call: its arguments may be evaluated in any order. */
	va_start(ap, t);
	first = va_arg(ap, const char *);
	ctl_table_addv(t, first, ap);
	va_end(ap);
}

void
ctl_table_print(const struct ctl_table *t)
{
	size_t row, col;

	for (row = 0; row < t->nrows; row++) {
		for (col = 0; col + 1 < t->ncols; col++)
			printf("%-*s  ", (int)t->width[col],
			    t->cells[row * t->ncols + col]);
		printf("%s\n", t->cells[row * t->ncols + col]);
	}
}

void
ctl_table_free(struct ctl_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}

void
ctl_json_line(struct buf *b)
{
	fputs(buf_str(b), stdout);
	putchar('\n');
	buf_reset(b);
}

char *
ctl_time(int64_t ms, char *buf, size_t len)
{
	char *dot;

	if (ms == 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	misc_rfc3339(ms, buf, len);
	/* Seconds are enough in a table: drop the milliseconds. */
	if ((dot = strchr(buf, '.')) != NULL)
		memmove(dot, "Z", 2);
	return buf;
}

char *
ctl_hostport(const char *host, int port)
{
	char *s = NULL;

	if (strchr(host, ':') != NULL)
		xasprintf(&s, "[%s]:%d", host, port);
	else
		xasprintf(&s, "%s:%d", host, port);
	return s;
}

/*
 * Open the store into ctl->store. Unless <create> (init), a missing
 * database is an error rather than created here, so that a command run
 * with the wrong configuration (or as the wrong user) does not leave a
 * stray empty store behind.
 */
static int
ctl_open_store(struct ctl *ctl, int create)
{
	const char *path = ctl->conf->database;
	struct stat sb;
	char errbuf[512];
	int r = PORTHOLE_ERR_INTERNAL;

	if (!create && stat(path, &sb) == -1 && errno == ENOENT) {
		r = PORTHOLE_ERR_NOT_FOUND;
		error("database %s does not exist; run 'portholectl init' "
		      "first",
		    path);
		goto out;
	}
	errbuf[0] = '\0';
	if ((r = store_open(path, &ctl->store, errbuf, sizeof(errbuf))) != 0) {
		if (errbuf[0] != '\0')
			error("%s", errbuf); /* "PATH: reason" */
		else
			error_r(r, "%s", path);
		goto out;
	}
	r = 0;
out:
	return r;
}

/*
 * init: create StateDirectory (mode 0700) if it is missing, and the
 * database with the current schema. Running it again changes nothing.
 */
static int
ctl_init(struct ctl *ctl, const struct ctl_args *args)
{
	struct conf *conf = ctl->conf;
	struct buf *b = NULL;
	struct stat sb;
	int r = PORTHOLE_ERR_INTERNAL, dir_created = 0;
	int db_created = 0, version = 0;

	if (stat(conf->state_dir, &sb) == -1) {
		if (errno != ENOENT) {
			r = PORTHOLE_ERR_SYSTEM;
			error("%s: %s", conf->state_dir, strerror(errno));
			goto out;
		}
		if (mkdir(conf->state_dir, 0700) == -1) {
			r = PORTHOLE_ERR_SYSTEM;
			error("mkdir %s: %s", conf->state_dir, strerror(errno));
			goto out;
		}
		dir_created = 1;
	} else if (!S_ISDIR(sb.st_mode)) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		error("StateDirectory %s is not a directory", conf->state_dir);
		goto out;
	}

	if (stat(conf->database, &sb) == -1) {
		if (errno != ENOENT) {
			r = PORTHOLE_ERR_SYSTEM;
			error("%s: %s", conf->database, strerror(errno));
			goto out;
		}
		db_created = 1;
	}
	if ((r = ctl_open_store(ctl, 1)) != 0)
		goto out;
	if ((r = store_schema_version(ctl->store, &version)) != 0) {
		error_r(r, "%s: schema version", conf->database);
		goto out;
	}

	if (ctl->json) {
		b = buf_new();
		buf_putc(b, '{');
		json_kv_str(b, 1, "state_dir", conf->state_dir);
		json_kv_bool(b, 0, "state_dir_created", dir_created);
		json_kv_str(b, 0, "database", conf->database);
		json_kv_bool(b, 0, "database_created", db_created);
		json_kv_int(b, 0, "schema_version", version);
		buf_putc(b, '}');
		ctl_json_line(b);
	} else {
		if (dir_created)
			printf("created directory %s\n", conf->state_dir);
		if (db_created)
			printf("created database %s (schema version %d)\n",
			    conf->database, version);
		else
			printf("database %s is up to date (schema version "
			       "%d)\n",
			    conf->database, version);
	}
	r = 0;
out:
	buf_free(b);
	return r;
}

/* Append the usage names of what <table> accepts, "a | b", to <b>. */
static void
ctl_parse_expected(const struct ctl_token *table, struct buf *b)
{
	const struct ctl_token *t;

	for (t = table; t->type != CTL_TOK_END; t++) {
		if (t->type == CTL_TOK_NONE)
			continue;
		if (buf_len(b) > 0)
			buf_puts(b, " | ");
		buf_puts(b, t->keyword);
	}
}

/*
 * Match <words> against the token tables. Returns 0 with the action in
 * *actionp and the arguments in <args>, or PORTHOLE_ERR_INVALID_ARGUMENT
 * after reporting what is wrong (a usage error).
 */
static int
ctl_parse(char **words, size_t nwords, enum ctl_action *actionp,
    struct ctl_args *args)
{
	const struct ctl_token *table = t_main, *t, *match;
	struct buf *prefix = NULL, *expected = NULL;
	const char *word;
	size_t i;
	int r = PORTHOLE_ERR_INVALID_ARGUMENT;

	*actionp = CTL_NONE;
	memset(args, 0, sizeof(*args));
	prefix = buf_new();
	expected = buf_new();
	for (i = 0;; i++) {
		word = i < nwords ? words[i] : NULL;
		match = NULL;
		for (t = table; t->type != CTL_TOK_END && match == NULL; t++) {
			switch (t->type) {
			case CTL_TOK_NONE:
				if (word == NULL)
					match = t;
				break;
			case CTL_TOK_KEYWORD:
				if (word != NULL &&
				    strcmp(word, t->keyword) == 0)
					match = t;
				break;
			case CTL_TOK_ACCOUNT:
			case CTL_TOK_SOURCE:
			case CTL_TOK_FINGERPRINT:
				if (word != NULL)
					match = t;
				break;
			case CTL_TOK_END:
				break;
			}
		}
		if (match == NULL) {
			ctl_parse_expected(table, expected);
			if (word == NULL && i == 0)
				error("missing command");
			else if (word == NULL)
				error("%s: missing %s", buf_str(prefix),
				    buf_str(expected));
			else if (i == 0)
				error("unknown command '%.100s'", word);
			else if (buf_len(expected) == 0)
				error("%s: too many arguments at '%.100s'",
				    buf_str(prefix), word);
			else
				error("%s: unexpected '%.100s', expected %s",
				    buf_str(prefix), word, buf_str(expected));
			goto out;
		}
		if (match->type == CTL_TOK_NONE)
			break;
		if (match->action != CTL_NONE)
			*actionp = match->action;
		if (match->type == CTL_TOK_ACCOUNT)
			args->account = word;
		else if (match->type == CTL_TOK_SOURCE)
			args->source = word;
		else if (match->type == CTL_TOK_FINGERPRINT)
			args->fingerprint = word;
		buf_printf(prefix, "%s%s", i == 0 ? "" : " ",
		    match->type == CTL_TOK_KEYWORD ? word : match->keyword);
		table = match->next;
	}
	r = 0;
out:
	buf_free(prefix);
	buf_free(expected);
	return r;
}

/* Read the configuration the daemon reads: -o lines first, then the file. */
static int
ctl_load_conf(struct conf *conf, char **opts, size_t nopts, const char *path,
    int must_exist)
{
	char errbuf[512];
	size_t i;
	int r = PORTHOLE_ERR_INTERNAL;

	errbuf[0] = '\0';
	for (i = 0; i < nopts; i++) {
		if ((r = conf_apply_line(conf, opts[i], 1, errbuf,
		         sizeof(errbuf))) != 0) {
			error("-o '%.100s': %s", opts[i], errbuf);
			goto out;
		}
	}
	if ((r = conf_load_file(conf, path, must_exist, errbuf,
	         sizeof(errbuf))) != 0) {
		if (errbuf[0] != '\0')
			error("%s", errbuf);
		else
			error("%s: %s", path, porthole_strerror(r));
		goto out;
	}
	if ((r = conf_finish(conf, errbuf, sizeof(errbuf))) != 0) {
		error("%s: %s", path, errbuf);
		goto out;
	}
	r = 0;
out:
	return r;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl;
	struct ctl_args args;
	const struct ctl_command *cmd = NULL;
	enum ctl_action action;
	const char *path = CONF_DEFAULT_PATH;
	char **opts = NULL, **words = NULL;
	size_t nopts = 0, nwords = 0, i;
	int ch, fflag = 0, help = 0, r;
	int ret = 1;

	memset(&ctl, 0, sizeof(ctl));
	log_init("portholectl", LOG_LEVEL_ERROR, LOG_SINK_STDERR);
	/* The store holds credentials: what we create is ours alone. */
	umask(077);

	opterr = 0;
	while (
	    (ch = getopt_long(argc, argv, "+:f:ho:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			fflag = 1;
			break;
		case 'h':
			help = 1;
			break;
		case 'j':
			ctl.json = 1;
			break;
		case 'o':
			opts = xreallocarray(opts, nopts + 1, sizeof(*opts));
			opts[nopts++] = optarg;
			break;
		case ':':
			error("option '-%c' needs an argument", optopt);
			usage(stderr);
			ret = 2;
			goto out;
		default:
			if (optopt != 0)
				error("unknown option '-%c'", optopt);
			else /* a long option */
				error("unknown option '%.100s'",
				    argv[optind - 1]);
			usage(stderr);
			ret = 2;
			goto out;
		}
	}
	argc -= optind;
	argv += optind;

	/* --json may also follow the command words; so may -h/--help. */
	words = xcalloc((size_t)argc + 1, sizeof(*words));
	for (i = 0; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			ctl.json = 1;
		else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			help = 1;
		else
			words[nwords++] = argv[i];
	}
	if (help) {
		usage(stdout);
		ret = 0;
		goto out;
	}
	if (ctl_parse(words, nwords, &action, &args) != 0) {
		usage(stderr);
		ret = 2;
		goto out;
	}
	if (action == CTL_HELP) {
		usage(stdout);
		ret = 0;
		goto out;
	}
	for (i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++) {
		if (ctl_commands[i].action == action)
			cmd = &ctl_commands[i];
	}
	if (cmd == NULL)
		fatal_f("no command for action %d", (int)action);

	ctl.conf = conf_new();
	if (ctl_load_conf(ctl.conf, opts, nopts, path, fflag) != 0)
		goto out;
	if (cmd->open_store && ctl_open_store(&ctl, 0) != 0)
		goto out;
	r = cmd->run(&ctl, &args);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		error("write to stdout: %s", strerror(errno));
		r = PORTHOLE_ERR_SYSTEM;
	}
	ret = r == 0 ? 0 : 1;
out:
	store_free(ctl.store);
	conf_free(ctl.conf);
	free(opts);
	free(words);
	return ret;
}
