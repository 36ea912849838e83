/*
 * The service's settings: defaults, the key table for lib/cfg, and the
 * checks that span keys (password file permissions, listen syntax, the
 * jwt key source).
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <netinet/in.h>
#include <stdint.h>

#define CONF_STR 256
#define CONF_PATH 1024
#define CONF_PASSWORD 256
#define CONF_ALLOWED 32		/* addresses in listen_allowed_clients */

enum auth_mode { AUTH_APP, AUTH_GATEWAY, AUTH_JWT };
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
	int64_t max_params_bytes;	/* FastCGI params of one request */
	char listen_allowed_clients[CONF_PATH];	/* TCP peers; "" any */
	int64_t peer_reading_max;	/* per peer in the read phase; 0 auto */
	char status_listen[CONF_PATH];	/* /metrics, /status, /healthz; "" off */
	int status_detail;		/* full: /status shows request ids */

	char db_hosts[CONF_PATH];	/* "host:port, ..."; db_host:db_port if empty */
	char db_host[CONF_STR];
	int64_t db_port;
	char db_socket[CONF_PATH];
	char db_user[CONF_STR];
	char db_password_file[CONF_PATH];
	char db_name[CONF_STR];
	int64_t db_connect_timeout, db_read_timeout, db_write_timeout;
	int64_t db_failback_interval;	/* seconds, 0: never */
	/* Seconds the server gives a row lock wait and a statement; 0:
	 * derived from db_read_timeout, -1: the server's own setting. */
	int64_t db_lock_wait_timeout, db_statement_timeout;
	/* operate-node-admin's own account; empty: db_user's */
	char admin_db_user[CONF_STR];
	char admin_db_password_file[CONF_PATH];
	/* TLS to the database: -1 (not written): on when a file is named */
	int db_ssl;
	char db_ssl_ca[CONF_PATH], db_ssl_cert[CONF_PATH], db_ssl_key[CONF_PATH];
	int db_ssl_verify;		/* certificate chain and host name */

	int64_t max_body_bytes;
	int64_t max_json_depth;

	int auth_mode;
	char jwt_public_key_file[CONF_PATH];	/* jwt: the gateway's key, or */
	char jwt_gateway_name[CONF_STR];	/* its apigw_manager_context row */
	int64_t jwt_key_refresh;		/* seconds between key reloads */
	char jwt_issuer[CONF_STR];		/* "iss" must be this; "": any */
	char jwt_audience[CONF_STR];		/* "aud" must hold it; "": no aud */
	int64_t jwt_max_lifetime;		/* exp at most this far; 0: any */
	int64_t replay_retention_days;

	/* The outbox dispatcher (dispatch.c); off when broker_url is empty. */
	char broker_url[CONF_PATH];	/* amqp://user:pass@host:port/vhost */
	char broker_password_file[CONF_PATH];
	int broker_declare;
	int broker_ssl;			/* -1: on for amqps:// or a file named */
	char broker_ssl_ca[CONF_PATH], broker_ssl_cert[CONF_PATH];
	char broker_ssl_key[CONF_PATH];
	int broker_ssl_verify;
	char redis_url[CONF_PATH];	/* redis://[:pass@]host:port[/db] */
	char celery_timezone[CONF_STR];
	int64_t dispatch_batch;
	int64_t dispatch_give_up;	/* seconds a failing row is tried */
	int64_t outbox_retention_days;	/* dispatched rows are kept */

	int log_level;
	int log_format;
	char log_file[CONF_PATH];
	int64_t slow_request_ms;	/* a warning above this; 0: never */

	int allow_root;			/* yes: workers may run as root */

	/* Derived, not keys. */
	int nallowed;			/* listen_allowed_clients, parsed */
	struct in6_addr allowed[CONF_ALLOWED];	/* IPv4 as ::ffff:a.b.c.d */
	char db_password[CONF_PASSWORD];
	char broker_password[CONF_PASSWORD];	/* from the file, else the URL */
	const char *broker_scheme;	/* "amqps" (TLS's default port) or "amqp" */
	char db_session_sql[512];	/* the limits above, for each session */
	char path[CONF_PATH];
	int for_admin;		/* set before config_load by operate-node-admin */
};

void config_defaults(struct config *c);
/* Reads and checks the file, and the password file it names: for_admin,
 * that of admin_db_user when one is set (and db_user becomes it). */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/* -1 with a reason when the process runs as root and allow_root is no. */
int config_root_ok(const struct config *c, char *err, size_t errlen);

/* The connection parameters the config names (strings point into c). */
struct db_params;
void config_db_params(const struct config *c, struct db_params *p);

#endif
