/*
 * operate-node: the FastCGI pool for bk-sops' operate_node API. main only
 * reads the flags and the config, opens the socket and hands over to the
 * pool (or, on an inherited socket, to one worker).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mysql.h>

#include "config.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "store.h"
#include "store_sql.h"	/* SCHEMA_VERSION */
#include "version.h"
#include "worker.h"

#define DEFAULT_CONF "/etc/operate-node/operate-node.conf"

/* --check-db: every problem on its own line, then a verdict. */
static int
check_database(const struct config *cfg)
{
	struct store *s;
	int n;

	if (mysql_library_init(0, NULL, NULL) != 0)
		return 1;
	s = store_new(cfg);
	n = store_check(s, stdout);
	store_free(s);
	mysql_library_end();
	if (n == 0)
		printf("operate-node: database %s: every object the service "
		    "needs is in place\n", cfg->db_name);
	else if (n > 0)
		printf("operate-node: database %s: %d problem%s; run "
		    "sql/load.sh %s\n", cfg->db_name, n, n == 1 ? "" : "s",
		    cfg->db_name);
	return n == 0 ? 0 : 1;
}

/* Exit statuses, as usage() and operate-node(8) document them. */
#define EXIT_OK 0
#define EXIT_FAIL 1		/* a bad config, a failed start, a failed check */
#define EXIT_USAGE 2		/* a bad command line */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: operate-node [-t] [--check-db] [-c file]\n"
	    "  -c, --config file  config file (default " DEFAULT_CONF ")\n"
	    "  -t, --test         check the config file (and a jwt key file) and exit\n"
	    "  --check-db         -t, then connect and check that the database has\n"
	    "                     every table, column and procedure the service needs;\n"
	    "                     lists what is missing and exits 1 (sql/load.sh fixes it)\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      the version, and exit\n"
	    "Runs the master in the foreground; SIGTERM drains and stops, SIGHUP\n"
	    "reloads the config, SIGUSR1 reopens the log file. When fd 0 is a\n"
	    "listening socket (spawn-fcgi, mod_fcgid), serves it as one process.\n"
	    "Under systemd (Type=notify) it reports READY=1 once the socket is\n"
	    "bound and the workers are up. Exit status: 0 done, 1 a bad config or\n"
	    "a failed start or check, 2 bad usage.\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "check-db", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_CONF;
	struct config cfg;
	char err[1024];
	int test = 0, check_db = 0, ch, fd, single, status_fd = -1;

	while ((ch = getopt_long(argc, argv, "c:thV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 't': test = 1; break;
		case 'D': check_db = test = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V':
			printf("operate-node " OPN_VERSION " (schema %d)\n",
			    SCHEMA_VERSION);
			return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "operate-node: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	config_defaults(&cfg);
	if (config_load(&cfg, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "operate-node: %s\n", err);
		return EXIT_FAIL;
	}
	if (test) {
		printf("operate-node: %s: ok\n", path);
		return check_db ? check_database(&cfg) : EXIT_OK;
	}
	if (config_root_ok(&cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "operate-node: %s\n", err);
		return EXIT_FAIL;
	}
	if (log_open(cfg.log_file, cfg.log_level, cfg.log_format, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "operate-node: log_file %s\n", err);
		return 1;
	}
	/* Before any fork: connections are made in the workers only. */
	if (mysql_library_init(0, NULL, NULL) != 0) {
		fprintf(stderr, "operate-node: mysql_library_init failed\n");
		return 1;
	}
	log_msg(LOG_INFO, "operate-node " OPN_VERSION " (schema %d) starting, "
	    "config %s", SCHEMA_VERSION, path);
	single = listen_inherited();
	if (single) {
		log_msg(LOG_INFO, "fd 0 is a listening socket: serving it as "
		    "one process");
		fd = 0;
		if (cfg.status_listen[0])
			log_msg(LOG_WARN, "status_listen is not served by a "
			    "single process: no master to run it");
	} else if ((fd = listen_open(&cfg, err, sizeof(err))) == -1) {
		log_msg(LOG_ERROR, "%s", err);
		return 1;
	} else if (cfg.status_listen[0] &&
	    (status_fd = listen_open_status(&cfg, err, sizeof(err))) == -1) {
		log_msg(LOG_ERROR, "%s", err);
		return 1;
	}
	int rc;
	if (single) {
		/* One process: its own counters for /metrics and /status. */
		struct metrics *m = metrics_map();
		if (m)
			m->workers = 1;
		rc = worker_run(&cfg, 0, m, m ? 0 : -1, 0);
	} else
		rc = pool_run(&cfg, fd, status_fd);
	mysql_library_end();
	return rc;
}
