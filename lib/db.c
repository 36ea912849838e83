/*
 * The MySQL C API behind a small handle: connect with timeouts and session
 * settings to the first usable host of a list, prepare a fixed list of
 * statements, run one with bound values.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "clock.h"
#include "db.h"
#include "num.h"
#include "xmalloc.h"

#define DB_COLS_MAX 16
#define DB_ERR_LEN 1024
#define DB_SHOW_LEN 64
/* wsrep_local_state of a node that is part of the primary component and
 * has applied everything: "Synced" (Galera's gcs node states). */
#define WSREP_SYNCED "4"
/* Two looks at a server's start (now less its Uptime, whole seconds) that
 * differ by more than this mean it restarted in between. */
#define BOOT_SLACK_MS 1500
#define END_POLL_MS 20		/* db_end_lost: how often it looks */

struct db {
	const struct db_params *p;
	struct db_host hosts[DB_HOSTS_MAX];
	int nhosts;		/* -1: the list did not parse (errmsg says why) */
	int cur;		/* index of the connected host, -1: none or socket */
	int next;		/* where the next db_connect starts */
	time_t next_failback;	/* CLOCK_MONOTONIC seconds */
	char where[DB_HOST_LEN + 8];
	MYSQL *my;
	unsigned long thread_id;	/* of my, on its server */
	int64_t boot_ms;		/* the server's start, monotonic ms */
	/* The connection db_lost() last dropped, for db_end_lost. */
	int lost_valid, lost_host;	/* lost_host -1: the socket */
	unsigned long lost_id;
	int64_t lost_boot_ms;
	const char *sql[DB_STMT_MAX];
	MYSQL_STMT *stmt[DB_STMT_MAX];
	int nstmt;
	unsigned err;
	char errmsg[DB_ERR_LEN];
	char hosts_err[DB_ERR_LEN];
	uint64_t busy_us;	/* time spent in round trips (db_busy_us) */
};

int
db_hosts_parse(const char *list, struct db_host *out, char *err,
    size_t errlen)
{
	const char *s = list ? list : "";
	int n = 0;

	for (;;) {
		char entry[DB_HOST_LEN], nerr[64], *port, *name = entry;
		int64_t v;
		size_t len;

		s += strspn(s, " \t");
		len = strcspn(s, ",");
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == 0 && *s == '\0' && n == 0)
			return 0;	/* an empty list */
		if (len == 0 || len >= sizeof(entry)) {
			snprintf(err, errlen, "entry %d is %s", n + 1,
			    len ? "too long" : "empty");
			return -1;
		}
		if (n == DB_HOSTS_MAX) {
			snprintf(err, errlen, "more than %d hosts", DB_HOSTS_MAX);
			return -1;
		}
		memcpy(entry, s, len);
		entry[len] = '\0';
		if (entry[0] == '[') {	/* [IPv6]:port */
			char *close = strchr(entry, ']');
			port = close && close[1] == ':' ? close + 1 : NULL;
			if (close)
				*close = '\0';
			name = entry + 1;
		} else
			port = strrchr(entry, ':');
		if (port == NULL || port == name || strchr(name, ' ') ||
		    (entry[0] != '[' && strchr(name, ':') != port)) {
			snprintf(err, errlen, "entry %d \"%s\" is not host:port",
			    n + 1, entry);
			return -1;
		}
		*port++ = '\0';
		if (num_parse_i64(port, strlen(port), 1, 65535, &v, nerr,
		    sizeof(nerr)) == -1) {
			snprintf(err, errlen, "entry %d: port \"%s\" %s", n + 1,
			    port, nerr);
			return -1;
		}
		if (out) {
			snprintf(out[n].name, sizeof(out[n].name), "%s", name);
			out[n].port = (unsigned)v;
		}
		n++;
		s += strcspn(s, ",");
		if (*s == '\0')
			return n;
		s++;
	}
}

struct db *
db_new(const struct db_params *p)
{
	struct db *db = xmalloc(sizeof(*db));
	memset(db, 0, sizeof(*db));
	db->p = p;
	db->cur = -1;
	db->nhosts = db_hosts_parse(p->hosts, db->hosts, db->hosts_err,
	    sizeof(db->hosts_err));
	return db;
}

int
db_add_stmt(struct db *db, const char *sql)
{
	if (db->nstmt == DB_STMT_MAX)
		abort();	/* a programming error, caught by any test */
	db->sql[db->nstmt] = sql;
	return db->nstmt++;
}

static void
set_err(struct db *db, unsigned no, const char *msg)
{
	db->err = no;
	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg);
}

static void
clear_err(struct db *db)
{
	db->err = 0;
	db->errmsg[0] = '\0';
}

static void
stmt_err(struct db *db, MYSQL_STMT *st)
{
	set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
}

static void
disconnect(struct db *db)
{
	for (int i = 0; i < db->nstmt; i++)
		if (db->stmt[i]) {
			mysql_stmt_close(db->stmt[i]);
			db->stmt[i] = NULL;
		}
	if (db->my) {
		mysql_close(db->my);
		db->my = NULL;
	}
	db->where[0] = '\0';
}

/* The connection is gone: the next db_connect starts with the next host. */
static void
drop(struct db *db)
{
	if (db->my) {
		db->lost_valid = 1;
		db->lost_host = db->cur;
		db->lost_id = db->thread_id;
		db->lost_boot_ms = db->boot_ms;
	}
	if (db->cur >= 0)
		db->next = (db->cur + 1) % db->nhosts;
	disconnect(db);
	db->cur = -1;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	disconnect(db);
	free(db);
}

int
db_connected(const struct db *db)
{
	return db->my != NULL;
}

const char *
db_host(const struct db *db)
{
	return db->where;
}

struct show_var {
	const char *name;
	char value[DB_SHOW_LEN];
};

/* Runs a SHOW that returns (name, value) rows and picks out vars. */
static int
show(struct db *db, MYSQL *my, const char *sql, struct show_var *vars, int n)
{
	MYSQL_RES *r;
	MYSQL_ROW row;

	if (mysql_query(my, sql) != 0 || (r = mysql_store_result(my)) == NULL) {
		set_err(db, mysql_errno(my), mysql_error(my));
		return -1;
	}
	while (mysql_num_fields(r) == 2 && (row = mysql_fetch_row(r)) != NULL)
		for (int i = 0; i < n; i++)
			if (row[0] && row[1] && strcasecmp(row[0], vars[i].name) == 0)
				snprintf(vars[i].value, sizeof(vars[i].value),
				    "%s", row[1]);
	mysql_free_result(r);
	return 0;
}

/*
 * A Galera node takes writes only when it is in the primary component and
 * synced: not joining, not a donor, not cut off. A server without wsrep
 * (MySQL, or MariaDB with wsrep_on OFF) is always fine.
 */
static int
check_node(struct db *db, MYSQL *my)
{
	struct show_var on[] = { { "wsrep_on", "" } };
	struct show_var st[] = { { "wsrep_ready", "" },
	    { "wsrep_local_state", "" } };
	char msg[256];

	if (show(db, my, "SHOW GLOBAL VARIABLES LIKE 'wsrep\\_on'", on, 1) == -1)
		return -1;
	if (strcasecmp(on[0].value, "ON") != 0)
		return 0;
	if (show(db, my, "SHOW GLOBAL STATUS WHERE Variable_name IN "
	    "('wsrep_ready', 'wsrep_local_state')", st, 2) == -1)
		return -1;
	if (strcasecmp(st[0].value, "ON") == 0 &&
	    strcmp(st[1].value, WSREP_SYNCED) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "not a synced Galera node (wsrep_ready %s, "
	    "wsrep_local_state %s)", st[0].value[0] ? st[0].value : "?",
	    st[1].value[0] ? st[1].value : "?");
	set_err(db, ER_UNKNOWN_COM_ERROR, msg);	/* what the node says itself */
	return -1;
}

/* One connection to host h (NULL: the socket or the library's default),
 * checked to be usable. */
static MYSQL *
open_host(struct db *db, const struct db_host *h, int check)
{
	const struct db_params *p = db->p;
	unsigned ct = p->connect_timeout, rt = p->read_timeout,
	    wt = p->write_timeout;
	const char *sock = NULL;
	MYSQL *my;

	my = mysql_init(NULL);
	if (my == NULL) {
		set_err(db, CR_OUT_OF_MEMORY, "mysql_init failed");
		return NULL;
	}
	mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &rt);
	mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &wt);
	if (p->charset)
		mysql_options(my, MYSQL_SET_CHARSET_NAME, p->charset);
	if (p->init_command)
		mysql_options(my, MYSQL_INIT_COMMAND, p->init_command);
	if (p->ssl) {
		my_bool on = 1, verify = p->ssl_verify ? 1 : 0;
		mysql_optionsv(my, MYSQL_OPT_SSL_ENFORCE, &on);
		/* Connector/C checks the chain whenever it has a CA: without
		 * verification it gets none. */
		if (p->ssl_verify && p->ssl_ca && *p->ssl_ca)
			mysql_optionsv(my, MYSQL_OPT_SSL_CA, p->ssl_ca);
		if (p->ssl_cert && *p->ssl_cert)
			mysql_optionsv(my, MYSQL_OPT_SSL_CERT, p->ssl_cert);
		if (p->ssl_key && *p->ssl_key)
			mysql_optionsv(my, MYSQL_OPT_SSL_KEY, p->ssl_key);
		mysql_optionsv(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
	}
	if (p->session_sql)	/* Connector/C runs each in turn */
		mysql_options(my, MYSQL_INIT_COMMAND, p->session_sql);
	/* The socket wins when both are set, as the sample config says;
	 * Connector/C itself would use TCP to the host. */
	if (h == NULL && p->socket && *p->socket)
		sock = p->socket;
	if (mysql_real_connect(my, h ? h->name : NULL, p->user, p->password,
	    p->name, h ? h->port : 0, sock, 0) == NULL) {
		set_err(db, mysql_errno(my), mysql_error(my));
		goto fail;
	}
	if (check && check_node(db, my) == -1)
		goto fail;
	return my;
fail:
	mysql_close(my);
	return NULL;
}

static void
set_where(struct db *db, const struct db_host *h)
{
	if (h == NULL)
		snprintf(db->where, sizeof(db->where), "%s",
		    db->p->socket && *db->p->socket ? db->p->socket : "default");
	else
		snprintf(db->where, sizeof(db->where),
		    strchr(h->name, ':') ? "[%s]:%u" : "%s:%u", h->name, h->port);
}

/* When the server behind my started, in monotonic ms (its Uptime taken
 * from now): two connections with the same value are to one run of the
 * server, whose thread ids are never reused. -1 with the error set. */
static int64_t
server_boot(struct db *db, MYSQL *my)
{
	struct show_var up[] = { { "Uptime", "" } };
	struct timespec now;
	int64_t v;
	char nerr[64];

	if (show(db, my, "SHOW GLOBAL STATUS LIKE 'Uptime'", up, 1) == -1)
		return -1;
	clock_now(&now);
	if (num_parse_i64(up[0].value, strlen(up[0].value), 0, INT64_MAX / 2000,
	    &v, nerr, sizeof(nerr)) == -1) {
		set_err(db, CR_UNKNOWN_ERROR, "the server shows no Uptime");
		return -1;
	}
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - v * 1000;
}

/* A new connection: what db_end_lost needs to find its thread later. */
static int
note_session(struct db *db)
{
	db->thread_id = mysql_thread_id(db->my);
	db->lost_valid = 0;
	return (db->boot_ms = server_boot(db, db->my)) == -1 ? -1 : 0;
}

static int
prepare(struct db *db, int i)
{
	MYSQL_STMT *st = mysql_stmt_init(db->my);

	if (st == NULL) {
		set_err(db, mysql_errno(db->my), mysql_error(db->my));
		return -1;
	}
	if (mysql_stmt_prepare(st, db->sql[i], strlen(db->sql[i])) != 0) {
		stmt_err(db, st);
		mysql_stmt_close(st);
		return -1;
	}
	db->stmt[i] = st;
	return 0;
}

/* With lazy_prepare, a statement that does not prepare (a missing table
 * or procedure) leaves the connection up: db_exec tries it again and
 * reports the server's error, so that a schema problem is not taken for
 * an outage, and heals once the schema is fixed. */
static int
prepare_all(struct db *db)
{
	for (int i = 0; i < db->nstmt; i++)
		if (prepare(db, i) == -1 && (db_lost(db) || !db->p->lazy_prepare))
			return -1;
	clear_err(db);
	return 0;
}

static int
timed_connect(struct db *db)
{
	const struct db_params *p = db->p;
	char why[DB_ERR_LEN] = "";
	size_t len = 0;
	int start = db->next;

	disconnect(db);
	db->cur = -1;
	if (db->nhosts == -1) {
		set_err(db, CR_UNKNOWN_HOST, db->hosts_err);
		return -1;
	}
	if ((p->socket && *p->socket) || db->nhosts == 0) {
		if ((db->my = open_host(db, NULL, 1)) == NULL)
			return -1;
		set_where(db, NULL);
	}
	/* Round the list once, from where the last connection was lost. */
	for (int k = 0; db->my == NULL && k < db->nhosts; k++) {
		int h = (start + k) % db->nhosts;
		if ((db->my = open_host(db, &db->hosts[h], 1)) != NULL) {
			db->cur = h;
			set_where(db, &db->hosts[h]);
			break;
		}
		set_where(db, &db->hosts[h]);
		if (len < sizeof(why))
			len += (size_t)snprintf(why + len, sizeof(why) - len,
			    "%s%s: %s", k ? "; " : "", db->where, db->errmsg);
	}
	if (db->my == NULL) {
		db->next = 0;	/* all down: the next round in list order */
		db->where[0] = '\0';
		set_err(db, db->err, why);
		return -1;
	}
	db->next = db->cur >= 0 ? db->cur : 0;
	db->next_failback = clock_sec() + (time_t)p->failback_interval;
	if (note_session(db) == -1 || prepare_all(db) == -1) {
		drop(db);
		return -1;
	}
	return 0;
}

static int
timed_failback(struct db *db)
{
	MYSQL *my = NULL;
	int h;

	if (db->my == NULL || db->cur <= 0 || db->p->failback_interval == 0 ||
	    clock_sec() < db->next_failback)
		return 0;
	db->next_failback = clock_sec() + (time_t)db->p->failback_interval;
	for (h = 0; h < db->cur; h++)
		if ((my = open_host(db, &db->hosts[h], 1)) != NULL)
			break;
	clear_err(db);
	if (my == NULL)
		return 0;
	disconnect(db);
	db->my = my;
	db->cur = db->next = h;
	set_where(db, &db->hosts[h]);
	if (note_session(db) == -1 || prepare_all(db) == -1) {
		drop(db);
		return -1;
	}
	return 1;
}

static void
bind_params(MYSQL_BIND *b, const struct db_val *v, int n, unsigned long *lens)
{
	memset(b, 0, sizeof(*b) * (size_t)n);
	for (int i = 0; i < n; i++) {
		switch (v[i].type) {
		case DB_NULL:
			b[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		case DB_INT:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)&v[i].i;
			break;
		case DB_STR:
			if (v[i].str == NULL) {
				b[i].buffer_type = MYSQL_TYPE_NULL;
				break;
			}
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = v[i].str;
			lens[i] = v[i].len;
			b[i].length = &lens[i];
			b[i].buffer_length = v[i].len;
			break;
		}
	}
}

struct row_bind {
	MYSQL_BIND b[DB_COLS_MAX];
	unsigned long lens[DB_COLS_MAX];
	my_bool nulls[DB_COLS_MAX], errs[DB_COLS_MAX];
};

static int
bind_cols(struct db *db, MYSQL_STMT *st, struct row_bind *rb,
    struct db_val *cols, int ncols)
{
	MYSQL_BIND *b = rb->b;

	if (ncols > DB_COLS_MAX || mysql_stmt_field_count(st) != (unsigned)ncols) {
		set_err(db, CR_UNKNOWN_ERROR, "result has an unexpected shape");
		return -1;
	}
	memset(b, 0, sizeof(rb->b));
	for (int i = 0; i < ncols; i++) {
		if (cols[i].type == DB_INT) {
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &cols[i].i;
		} else {
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = cols[i].str;
			b[i].buffer_length = cols[i].cap ? cols[i].cap - 1 : 0;
		}
		b[i].length = &rb->lens[i];
		b[i].is_null = &rb->nulls[i];
		b[i].error = &rb->errs[i];
	}
	if (mysql_stmt_bind_result(st, b) != 0) {
		stmt_err(db, st);
		return -1;
	}
	return 0;
}

/* The next row into cols: 1, 0 at the end, or -1 with the error set. */
static int
fetch(struct db *db, MYSQL_STMT *st, struct row_bind *rb, struct db_val *cols,
    int ncols)
{
	int r = mysql_stmt_fetch(st);

	if (r == MYSQL_NO_DATA)
		return 0;
	if (r == 1) {
		stmt_err(db, st);
		return -1;
	}
	if (r == MYSQL_DATA_TRUNCATED) {
		set_err(db, CR_UNKNOWN_ERROR, "a result column is too long");
		return -1;
	}
	for (int i = 0; i < ncols; i++) {
		cols[i].is_null = rb->nulls[i];
		cols[i].len = rb->lens[i];
		if (cols[i].type == DB_STR && cols[i].cap)
			cols[i].str[rb->nulls[i] ? 0 : rb->lens[i]] = '\0';
	}
	return 1;
}

/* Binds the parameters and runs statement i, preparing it first if it
 * did not prepare at connect (lazy_prepare). Returns the statement, or
 * NULL with the error set. */
static MYSQL_STMT *
run(struct db *db, int i, const struct db_val *params, int nparams)
{
	MYSQL_BIND b[DB_COLS_MAX];
	unsigned long lens[DB_COLS_MAX];
	MYSQL_STMT *st;

	if (db->my == NULL) {
		set_err(db, CR_SERVER_GONE_ERROR, "not connected");
		return NULL;
	}
	if (db->stmt[i] == NULL && prepare(db, i) == -1)
		return NULL;
	st = db->stmt[i];
	if (nparams > DB_COLS_MAX ||
	    mysql_stmt_param_count(st) != (unsigned long)nparams) {
		set_err(db, CR_UNKNOWN_ERROR, "parameter count mismatch");
		return NULL;
	}
	bind_params(b, params, nparams, lens);
	if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0) {
		stmt_err(db, st);
		return NULL;
	}
	return st;
}

static int
timed_exec_rows(struct db *db, int i, const struct db_val *params, int nparams,
    struct db_val *cols, int ncols,
    int (*row)(void *arg, const struct db_val *cols), void *arg)
{
	struct row_bind rb;
	MYSQL_STMT *st;
	int rc = -1, r;

	if ((st = run(db, i, params, nparams)) == NULL)
		goto out;
	if (bind_cols(db, st, &rb, cols, ncols) == -1)
		goto out;
	while ((r = fetch(db, st, &rb, cols, ncols)) == 1)
		if (row(arg, cols) == -1)
			goto out;
	if (r == -1)
		goto out;
	rc = 0;
out:
	if (st)
		mysql_stmt_free_result(st);
	if (rc == -1 && db_lost(db))
		drop(db);
	return rc;
}

/* Fetches the first row into cols, then drains the rest. */
static int
fetch_row(struct db *db, MYSQL_STMT *st, struct db_val *cols, int ncols,
    int *found)
{
	struct row_bind rb;
	int rc = -1, r;

	if (bind_cols(db, st, &rb, cols, ncols) == -1)
		goto out;
	if ((r = fetch(db, st, &rb, cols, ncols)) == -1)
		goto out;
	*found = r;
	rc = 0;
out:
	mysql_stmt_free_result(st);
	return rc;
}

struct db_val
db_str(const char *s)
{
	return (struct db_val){ .type = DB_STR, .str = (char *)s,
	    .len = s ? strlen(s) : 0 };
}

struct db_val
db_int(int64_t i)
{
	return (struct db_val){ .type = DB_INT, .i = i };
}

static int
timed_exec(struct db *db, int i, const struct db_val *params, int nparams,
    struct db_val *cols, int ncols, int *found)
{
	MYSQL_STMT *st;

	if ((st = run(db, i, params, nparams)) == NULL)
		goto fail;
	if (ncols > 0 && fetch_row(db, st, cols, ncols, found) == -1)
		goto fail;
	/* Consume every other result (a CALL ends with a status result), or
	 * the connection is out of sync. */
	for (;;) {
		if (mysql_stmt_field_count(st) > 0)
			mysql_stmt_free_result(st);
		int r = mysql_stmt_next_result(st);
		if (r == -1)
			break;
		if (r > 0) {
			stmt_err(db, st);
			goto fail;
		}
	}
	return 0;
fail:
	/* A dead connection is dropped here; the next db_connect starts over
	 * (never MYSQL_OPT_RECONNECT: it leaves prepared statements broken). */
	if (db_lost(db))
		drop(db);
	return -1;
}

/* 1 while thread id runs on my's server, 0 when it is gone, -1 error. */
static int
thread_alive(struct db *db, MYSQL *my, unsigned long id)
{
	char sql[128];
	MYSQL_RES *r;
	MYSQL_ROW row;
	int alive;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM "
	    "information_schema.PROCESSLIST WHERE ID = %lu", id);
	if (mysql_query(my, sql) != 0 || (r = mysql_store_result(my)) == NULL) {
		set_err(db, mysql_errno(my), mysql_error(my));
		return -1;
	}
	row = mysql_fetch_row(r);
	alive = row && row[0] && strcmp(row[0], "0") != 0;
	mysql_free_result(r);
	return alive;
}

int
db_end_lost(struct db *db, unsigned wait_ms)
{
	const struct db_host *h;
	struct timespec deadline, pause = clock_ms_ts(END_POLL_MS);
	char sql[64], msg[DB_ERR_LEN];
	MYSQL *my = NULL;
	int64_t boot;
	int rc = -1, alive;

	clock_now(&deadline);
	clock_add_ms(&deadline, (long)wait_ms);
	if (!db->lost_valid) {
		set_err(db, CR_UNKNOWN_ERROR, "no lost connection to end");
		return -1;
	}
	if (db->lost_host >= 0 && db->lost_host >= db->nhosts) {
		set_err(db, CR_UNKNOWN_ERROR, "the lost host is not in the list");
		return -1;
	}
	/* The same host (a Galera node kills only its own threads), even if
	 * it is no longer a synced node: it still runs the statement. */
	h = db->lost_host >= 0 ? &db->hosts[db->lost_host] : NULL;
	if ((my = open_host(db, h, 0)) == NULL)
		goto out;
	if ((boot = server_boot(db, my)) == -1)
		goto out;
	if (boot - db->lost_boot_ms > BOOT_SLACK_MS ||
	    db->lost_boot_ms - boot > BOOT_SLACK_MS) {
		rc = 0;		/* restarted: the old threads died with it */
		goto out;
	}
	snprintf(sql, sizeof(sql), "KILL CONNECTION %lu", db->lost_id);
	if (mysql_query(my, sql) != 0 && mysql_errno(my) != ER_NO_SUCH_THREAD) {
		set_err(db, mysql_errno(my), mysql_error(my));
		goto out;
	}
	/* KILL only marks the thread: it ends when the statement notices,
	 * after rolling back what it had not committed. */
	while ((alive = thread_alive(db, my, db->lost_id)) == 1) {
		if (clock_ms_left(&deadline) <= 0) {
			snprintf(msg, sizeof(msg), "thread %lu still runs %u ms "
			    "after KILL", db->lost_id, wait_ms);
			set_err(db, CR_UNKNOWN_ERROR, msg);
			goto out;
		}
		nanosleep(&pause, NULL);
	}
	if (alive == 0)
		rc = 0;
out:
	if (my)
		mysql_close(my);
	if (rc == 0) {
		db->lost_valid = 0;
		if (db->lost_host >= 0)	/* it is up: stay on it */
			db->next = db->lost_host;
		clear_err(db);
	}
	return rc;
}

int
db_query(struct db *db, const char *sql)
{
	return db_query_each(db, sql, NULL, NULL) == -1 ? -1 : 0;
}

static int
timed_query_each(struct db *db, const char *sql, db_row_fn fn, void *arg)
{
	MYSQL_RES *r;
	MYSQL_ROW row;
	int n = 0;

	if (db->my == NULL) {
		set_err(db, CR_SERVER_GONE_ERROR, "not connected");
		return -1;
	}
	if (mysql_query(db->my, sql) != 0) {
		set_err(db, mysql_errno(db->my), mysql_error(db->my));
		if (db_lost(db))
			drop(db);
		return -1;
	}
	if ((r = mysql_store_result(db->my)) != NULL) {
		while ((row = mysql_fetch_row(r)) != NULL) {
			if (fn)
				fn(arg, row, (int)mysql_num_fields(r));
			n++;
		}
		mysql_free_result(r);
	}
	while (mysql_next_result(db->my) == 0)
		if ((r = mysql_store_result(db->my)) != NULL)
			mysql_free_result(r);
	return n;
}

int64_t
db_affected(const struct db *db, int i)
{
	if (i < 0 || i >= db->nstmt || db->stmt[i] == NULL)
		return -1;
	return (int64_t)mysql_stmt_affected_rows(db->stmt[i]);
}

unsigned
db_errno(const struct db *db)
{
	return db->err;
}

const char *
db_errmsg(const struct db *db)
{
	return db->errmsg;
}

int
db_lost(const struct db *db)
{
	switch (db->err) {
	case CR_SERVER_GONE_ERROR:	/* 2006 */
	case CR_SERVER_LOST:		/* 2013 */
	case CR_CONNECTION_ERROR:	/* 2002 */
	case CR_CONN_HOST_ERROR:	/* 2003 */
	case ER_CONNECTION_KILLED:	/* 1927, MariaDB: KILL CONNECTION */
	case ER_SERVER_SHUTDOWN:	/* 1053 */
	case 4031:	/* ER_CLIENT_INTERACTION_TIMEOUT, MySQL 8.0.24+ */
	case ER_UNKNOWN_COM_ERROR:	/* 1047, Galera: "WSREP has not yet
					 * prepared node for application use" */
		return 1;
	}
	return 0;
}

int
db_schema_error(const struct db *db)
{
	switch (db->err) {
	case ER_DBACCESS_DENIED_ERROR:	/* 1044 */
	case ER_BAD_DB_ERROR:		/* 1049 */
	case ER_BAD_FIELD_ERROR:	/* 1054 */
	case ER_TABLEACCESS_DENIED_ERROR:	/* 1142 */
	case ER_COLUMNACCESS_DENIED_ERROR:	/* 1143 */
	case ER_NO_SUCH_TABLE:		/* 1146 */
	case ER_CANT_AGGREGATE_2COLLATIONS:	/* 1267 */
	case ER_SP_DOES_NOT_EXIST:	/* 1305 */
	case ER_SP_WRONG_NO_OF_ARGS:	/* 1318 */
	case ER_VIEW_INVALID:		/* 1356 */
	case ER_PROCACCESS_DENIED_ERROR:	/* 1370 */
	case ER_PARSE_ERROR:		/* 1064 */
	case ER_WRONG_VALUE_COUNT_ON_ROW:	/* 1136 */
	case ER_NO_DEFAULT_FOR_FIELD:	/* 1364 */
		return 1;
	}
	return 0;
}

int
db_refused(const struct db *db)
{
	return db->err == ER_UNKNOWN_COM_ERROR;
}

int
db_retryable(const struct db *db)
{
	switch (db->err) {
	case ER_LOCK_DEADLOCK:		/* 1213 */
	case ER_LOCK_WAIT_TIMEOUT:	/* 1205 */
	case ER_ERROR_DURING_COMMIT:	/* 1180 */
		return 1;
	}
	return 0;
}

/* The public entry points that talk to the server, timed for db_busy_us. */
#define TIMED(call) do { \
	struct timespec t0_; \
	clock_now(&t0_); \
	int rc_ = (call); \
	db->busy_us += (uint64_t)clock_us_since(&t0_); \
	return rc_; \
} while (0)

int
db_connect(struct db *db)
{
	TIMED(timed_connect(db));
}

int
db_failback(struct db *db)
{
	TIMED(timed_failback(db));
}

int
db_exec_rows(struct db *db, int i, const struct db_val *params, int nparams,
    struct db_val *cols, int ncols,
    int (*row)(void *arg, const struct db_val *cols), void *arg)
{
	TIMED(timed_exec_rows(db, i, params, nparams, cols, ncols, row, arg));
}

int
db_exec(struct db *db, int i, const struct db_val *params, int nparams,
    struct db_val *cols, int ncols, int *found)
{
	TIMED(timed_exec(db, i, params, nparams, cols, ncols, found));
}

int
db_query_each(struct db *db, const char *sql, db_row_fn fn, void *arg)
{
	TIMED(timed_query_each(db, sql, fn, arg));
}

uint64_t
db_busy_us(const struct db *db)
{
	return db->busy_us;
}
