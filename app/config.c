/*
 * Settings: every default is set here, and every key is listed once in
 * keys[] with its type and bounds. conf/operate-node.conf documents them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "config.h"
#include "log.h"

static const char *const auth_modes[] = { "app", "gateway", NULL };
static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const log_formats[] = { "text", "json", NULL };
static const char *const status_details[] = { "basic", "full", NULL };

#define S(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define N(f) offsetof(struct config, f), 0

static const struct cfg_key keys[] = {
	{ "listen", CFG_STR, S(listen), 0, 0, NULL },
	{ "listen_mode", CFG_MODE, N(listen_mode), 0, 0, NULL },
	{ "listen_owner", CFG_STR, S(listen_owner), 0, 0, NULL },
	{ "listen_backlog", CFG_INT, N(listen_backlog), 1, 65535, NULL },
	{ "workers", CFG_INT, N(workers), 0, 256, NULL },
	{ "max_requests", CFG_INT, N(max_requests), 0, INT64_MAX, NULL },
	{ "shutdown_timeout", CFG_INT, N(shutdown_timeout), 1, 3600, NULL },
	{ "request_read_timeout", CFG_INT, N(request_read_timeout), 1, 300, NULL },
	{ "status_listen", CFG_STR, S(status_listen), 0, 0, NULL },
	{ "status_detail", CFG_ENUM, N(status_detail), 0, 0, status_details },
	{ "db_host", CFG_STR, S(db_host), 0, 0, NULL },
	{ "db_port", CFG_INT, N(db_port), 1, 65535, NULL },
	{ "db_socket", CFG_STR, S(db_socket), 0, 0, NULL },
	{ "db_user", CFG_STR, S(db_user), 0, 0, NULL },
	{ "db_password_file", CFG_STR, S(db_password_file), 0, 0, NULL },
	{ "db_name", CFG_STR, S(db_name), 0, 0, NULL },
	{ "db_connect_timeout", CFG_INT, N(db_connect_timeout), 1, 3600, NULL },
	{ "db_read_timeout", CFG_INT, N(db_read_timeout), 1, 3600, NULL },
	{ "db_write_timeout", CFG_INT, N(db_write_timeout), 1, 3600, NULL },
	{ "max_body_bytes", CFG_SIZE, N(max_body_bytes), 64, 64 << 20, NULL },
	{ "max_json_depth", CFG_INT, N(max_json_depth), 2, 512, NULL },
	{ "auth_mode", CFG_ENUM, N(auth_mode), 0, 0, auth_modes },
	{ "replay_retention_days", CFG_INT, N(replay_retention_days), 1, 3650, NULL },
	{ "log_level", CFG_ENUM, N(log_level), 0, 0, log_levels },
	{ "log_format", CFG_ENUM, N(log_format), 0, 0, log_formats },
	{ "log_file", CFG_STR, S(log_file), 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL },
};

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "unix:/run/operate-node/operate-node.sock");
	c->listen_mode = 0660;
	c->listen_backlog = 1024;
	c->workers = 0;
	c->max_requests = 100000;
	c->shutdown_timeout = 30;
	/* Well under nginx's fastcgi_read_timeout (60s in conf/nginx): a
	 * web server sends a whole request at once. */
	c->request_read_timeout = 5;
	c->status_detail = STATUS_BASIC;
	snprintf(c->db_socket, sizeof(c->db_socket), "/run/mysqld/mysqld.sock");
	c->db_port = 3306;
	snprintf(c->db_user, sizeof(c->db_user), "operate_node");
	snprintf(c->db_name, sizeof(c->db_name), "operate_node");
	c->db_connect_timeout = 3;
	c->db_read_timeout = 10;
	c->db_write_timeout = 10;
	c->max_body_bytes = 1 << 20;	/* operate-node-api.md §1 */
	c->max_json_depth = 32;		/* operate-node-api.md §2 */
	c->auth_mode = AUTH_APP;
	c->replay_retention_days = 7;
	c->log_level = LOG_INFO;
	c->log_format = LOG_TEXT;
}

/* The password file must not be readable by others: it is a secret. */
static int
read_password(struct config *c, char *err, size_t errlen)
{
	struct stat st;
	int rc = -1;
	ssize_t n;
	int fd;

	if (c->db_password_file[0] == '\0')
		return 0;
	fd = open(c->db_password_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		snprintf(err, errlen, "db_password_file %s: %s",
		    c->db_password_file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "db_password_file %s: not a regular file",
		    c->db_password_file);
		goto out;
	}
	if (st.st_mode & S_IROTH) {
		snprintf(err, errlen, "db_password_file %s is readable by "
		    "others (mode %04o): chmod o-r it", c->db_password_file,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	n = read(fd, c->db_password, sizeof(c->db_password) - 1);
	if (n < 0 || n == (ssize_t)sizeof(c->db_password) - 1) {
		snprintf(err, errlen, "db_password_file %s: %s",
		    c->db_password_file, n < 0 ? strerror(errno) : "too long");
		goto out;
	}
	c->db_password[n] = '\0';
	/* One line; the trailing newline an editor adds is not part of it. */
	c->db_password[strcspn(c->db_password, "\r\n")] = '\0';
	rc = 0;
out:
	close(fd);
	return rc;
}

static int
address_ok(const char *l)
{
	const char *colon = strrchr(l, ':');

	if (strncmp(l, "unix:/", 6) == 0)
		return 1;
	return colon && colon != l && colon[1] != '\0';
}

static int
check_listen(const struct config *c, char *err, size_t errlen)
{
	const char *l = c->listen, *s = c->status_listen;

	if (strcmp(l, "fd0") != 0 && !address_ok(l)) {
		snprintf(err, errlen, "%s: listen: \"%s\" is not unix:/path, "
		    "host:port or fd0", c->path, l);
		return -1;
	}
	if (*s && !address_ok(s)) {
		snprintf(err, errlen, "%s: status_listen: \"%s\" is not "
		    "unix:/path or host:port", c->path, s);
		return -1;
	}
	if (*s && strcmp(s, l) == 0) {
		snprintf(err, errlen, "%s: status_listen must not be listen: "
		    "the status routes stay off the public socket", c->path);
		return -1;
	}
	return 0;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	snprintf(c->path, sizeof(c->path), "%s", path);
	if (cfg_load(path, keys, c, err, errlen) == -1)
		return -1;
	if (check_listen(c, err, errlen) == -1)
		return -1;
	return read_password(c, err, errlen);
}
