/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "acl.h"
#include "buf.h"
#include "compat.h"
#include "conf.h"
#include "db.h"
#include "ctl.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "misc.h"
#include "pubkey.h"
#include "store.h"
#include "utf8.h"
#include "xmalloc.h"

/*
 * portholectl [-f file] [-o Keyword=value]... [--json] command ...
 *
 * main() reads the options and the configuration, has ctl-parse.c turn
 * the command words into a command and its arguments, opens the store
 * and runs the command (ctl-*.c). init and hostkey, which need no
 * operations layer, are here too.
 */

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

	if (!create && !db_target_is_pg(path) && stat(path, &sb) == -1 &&
	    errno == ENOENT) {
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
int
ctl_init(struct ctl *ctl, const struct ctl_args *args)
{
	struct conf *conf = ctl->conf;
	struct buf *b = NULL;
	struct stat sb;
	int r = PORTHOLE_ERR_INTERNAL, dir_created = ctl->dir_created;
	int db_created = 0, version = 0, pg;
	char shown[256];

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

	/* A PostgreSQL database is made by its administrator, not here. */
	pg = db_target_is_pg(conf->database);
	db_target_print(conf->database, shown, sizeof(shown));
	if (!pg && stat(conf->database, &sb) == -1) {
		if (errno != ENOENT) {
			r = PORTHOLE_ERR_SYSTEM;
			error("%s: %s", shown, strerror(errno));
			goto out;
		}
		db_created = 1;
	}
	if ((r = ctl_open_store(ctl, 1)) != 0)
		goto out;
	if ((r = store_schema_version(ctl->store, &version)) != 0) {
		error_r(r, "%s: schema version", shown);
		goto out;
	}

	if (ctl->json) {
		b = buf_new();
		buf_putc(b, '{');
		json_kv_str(b, 1, "state_dir", conf->state_dir);
		json_kv_bool(b, 0, "state_dir_created", dir_created);
		json_kv_str(b, 0, "database", shown);
		json_kv_bool(b, 0, "database_created", db_created);
		json_kv_int(b, 0, "schema_version", version);
		buf_putc(b, '}');
		ctl_json_line(b);
	} else {
		if (dir_created)
			printf("created directory %s\n", conf->state_dir);
		if (db_created)
			printf("created database %s (schema version %d)\n",
			    shown, version);
		else
			printf("database %s is up to date (schema version "
			       "%d)\n",
			    shown, version);
	}
	r = 0;
out:
	buf_free(b);
	return r;
}

/*
 * Read the public half of HostKey, <path>: the first line that is not
 * blank or a '#' comment, parsed into *keyp.
 */
static int
ctl_hostkey_read(const char *path, struct pubkey **keyp)
{
	FILE *fp = NULL;
	char *line = NULL, *p, errbuf[256];
	size_t size = 0;
	int r = PORTHOLE_ERR_INTERNAL;

	*keyp = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		r = PORTHOLE_ERR_SYSTEM;
		if (errno == ENOENT)
			error("%s: no host key yet: start portholed once (it "
			      "generates HostKey)",
			    path);
		else
			error("%s: %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		if (getline(&line, &size, fp) == -1) {
			r = PORTHOLE_ERR_INVALID_FORMAT;
			if (ferror(fp))
				error("read %s: %s", path, strerror(errno));
			else
				error("%s: no public key in the file", path);
			goto out;
		}
		line[strcspn(line, "\r\n")] = '\0';
		p = line + strspn(line, " \t");
		if (*p != '\0' && *p != '#')
			break;
	}
	errbuf[0] = '\0';
	if ((r = pubkey_parse(p, keyp, errbuf, sizeof(errbuf))) != 0) {
		error("%s: invalid public key: %s", path, errbuf);
		goto out;
	}
	r = 0;
out:
	free(line);
	if (fp != NULL)
		fclose(fp);
	return r;
}

/*
 * hostkey: the known_hosts lines that let clients pin this server's host
 * key, one per PublicHost and SSH port. OpenSSH writes the host alone
 * for port 22 and "[host]:port" for any other port.
 */
int
ctl_hostkey(struct ctl *ctl, const struct ctl_args *args)
{
	struct conf *conf = ctl->conf;
	struct pubkey *key = NULL;
	struct buf *b = NULL;
	uint16_t *ports = NULL;
	char *path = NULL, *name = NULL, *line = NULL;
	size_t nports = 0, i, j;
	int r = PORTHOLE_ERR_INTERNAL;

	/* The distinct fixed ports, in the order configured. */
	ports = xcalloc(conf->nlisten + 1, sizeof(*ports));
	for (i = 0; i < conf->nlisten; i++) {
		if (conf->listen[i].port == 0)
			continue;
		for (j = 0; j < nports && ports[j] != conf->listen[i].port; j++)
			;
		if (j == nports)
			ports[nports++] = conf->listen[i].port;
	}
	if (nports == 0) {
		r = PORTHOLE_ERR_INVALID_ARGUMENT;
		error("the SSH port is not known: ListenAddress has port 0, "
		      "which portholed replaces with a random port at each "
		      "start; configure a fixed port");
		goto out;
	}
	xasprintf(&path, "%s.pub", conf->host_key);
	if ((r = ctl_hostkey_read(path, &key)) != 0)
		goto out;

	b = buf_new();
	for (i = 0; i < conf->npublic_hosts; i++) {
		for (j = 0; j < nports; j++) {
			if (ports[j] == 22)
				name = xstrdup(conf->public_hosts[i]);
			else
				xasprintf(&name, "[%s]:%u",
				    conf->public_hosts[i], ports[j]);
			xasprintf(&line, "%s %s %s", name, key->type,
			    key->blob);
			if (ctl->json) {
				buf_putc(b, '{');
				json_kv_str(b, 1, "host",
				    conf->public_hosts[i]);
				json_kv_int(b, 0, "port", ports[j]);
				json_kv_str(b, 0, "type", key->type);
				json_kv_str(b, 0, "key", key->blob);
				json_kv_str(b, 0, "known_hosts", line);
				buf_putc(b, '}');
				ctl_json_line(b);
			} else
				printf("%s\n", line);
			free(line);
			line = NULL;
			free(name);
			name = NULL;
		}
	}
	r = 0;
out:
	buf_free(b);
	pubkey_free(key);
	free(ports);
	free(path);
	free(name);
	free(line);
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

/*
 * Run as root with User set, act as that user, as portholed does once
 * it has bound its listeners: what we create in the state directory
 * (the token key, the database's WAL files) must stay readable by the
 * server. A missing state directory is made for the user first.
 */
static int
ctl_become_user(const struct conf *conf, int *dir_created)
{
	struct passwd *pw;
	struct stat sb;

	if (conf->user == NULL || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(conf->user)) == NULL) {
		error("User %s: no such user", conf->user);
		return -1;
	}
	if (stat(conf->state_dir, &sb) == -1 && errno == ENOENT) {
		if (mkdir(conf->state_dir, 0700) == -1 ||
		    chown(conf->state_dir, pw->pw_uid, pw->pw_gid) == -1) {
			error("StateDirectory %s: %s", conf->state_dir,
			    strerror(errno));
			return -1;
		}
		*dir_created = 1;
	}
	if (misc_become_user(pw) == -1) {
		error("User %s: cannot switch: %s", pw->pw_name,
		    strerror(errno));
		return -1;
	}
	return 0;
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
	const char *path = CONF_DEFAULT_PATH;
	char **opts = NULL;
	size_t nopts = 0;
	int ch, fflag = 0, help = 0, r;
	int ret = 1;

	memset(&ctl, 0, sizeof(ctl));
	ctl_args_init(&args);
	log_init("portholectl", LOG_LEVEL_ERROR, LOG_SINK_STDERR);
	/* The store holds credentials: what we create is ours alone. */
	umask(077);
	/* Ids and tokens come from libsodium's randombytes. */
	if (sodium_init() == -1) {
		error("cannot initialise libsodium");
		goto out;
	}

	/*
	 * Hidden: "portholectl --complete WORD...", for the bash completion,
	 * which passes the command words before the cursor. It reads no
	 * configuration and no store, so it works for anyone, anywhere.
	 */
	if (argc >= 2 && strcmp(argv[1], "--complete") == 0) {
		ret = ctl_complete(argv + 2, (size_t)argc - 2, stdout);
		goto out;
	}

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
			ctl_usage(stderr);
			ret = 2;
			goto out;
		default:
			if (optopt != 0)
				error("unknown option '-%c'", optopt);
			else /* a long option */
				error("unknown option '%.100s'",
				    argv[optind - 1]);
			ctl_usage(stderr);
			ret = 2;
			goto out;
		}
	}
	argc -= optind;
	argv += optind;

	if (help) {
		ctl_usage(stdout);
		ret = 0;
		goto out;
	}
	/* The command words; --json and -h may also come among them. */
	if (ctl_parse(argv, (size_t)argc, &cmd, &args, &ctl.json) != 0) {
		ctl_usage(stderr);
		ret = 2;
		goto out;
	}
	if (cmd == NULL) { /* help */
		ctl_usage(stdout);
		ret = 0;
		goto out;
	}
	if (ctl_check_text(&args) != 0)
		goto out;

	ctl.conf = conf_new();
	if (ctl_load_conf(ctl.conf, opts, nopts, path, fflag) != 0 ||
	    ctl_become_user(ctl.conf, &ctl.dir_created) != 0)
		goto out;
	if (cmd->open_store && ctl_open_store(&ctl, 0) != 0)
		goto out;
	r = cmd->run(&ctl, &args);
	/* A command that failed has said why already. */
	if ((fflush(stdout) == EOF || ferror(stdout)) && r == 0) {
		error("write to stdout: %s", strerror(errno));
		r = PORTHOLE_ERR_SYSTEM;
	}
	ret = r == 0 ? 0 : 1;
out:
	store_free(ctl.store);
	conf_free(ctl.conf);
	ctl_args_clear(&args);
	free(opts);
	return ret;
}
