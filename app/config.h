/*
 * The service's settings: defaults, the key table for lib/cfg, and the
 * checks that span keys (password file permissions, listen syntax).
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdint.h>

#define CONF_STR 256
#define CONF_PATH 1024
#define CONF_PASSWORD 256

enum auth_mode { AUTH_APP, AUTH_GATEWAY };
enum status_detail { STATUS_BASIC, STATUS_FULL };

struct config {
	char listen[CONF_PATH];		/* unix:/path, 127.0.0.1:port, fd0 */
	int listen_mode;
	char listen_owner[CONF_STR];	/* user[:group], empty: unchanged */
	int64_t listen_backlog;
	int64_t workers;		/* 0: the number of cores */
	int64_t max_requests;		/* 0: never recycle */
	int64_t shutdown_timeout;	/* seconds */
	int64_t request_read_timeout;	/* seconds for header, params, body */
	char status_listen[CONF_PATH];	/* /metrics, /status, /healthz; "" off */
	int status_detail;		/* full: /status shows request ids */

	char db_host[CONF_STR];
	int64_t db_port;
	char db_socket[CONF_PATH];
	char db_user[CONF_STR];
	char db_password_file[CONF_PATH];
	char db_name[CONF_STR];
	int64_t db_connect_timeout, db_read_timeout, db_write_timeout;

	int64_t max_body_bytes;
	int64_t max_json_depth;

	int auth_mode;
	int64_t replay_retention_days;

	int log_level;
	int log_format;
	char log_file[CONF_PATH];

	/* Derived, not keys. */
	char db_password[CONF_PASSWORD];
	char path[CONF_PATH];
};

void config_defaults(struct config *c);
/* Reads and checks the file, and the password file it names. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

#endif
