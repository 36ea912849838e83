/*
 * Settings: every default is set here, and every key is listed once in
 * keys[] with its type and bounds. conf/operate-node.conf documents them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "config.h"
#include "db.h"
#include "jwt.h"
#include "log.h"
#include "url.h"

static const char *const auth_modes[] = { "app", "gateway", "jwt", NULL };
static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const log_formats[] = { "text", "json", NULL };
static const char *const yes_no[] = { "no", "yes", NULL };
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
	{ "db_hosts", CFG_STR, S(db_hosts), 0, 0, NULL },
	{ "request_read_timeout", CFG_INT, N(request_read_timeout), 1, 300, NULL },
	{ "max_params_bytes", CFG_SIZE, N(max_params_bytes), 1024, 128 << 10, NULL },
	{ "listen_allowed_clients", CFG_STR, S(listen_allowed_clients), 0, 0, NULL },
	{ "peer_reading_max", CFG_INT, N(peer_reading_max), 0, 256, NULL },
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
	{ "db_failback_interval", CFG_INT, N(db_failback_interval), 0, 86400, NULL },
	{ "db_lock_wait_timeout", CFG_INT, N(db_lock_wait_timeout), -1, 3600, NULL },
	{ "db_statement_timeout", CFG_INT, N(db_statement_timeout), -1, 3600, NULL },
	{ "admin_db_user", CFG_STR, S(admin_db_user), 0, 0, NULL },
	{ "admin_db_password_file", CFG_STR, S(admin_db_password_file), 0, 0, NULL },
	{ "db_ssl", CFG_ENUM, N(db_ssl), 0, 0, yes_no },
	{ "db_ssl_ca", CFG_STR, S(db_ssl_ca), 0, 0, NULL },
	{ "db_ssl_cert", CFG_STR, S(db_ssl_cert), 0, 0, NULL },
	{ "db_ssl_key", CFG_STR, S(db_ssl_key), 0, 0, NULL },
	{ "db_ssl_verify", CFG_ENUM, N(db_ssl_verify), 0, 0, yes_no },
	{ "max_body_bytes", CFG_SIZE, N(max_body_bytes), 64, 64 << 20, NULL },
	{ "max_json_depth", CFG_INT, N(max_json_depth), 2, 512, NULL },
	{ "auth_mode", CFG_ENUM, N(auth_mode), 0, 0, auth_modes },
	{ "jwt_public_key_file", CFG_STR, S(jwt_public_key_file), 0, 0, NULL },
	{ "jwt_gateway_name", CFG_STR, S(jwt_gateway_name), 0, 0, NULL },
	{ "jwt_key_refresh", CFG_INT, N(jwt_key_refresh), 1, 3600, NULL },
	{ "jwt_issuer", CFG_STR, S(jwt_issuer), 0, 0, NULL },
	{ "jwt_audience", CFG_STR, S(jwt_audience), 0, 0, NULL },
	{ "jwt_max_lifetime", CFG_INT, N(jwt_max_lifetime), 0, 86400, NULL },
	{ "replay_retention_days", CFG_INT, N(replay_retention_days), 1, 3650, NULL },
	{ "broker_url", CFG_STR, S(broker_url), 0, 0, NULL },
	{ "broker_password_file", CFG_STR, S(broker_password_file), 0, 0, NULL },
	{ "broker_declare", CFG_ENUM, N(broker_declare), 0, 0, yes_no },
	{ "broker_ssl", CFG_ENUM, N(broker_ssl), 0, 0, yes_no },
	{ "broker_ssl_ca", CFG_STR, S(broker_ssl_ca), 0, 0, NULL },
	{ "broker_ssl_cert", CFG_STR, S(broker_ssl_cert), 0, 0, NULL },
	{ "broker_ssl_key", CFG_STR, S(broker_ssl_key), 0, 0, NULL },
	{ "broker_ssl_verify", CFG_ENUM, N(broker_ssl_verify), 0, 0, yes_no },
	{ "redis_url", CFG_STR, S(redis_url), 0, 0, NULL },
	{ "celery_timezone", CFG_STR, S(celery_timezone), 0, 0, NULL },
	{ "dispatch_batch", CFG_INT, N(dispatch_batch), 1, 1000, NULL },
	{ "dispatch_give_up", CFG_INT, N(dispatch_give_up), 1, 604800, NULL },
	{ "outbox_retention_days", CFG_INT, N(outbox_retention_days), 1, 3650, NULL },
	{ "log_level", CFG_ENUM, N(log_level), 0, 0, log_levels },
	{ "log_format", CFG_ENUM, N(log_format), 0, 0, log_formats },
	{ "log_file", CFG_STR, S(log_file), 0, 0, NULL },
	{ "slow_request_ms", CFG_INT, N(slow_request_ms), 0, 3600000, NULL },
	{ "allow_root", CFG_ENUM, N(allow_root), 0, 0, yes_no },
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
	/* nginx sends at most its header buffers (4 x 8k by default) and a
	 * few dozen of its own params; peeked whole before libfcgi reads
	 * them, so at most 128k (a unix peer's default send buffer). */
	c->max_params_bytes = 64 << 10;
	c->status_detail = STATUS_BASIC;
	c->slow_request_ms = 1000;
	snprintf(c->db_socket, sizeof(c->db_socket), "/run/mysqld/mysqld.sock");
	c->db_port = 3306;
	snprintf(c->db_user, sizeof(c->db_user), "operate_node");
	snprintf(c->db_name, sizeof(c->db_name), "bk_sops");
	c->db_connect_timeout = 3;
	c->db_read_timeout = 10;
	c->db_write_timeout = 10;
	c->db_failback_interval = 30;
	c->db_ssl = -1;
	c->db_ssl_verify = 1;
	c->broker_ssl = -1;
	c->broker_ssl_verify = 1;
	c->broker_scheme = "amqp";
	c->max_body_bytes = 1 << 20;	/* README "Security" */
	c->max_json_depth = 32;		/* nesting levels of a body */
	c->auth_mode = AUTH_APP;
	c->jwt_key_refresh = 60;
	/* The BlueKing API gateway's issuer (BK_APIGW_JWT_ISSUER, default
	 * "APIGW"), and the lifetime it signs: exp 1500 s after signing
	 * (bk-jwt caches a token 600 s and gives it 900 s more). */
	snprintf(c->jwt_issuer, sizeof(c->jwt_issuer), "APIGW");
	c->jwt_max_lifetime = 1800;
	c->replay_retention_days = 7;
	/* bk-sops: TIME_ZONE Asia/Shanghai with CELERY_ENABLE_UTC = False. */
	snprintf(c->celery_timezone, sizeof(c->celery_timezone), "Asia/Shanghai");
	c->dispatch_batch = 100;
	c->dispatch_give_up = 3600;
	c->outbox_retention_days = 3;
	c->log_level = LOG_INFO;
	c->log_format = LOG_TEXT;
}

/* A password file must not be readable by others: it is a secret. */
static int
read_secret(const char *key, const char *path, char *out, size_t outlen,
    char *err, size_t errlen)
{
	struct stat st;
	int rc = -1;
	ssize_t n;
	int fd;

	if (path[0] == '\0')
		return 0;
	/* O_NONBLOCK: a FIFO is refused below, not waited on (-t must not
	 * hang a deploy hook). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		snprintf(err, errlen, "%s %s: %s", key, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", key, path);
		goto out;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(err, errlen, "%s %s is %s by others (mode %04o): "
		    "chmod o-rw it", key, path, st.st_mode & S_IWOTH ?
		    "writable" : "readable", (unsigned)(st.st_mode & 07777));
		goto out;
	}
	n = read(fd, out, outlen - 1);
	if (n < 0 || n == (ssize_t)outlen - 1) {
		snprintf(err, errlen, "%s %s: %s", key, path,
		    n < 0 ? strerror(errno) : "too long");
		goto out;
	}
	out[n] = '\0';
	/* One line; the trailing newline an editor adds is not part of it. */
	out[strcspn(out, "\r\n")] = '\0';
	rc = 0;
out:
	close(fd);
	return rc;
}

/*
 * The service reads db_password_file. operate-node-admin, when the config
 * names its own account, reads only admin_db_password_file, which the
 * service never needs (it may be readable by the operators alone).
 */
static int
read_password(struct config *c, char *err, size_t errlen)
{
	if (c->admin_db_password_file[0] && !c->admin_db_user[0]) {
		snprintf(err, errlen, "%s: admin_db_password_file needs "
		    "admin_db_user", c->path);
		return -1;
	}
	if (c->for_admin && c->admin_db_user[0]) {
		snprintf(c->db_user, sizeof(c->db_user), "%s", c->admin_db_user);
		return read_secret("admin_db_password_file",
		    c->admin_db_password_file, c->db_password,
		    sizeof(c->db_password), err, errlen);
	}
	return read_secret("db_password_file", c->db_password_file,
	    c->db_password, sizeof(c->db_password), err, errlen);
}

/* url parsed as a scheme URL into *u; key names the setting in err. */
static int
url_ok(const char *key, const char *url, const char *scheme, struct url *u,
    char *err, size_t errlen)
{
	char why[160];	/* url_parse quotes at most 64 bytes of url */

	if (url_parse(url, scheme, u, why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "%s: %s", key, why);
	return -1;
}

/* The broker and redis URLs parse, and a password written into the config
 * itself is allowed only when the config is not readable by others. */
static int
check_dispatch(struct config *c, char *err, size_t errlen)
{
	struct url u;
	struct stat st;
	int secret = 0;

	if (c->broker_url[0]) {
		c->broker_scheme = strncmp(c->broker_url, "amqps:", 6) == 0 ?
		    "amqps" : "amqp";
		if (url_ok("broker_url", c->broker_url, c->broker_scheme, &u,
		    err, errlen) == -1)
			return -1;
		secret |= u.password[0] != '\0';
		snprintf(c->broker_password, sizeof(c->broker_password), "%s",
		    u.password);
	}
	if (c->redis_url[0]) {
		if (url_ok("redis_url", c->redis_url, "redis", &u, err,
		    errlen) == -1)
			return -1;
		secret |= u.password[0] != '\0';
	}
	/* A zone glibc does not know would silently be UTC. */
	char zone[CONF_PATH + 32];
	snprintf(zone, sizeof(zone), "/usr/share/zoneinfo/%s", c->celery_timezone);
	if (c->celery_timezone[0] == '\0' || strstr(c->celery_timezone, "..") ||
	    stat(zone, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: celery_timezone: no zone \"%s\" in "
		    "/usr/share/zoneinfo", c->path, c->celery_timezone);
		return -1;
	}
	if (secret && stat(c->path, &st) == 0 && (st.st_mode & S_IROTH)) {
		snprintf(err, errlen, "%s holds a broker or redis password and is "
		    "readable by others (mode %04o): chmod o-r it, or use "
		    "broker_password_file", c->path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return read_secret("broker_password_file", c->broker_password_file,
	    c->broker_password, sizeof(c->broker_password), err, errlen);
}

/* A TLS file names a readable regular file that others cannot write (a
 * CA anyone can replace is no check); a private key, like a password
 * file, must not be readable by others either. */
static int
tls_file_ok(const struct config *c, const char *key, const char *path,
    int secret, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (path[0] == '\0')
		return 0;
	/* O_NONBLOCK: a FIFO is refused below, not waited on. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "%s: %s %s: %s", c->path, key, path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s %s: not a regular file", c->path,
		    key, path);
		close(fd);
		return -1;
	}
	close(fd);
	if (st.st_mode & (S_IWOTH | (secret ? S_IROTH : 0))) {
		snprintf(err, errlen, "%s: %s %s is %s by others (mode %04o): "
		    "chmod o-%s it", c->path, key, path, st.st_mode & S_IWOTH ?
		    "writable" : "readable", (unsigned)(st.st_mode & 07777),
		    secret ? "rw" : "w");
		return -1;
	}
	return 0;
}

/*
 * One TLS key family (db_ssl*, broker_ssl*): *on is -1 when not written,
 * and becomes 1 when implied (a file named, or implied by the caller),
 * else 0. "no" with a file named or TLS implied is a contradiction.
 */
static int
check_tls(const struct config *c, const char *pfx, int *on, int implied,
    const char *ca, const char *cert, const char *key, char *err,
    size_t errlen)
{
	char k[3][32];
	int files = ca[0] || cert[0] || key[0];

	snprintf(k[0], sizeof(k[0]), "%s_ca", pfx);
	snprintf(k[1], sizeof(k[1]), "%s_cert", pfx);
	snprintf(k[2], sizeof(k[2]), "%s_key", pfx);
	if (*on == 0 && (files || implied)) {
		snprintf(err, errlen, "%s: %s = no, but %s: remove one", c->path,
		    pfx, files ? "a certificate file is named" :
		    "broker_url is amqps://");
		return -1;
	}
	if (*on == -1)
		*on = files || implied;
	if (!cert[0] != !key[0]) {
		snprintf(err, errlen, "%s: %s and %s go together: the client "
		    "certificate and its private key", c->path, k[1], k[2]);
		return -1;
	}
	if (tls_file_ok(c, k[0], ca, 0, err, errlen) == -1 ||
	    tls_file_ok(c, k[1], cert, 0, err, errlen) == -1 ||
	    tls_file_ok(c, k[2], key, 1, err, errlen) == -1)
		return -1;
	return 0;
}

static int
check_ssl(struct config *c, char *err, size_t errlen)
{
	if (check_tls(c, "db_ssl", &c->db_ssl, 0, c->db_ssl_ca,
	    c->db_ssl_cert, c->db_ssl_key, err, errlen) == -1)
		return -1;
	if (c->db_ssl && c->db_socket[0]) {
		snprintf(err, errlen, "%s: db_ssl needs db_host or db_hosts: "
		    "TLS is for TCP, and db_socket %s is a local socket",
		    c->path, c->db_socket);
		return -1;
	}
	return check_tls(c, "broker_ssl", &c->broker_ssl,
	    strcmp(c->broker_scheme, "amqps") == 0, c->broker_ssl_ca,
	    c->broker_ssl_cert, c->broker_ssl_key, err, errlen);
}
/* A unix socket's path must fit sockaddr_un's sun_path (108 bytes on
 * Linux, with its NUL), or bind() fails only at the start. */
#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static int
address_ok(const char *l)
{
	const char *colon = strrchr(l, ':');

	if (strncmp(l, "unix:/", 6) == 0)
		return strlen(l + 5) <= SUN_PATH_MAX;
	return colon && colon != l && colon[1] != '\0';
}

static int
check_listen(const struct config *c, char *err, size_t errlen)
{
	const char *l = c->listen, *s = c->status_listen;

	if (strcmp(l, "fd0") != 0 && !address_ok(l)) {
		snprintf(err, errlen, "%s: listen: \"%s\" is not unix:/path "
		    "(at most %zu bytes), host:port or fd0", c->path, l,
		    SUN_PATH_MAX);
		return -1;
	}
	if (*s && !address_ok(s)) {
		snprintf(err, errlen, "%s: status_listen: \"%s\" is not "
		    "unix:/path (at most %zu bytes) or host:port", c->path, s,
		    SUN_PATH_MAX);
		return -1;
	}
	if (*s && strcmp(s, l) == 0) {
		snprintf(err, errlen, "%s: status_listen must not be listen: "
		    "the status routes stay off the public socket", c->path);
		return -1;
	}
	return 0;
}

/*
 * jwt mode needs exactly one source for the gateway's public key. A key
 * file is read here, so that -t, a start and a reload all refuse a file
 * that does not hold one; the key in the database is read by the workers.
 */
static int
check_jwt(const struct config *c, char *err, size_t errlen)
{
	int file = c->jwt_public_key_file[0] != '\0';
	int gw = c->jwt_gateway_name[0] != '\0';
	struct jwt_key *k;
	char why[CONF_PATH + 128];

	if (c->auth_mode != AUTH_JWT)
		return 0;
	if (file == gw) {
		snprintf(err, errlen, "%s: auth_mode jwt needs one of "
		    "jwt_public_key_file and jwt_gateway_name", c->path);
		return -1;
	}
	if (!file)
		return 0;
	if ((k = jwt_key_from_file(c->jwt_public_key_file, why,
	    sizeof(why))) == NULL) {
		snprintf(err, errlen, "jwt_public_key_file %s", why);
		return -1;
	}
	jwt_key_free(k);
	return 0;
}

/*
 * db_hosts is the list the service uses; db_host and db_port are its
 * one-element form. A list of hosts means TCP: it wins over db_socket,
 * whose default would otherwise hide it.
 */
static int
check_db_hosts(struct config *c, char *err, size_t errlen)
{
	char why[256];
	int n;

	if (c->db_hosts[0] && c->db_host[0]) {
		snprintf(err, errlen, "%s: db_hosts and db_host are both set: "
		    "keep one", c->path);
		return -1;
	}
	if (c->db_host[0]) {
		int w = snprintf(c->db_hosts, sizeof(c->db_hosts),
		    strchr(c->db_host, ':') ? "[%s]:%lld" : "%s:%lld",
		    c->db_host, (long long)c->db_port);
		if (w < 0 || (size_t)w >= sizeof(c->db_hosts)) {
			snprintf(err, errlen, "%s: db_host is too long", c->path);
			return -1;
		}
		return 0;
	}
	n = db_hosts_parse(c->db_hosts, NULL, why, sizeof(why));
	if (n == -1) {
		snprintf(err, errlen, "%s: db_hosts: %s", c->path, why);
		return -1;
	}
	if (n > 0)
		c->db_socket[0] = '\0';
	return 0;
}

/*
 * The server must give up on a statement before the client does: a
 * statement the client abandoned at db_read_timeout would otherwise go on
 * waiting for its row lock, and commit after the reply said "nothing was
 * applied". Each session lowers innodb_lock_wait_timeout (whole seconds;
 * never above the server's own) and, on MariaDB (10.1.1 and later, the
 * executable comment), max_statement_time, which ends a whole CALL. MySQL
 * 8's max_execution_time covers only SELECT: there, and whenever a
 * statement still outlives the read timeout, the worker kills the
 * abandoned connection before it settles the outcome (store.c).
 */
static int
check_db_limits(struct config *c, char *err, size_t errlen)
{
	int64_t r = c->db_read_timeout, lock = c->db_lock_wait_timeout;
	int64_t stmt_ms = c->db_statement_timeout * 1000;
	char stmt[192] = "";

	if (lock >= r || c->db_statement_timeout >= r) {
		snprintf(err, errlen, "%s: db_lock_wait_timeout and "
		    "db_statement_timeout must be below db_read_timeout (%lld), "
		    "so that the server gives up first", c->path, (long long)r);
		return -1;
	}
	if (lock == 0)		/* half, leaving room for a retry; at least 1 */
		lock = r / 2 > 1 ? r / 2 : 1;
	if (stmt_ms == 0)	/* three quarters: a CALL ends before the read */
		stmt_ms = r * 750;
	if (stmt_ms > 0)
		snprintf(stmt, sizeof(stmt), " /*M!100101 , SESSION "
		    "max_statement_time = IF(@@GLOBAL.max_statement_time > 0, "
		    "LEAST(@@GLOBAL.max_statement_time, %lld.%03lld), %lld.%03lld) */",
		    (long long)(stmt_ms / 1000), (long long)(stmt_ms % 1000),
		    (long long)(stmt_ms / 1000), (long long)(stmt_ms % 1000));
	if (lock > 0)
		snprintf(c->db_session_sql, sizeof(c->db_session_sql),
		    "SET SESSION innodb_lock_wait_timeout = "
		    "LEAST(@@GLOBAL.innodb_lock_wait_timeout, %lld)%s",
		    (long long)lock, stmt);
	else if (stmt[0])
		snprintf(c->db_session_sql, sizeof(c->db_session_sql),
		    "SET @opn_session = 1%s", stmt);
	else
		c->db_session_sql[0] = '\0';
	return 0;
}

/* php-fpm's listen.allowed_clients: numeric IPv4 or IPv6 addresses,
 * separated by commas or spaces; empty allows any. */
static int
check_allowed(struct config *c, char *err, size_t errlen)
{
	char list[CONF_PATH], *save = NULL;

	c->nallowed = 0;
	snprintf(list, sizeof(list), "%s", c->listen_allowed_clients);
	for (char *t = strtok_r(list, ", \t", &save); t;
	    t = strtok_r(NULL, ", \t", &save)) {
		struct in_addr a4;
		struct in6_addr *a = &c->allowed[c->nallowed];
		if (c->nallowed == CONF_ALLOWED) {
			snprintf(err, errlen, "%s: listen_allowed_clients: more "
			    "than %d addresses", c->path, CONF_ALLOWED);
			return -1;
		}
		if (inet_pton(AF_INET, t, &a4) == 1) {
			memset(a, 0, sizeof(*a));
			a->s6_addr[10] = a->s6_addr[11] = 0xff;
			memcpy(&a->s6_addr[12], &a4, 4);
		} else if (inet_pton(AF_INET6, t, a) != 1) {
			snprintf(err, errlen, "%s: listen_allowed_clients: \"%.64s\" "
			    "is not an IPv4 or IPv6 address", c->path, t);
			return -1;
		}
		c->nallowed++;
	}
	return 0;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	snprintf(c->path, sizeof(c->path), "%s", path);
	if (cfg_load(path, keys, c, err, errlen) == -1)
		return -1;
	if (check_listen(c, err, errlen) == -1 || check_jwt(c, err, errlen) == -1 ||
	    check_db_hosts(c, err, errlen) == -1 ||
	    check_db_limits(c, err, errlen) == -1)
		return -1;
	if (check_dispatch(c, err, errlen) == -1 ||
	    check_ssl(c, err, errlen) == -1 ||
	    check_allowed(c, err, errlen) == -1)
		return -1;
	return read_password(c, err, errlen);
}

void
config_db_params(const struct config *c, struct db_params *p)
{
	memset(p, 0, sizeof(*p));
	/* check_db_hosts empties db_socket when a host list is given */
	p->socket = c->db_socket;
	p->hosts = c->db_socket[0] ? "" : c->db_hosts;
	p->failback_interval = (unsigned)c->db_failback_interval;
	p->user = c->db_user;
	p->password = c->db_password;
	p->name = c->db_name;
	p->connect_timeout = (unsigned)c->db_connect_timeout;
	p->read_timeout = (unsigned)c->db_read_timeout;
	p->write_timeout = (unsigned)c->db_write_timeout;
	/* The service's session: ids and messages are utf8mb4; the
	 * procedures set their own isolation, and READ COMMITTED keeps the
	 * service's other reads from taking gap locks. */
	p->ssl = c->db_ssl == 1;
	p->ssl_verify = c->db_ssl_verify;
	p->ssl_ca = c->db_ssl_ca;
	p->ssl_cert = c->db_ssl_cert;
	p->ssl_key = c->db_ssl_key;
	p->charset = "utf8mb4";
	p->init_command = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";
	p->session_sql = c->db_session_sql[0] ? c->db_session_sql : NULL;
}

int
config_root_ok(const struct config *c, char *err, size_t errlen)
{
	if (geteuid() != 0 || c->allow_root)
		return 0;
	snprintf(err, errlen, "%s: refusing to run the workers as root: run "
	    "as an unprivileged user (systemd's User=), or set allow_root = "
	    "yes", c->path);
	return -1;
}
