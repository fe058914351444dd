/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "portholed.h"

#include "api.h"
#include "compat.h"
#include "conf.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "misc.h"
#include "mon.h"
#include "readahead.h"
#include "store.h"
#include "xmalloc.h"

#define HOSTKEY_LINE_MAX 8192

static void
usage(void)
{
	fprintf(stderr,
	    "usage: portholed [-tTV] [-v]... [-f config_file] "
	    "[-o keyword=value]...\n");
	exit(2);
}

struct conf *
portholed_load_conf(const char *path, int must_exist, char **overrides,
    size_t noverrides)
{
	struct conf *conf = conf_new();
	char errbuf[512];
	size_t i;

	for (i = 0; i < noverrides; i++) {
		if (conf_apply_line(conf, overrides[i], 1, errbuf,
		        sizeof(errbuf)) != 0) {
			error("-o %s: %s", overrides[i], errbuf);
			goto fail;
		}
	}
	if (conf_load_file(conf, path, must_exist, errbuf, sizeof(errbuf)) !=
	    0) {
		error("%s", errbuf);
		goto fail;
	}
	if (conf_finish(conf, errbuf, sizeof(errbuf)) != 0) {
		error("%s", errbuf);
		goto fail;
	}
	return conf;
fail:
	conf_free(conf);
	return NULL;
}

/* Create directory <path> (one level) with mode 0700 if it is missing. */
static int
make_state_dir(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			error("StateDirectory %s is not a directory", path);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT || mkdir(path, 0700) == -1) {
		error("StateDirectory %s: %s", path, strerror(errno));
		return -1;
	}
	logit("created state directory %s", path);
	return 0;
}

/*
 * Load the ed25519 host key from <path>, generating and saving it (with
 * a .pub beside it) on first start. Returns the key, or NULL.
 */
static ssh_key
hostkey_load(const char *path)
{
	ssh_key key = NULL;
	char *pubpath = NULL;
	mode_t old;
	int rc;

	if (access(path, F_OK) == 0) {
		if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) !=
		    SSH_OK) {
			error("HostKey %s: cannot load the key", path);
			return NULL;
		}
		return key;
	}
	if (errno != ENOENT) {
		error("HostKey %s: %s", path, strerror(errno));
		return NULL;
	}
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) {
		error("HostKey: cannot generate an ed25519 key");
		return NULL;
	}
	/* libssh creates the files with fopen(): keep them private. */
	old = umask(077);
	rc = ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path);
	if (rc == SSH_OK) {
		xasprintf(&pubpath, "%s.pub", path);
		umask(022);
		rc = ssh_pki_export_pubkey_file(key, pubpath);
	}
	umask(old);
	if (rc != SSH_OK) {
		error("HostKey %s: cannot write the new key", path);
		ssh_key_free(key);
		free(pubpath);
		return NULL;
	}
	logit("generated ed25519 host key %s", path);
	free(pubpath);
	return key;
}

/*
 * Each relayed connection holds a descriptor in its session process:
 * take the hard limit on open files as the soft one.
 */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			debug("setrlimit RLIMIT_NOFILE: %s", strerror(errno));
	}
}

/* Route libssh's own log lines through ours, at debug levels. */
static void
libssh_log_cb(int priority, const char *function, const char *buffer,
    void *userdata)
{
	if (priority <= SSH_LOG_WARN)
		debug("libssh: %s", buffer);
	else if (priority <= SSH_LOG_INFO)
		debug2("libssh: %s", buffer);
	else
		debug3("libssh: %s", buffer);
}

/*
 * Prepare the state directory and store for a new run: rows left live
 * by a previous run are marked ended.
 */
static int
state_init(struct conf *conf)
{
	struct store *store = NULL;
	char errbuf[256];
	char *hosts;
	int n = 0, m = 0, r;

	if (make_state_dir(conf->state_dir) != 0)
		return -1;
	if ((r = store_open(conf->database, &store, errbuf, sizeof(errbuf))) !=
	    0) {
		error("Database %s", errbuf); /* "TARGET: reason" */
		return -1;
	}
	/*
	 * A fleet's database: this node's own rows only. A SQLite file
	 * serves one server, whatever it was called before.
	 */
	hosts = mon_node_hosts(conf);
	if ((r = store_node_start(store, conf->node_name,
	         conf->region != NULL ? conf->region : "", hosts, misc_now_ms(),
	         &n)) == 0 &&
	    !db_target_is_pg(conf->database))
		r = store_session_end_all(store, NULL, misc_now_ms(), &m);
	free(hosts);
	if (r != 0)
		error_r(r, "Database: cannot end stale sessions");
	else if (n + m > 0)
		logit("marked %d session(s) of a previous run as ended", n + m);
	store_free(store);
	return r == 0 ? 0 : -1;
}

int
portholed_state(struct conf *conf, ssh_key *keyp)
{
	if (state_init(conf) != 0)
		return -1;
	if ((*keyp = hostkey_load(conf->host_key)) == NULL)
		return -1;
	return 0;
}

void
portholed_libssh_log(int level)
{
	ssh_set_log_callback(libssh_log_cb);
	ssh_set_log_level(level >= LOG_LEVEL_DEBUG3 ? SSH_LOG_PACKET
	        : level >= LOG_LEVEL_DEBUG2         ? SSH_LOG_PROTOCOL
	        : level >= LOG_LEVEL_DEBUG1         ? SSH_LOG_WARN
	                                            : SSH_LOG_NONE);
}

ssh_bind
portholed_bind(ssh_key key)
{
	ssh_bind bind;
	bool process_config = false;

	if ((bind = ssh_bind_new()) == NULL)
		fatal("ssh_bind_new failed");
	/* The bind owns the key from here on. */
	if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_IMPORT_KEY, key) !=
	    SSH_OK) {
		error("cannot use the host key");
		ssh_key_free(key);
		ssh_bind_free(bind);
		return NULL;
	}
	/* Never libssh's global configuration file: ours only. */
	ssh_bind_options_set(bind, SSH_BIND_OPTIONS_PROCESS_CONFIG,
	    &process_config);
	ssh_bind_options_set(bind, SSH_BIND_OPTIONS_BANNER,
	    "porthole_" PACKAGE_VERSION);
	return bind;
}

/* portholed -Z FD: the spawner (spawn.c), started by the monitor. */
static int
main_spawner(const char *arg)
{
	const char *errstr = NULL;
	int fd;

	fd = (int)strtonum(arg, 3, 1024, &errstr);
	if (errstr != NULL) {
		fprintf(stderr, "portholed: -Z is for portholed's own use\n");
		return 2;
	}
	log_init("portholed", LOG_LEVEL_INFO, LOG_SINK_STDERR);
	return spawn_main(fd);
}

/* portholed -A LISTEN_FD CONTROL_FD: the API process, started by the monitor. */
static int
main_api(const char *larg, const char *carg)
{
	const char *errstr = NULL;
	int lfd, ctl = -1;

	lfd = (int)strtonum(larg, 3, 1024, &errstr);
	if (errstr == NULL)
		ctl = (int)strtonum(carg, 3, 1024, &errstr);
	if (errstr != NULL || lfd == ctl) {
		fprintf(stderr, "portholed: -A is for portholed's own use\n");
		return 2;
	}
	log_init("portholed", LOG_LEVEL_INFO, LOG_SINK_STDERR);
	return api_main(lfd, ctl);
}

/* portholed -W FD: the webhook delivery process (webhook.c). */
static int
main_webhooks(const char *arg)
{
	const char *errstr = NULL;
	int fd;

	fd = (int)strtonum(arg, 3, 1024, &errstr);
	if (errstr != NULL) {
		fprintf(stderr, "portholed: -W is for portholed's own use\n");
		return 2;
	}
	return webhook_main(fd);
}

int
main(int argc, char **argv)
{
	struct conf *conf = NULL;
	ssh_key key = NULL;
	const char *path = CONF_DEFAULT_PATH;
	char **overrides = NULL;
	size_t noverrides = 0;
	int ch, test = 0, dump = 0, verbose = 0, must_exist = 0;
	int level, ret = 1;

	/* The store, its WAL files and the host key are private. */
	umask(077);
	if (argc == 3 && strcmp(argv[1], "-Z") == 0)
		return main_spawner(argv[2]);
	if (argc == 4 && strcmp(argv[1], "-A") == 0)
		return main_api(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "-W") == 0)
		return main_webhooks(argv[2]);
	log_init("portholed", LOG_LEVEL_INFO, LOG_SINK_STDERR);
	while ((ch = getopt(argc, argv, "f:o:tTvV")) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			must_exist = 1;
			break;
		case 'o':
			overrides = xreallocarray(overrides, noverrides + 1,
			    sizeof(*overrides));
			overrides[noverrides++] = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'T':
			dump = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("portholed %s (libssh %s, libsodium %s)\n",
			    PACKAGE_VERSION, ssh_version(0),
			    sodium_version_string());
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	if ((conf = portholed_load_conf(path, must_exist, overrides,
	         noverrides)) == NULL)
		goto out;
	level = conf->log_level + verbose;
	if (level > LOG_LEVEL_DEBUG3)
		level = LOG_LEVEL_DEBUG3;
	log_init("portholed", (enum log_level)level,
	    conf->syslog && !test && !dump ? LOG_SINK_SYSLOG : LOG_SINK_STDERR);
	if (dump) {
		conf_dump(conf, stdout);
		ret = 0;
		goto out;
	}
	if (test) {
		/* Like sshd -t: the host key must load if it exists. */
		if (access(conf->host_key, F_OK) == 0) {
			if (ssh_pki_import_privkey_file(conf->host_key, NULL,
			        NULL, NULL, &key) != SSH_OK) {
				error("HostKey %s: cannot load the key",
				    conf->host_key);
				goto out;
			}
			ssh_key_free(key);
			key = NULL;
		}
		ret = 0;
		goto out;
	}

	raise_nofile();
	if (sodium_init() < 0) {
		error("libsodium initialisation failed");
		goto out;
	}
	if (ssh_init() != SSH_OK) {
		error("libssh initialisation failed");
		goto out;
	}
	portholed_libssh_log(level);
	/* Each session checks it again (readahead_attach); say it once. */
	if (!readahead_fits(ssh_version(0)))
		logit("libssh %s: read-ahead off, not a release it was "
		      "written for",
		    ssh_version(0));
	ret = srv_run(&conf, path, must_exist, overrides, noverrides);
out:
	conf_free(conf);
	free(overrides);
	ssh_finalize();
	return ret;
}
