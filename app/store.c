/*
 * Statements, reconnects and error mapping. Read-only work is retried
 * after a reconnect; a CALL that lost its connection is not, because it
 * may have committed: that answers 503 and the replay record settles it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actions.h"
#include "db.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

#define RECONNECT_MS 250	/* while the database is down, try this often */
#define TX_ATTEMPTS 3		/* deadlock / lock wait retries (issue 5) */
#define SIGNAL_ERRNO 1644	/* ER_SIGNAL_EXCEPTION: our SQLSTATE 45000 */
#define PURGE_EVERY 1000	/* successful actions between replay purges */
#define PURGE_LIMIT 1000	/* rows per purge: a short transaction */

/* Credentials, project and permission: const lookups on primary or unique
 * keys only. The permission's user is bk_username, else the token's. */
#define RESOLVE_SQL(project_match) \
	"SELECT a.secret_hash, a.is_enabled, a.is_trusted, t.username, " \
	"t.expires_at > NOW(6), p.id, p.is_disable, " \
	"(SELECT COUNT(*) FROM project_permission pp WHERE pp.project_id = p.id " \
	"AND pp.username = COALESCE(?, t.username) " \
	"AND pp.action = 'task_operate') " \
	"FROM (SELECT 1 AS one) AS d " \
	"LEFT JOIN app_account a ON a.app_code = ? " \
	"LEFT JOIN user_token t ON t.token_hash = ? " \
	"LEFT JOIN project p ON " project_match

struct store {
	const struct config *cfg;
	struct db_params params;
	struct db *db;
	int st_resolve_cmdb, st_resolve_project, st_call, st_ping, st_purge;
	int64_t applied;		/* successful actions since the last purge */
	struct timespec next_try;
};

struct store *
store_new(const struct config *cfg)
{
	struct store *s = xmalloc(sizeof(*s));

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->params.hosts = cfg->db_hosts;
	s->params.socket = cfg->db_socket;
	s->params.user = cfg->db_user;
	s->params.password = cfg->db_password;
	s->params.name = cfg->db_name;
	s->params.connect_timeout = (unsigned)cfg->db_connect_timeout;
	s->params.read_timeout = (unsigned)cfg->db_read_timeout;
	s->params.write_timeout = (unsigned)cfg->db_write_timeout;
	s->params.failback_interval = (unsigned)cfg->db_failback_interval;
	s->db = db_new(&s->params);
	s->st_resolve_cmdb = db_add_stmt(s->db, RESOLVE_SQL("p.cmdb_biz_id = ?"));
	s->st_resolve_project = db_add_stmt(s->db, RESOLVE_SQL("p.id = ?"));
	s->st_call = db_add_stmt(s->db, "CALL operate_node(?,?,?,?,?,?,?,?,?,?,?)");
	s->st_ping = db_add_stmt(s->db, "SELECT 1");
	s->st_purge = db_add_stmt(s->db, "CALL purge_request_replay(?, ?)");
	return s;
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	db_close(s->db);
	free(s);
}

static void
set(struct outcome *o, int http, int code, const char *msg)
{
	o->http = http;
	o->code = code;
	snprintf(o->msg, sizeof(o->msg), "%s", msg);
}

static void
down(struct store *s, struct outcome *o)
{
	log_msg(LOG_WARN, "database unavailable: %u %s", db_errno(s->db),
	    db_errmsg(s->db));
	set(o, 503, CODE_ENV, "database unavailable, nothing was applied");
}

static int
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int
store_ready(struct store *s, struct outcome *o)
{
	struct timespec now;

	if (db_connected(s->db))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (ts_before(&now, &s->next_try)) {
		set(o, 503, CODE_ENV, "database unavailable, nothing was applied");
		return -1;
	}
	if (db_connect(s->db) == 0) {
		log_msg(LOG_INFO, "connected to the database");
		return 0;
	}
	s->next_try = now;
	s->next_try.tv_nsec += RECONNECT_MS * 1000000L;
	if (s->next_try.tv_nsec >= 1000000000L) {
		s->next_try.tv_sec++;
		s->next_try.tv_nsec -= 1000000000L;
	}
	down(s, o);
	return -1;
}

int
store_ping(struct store *s)
{
	struct outcome o;
	struct db_val col = { .type = DB_INT };
	int found = 0;

	if (store_ready(s, &o) == -1)
		return -1;
	if (db_exec(s->db, s->st_ping, NULL, 0, &col, 1, &found) == -1 &&
	    (!db_lost(s->db) || store_ready(s, &o) == -1 ||
	    db_exec(s->db, s->st_ping, NULL, 0, &col, 1, &found) == -1))
		return -1;
	return found ? 0 : -1;
}

static struct db_val
str_val(const char *s)
{
	struct db_val v = { .type = DB_STR };
	v.str = (char *)s;
	v.len = s ? strlen(s) : 0;
	return v;
}

static void
unknown(struct store *s, struct outcome *o)
{
	log_msg(LOG_ERROR, "database error %u: %s", db_errno(s->db),
	    db_errmsg(s->db));
	set(o, 200, CODE_UNKNOWN, "internal error, see the service log");
}

int
store_resolve(struct store *s, enum scope scope, long long biz_id,
    const char *app_code, const char *token, const char *username,
    struct auth_row *row, struct outcome *o)
{
	char token_hash[AUTH_HASH_LEN + 1];
	struct db_val p[4], c[8];
	int found = 0, st;

	memset(row, 0, sizeof(*row));
	if (token)
		auth_hash(token, strlen(token), token_hash);
	p[0] = str_val(username);
	p[1] = str_val(app_code);
	p[2] = str_val(token ? token_hash : NULL);
	p[3] = (struct db_val){ .type = DB_INT, .i = biz_id };
	memset(c, 0, sizeof(c));
	c[0] = (struct db_val){ .type = DB_STR, .str = row->secret_hash,
	    .cap = sizeof(row->secret_hash) };
	c[1].type = c[2].type = DB_INT;
	c[3] = (struct db_val){ .type = DB_STR, .str = row->token_user,
	    .cap = sizeof(row->token_user) };
	c[4].type = c[5].type = c[6].type = c[7].type = DB_INT;
	st = scope == SCOPE_PROJECT ? s->st_resolve_project : s->st_resolve_cmdb;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (store_ready(s, o) == -1)
			return -1;
		if (db_exec(s->db, st, p, 4, c, 8, &found) == 0)
			break;
		/* A read: safe to run again on a fresh connection. */
		if (!db_lost(s->db)) {
			unknown(s, o);
			return -1;
		}
		if (attempt == 1) {
			down(s, o);
			return -1;
		}
	}
	if (!found) {
		unknown(s, o);
		return -1;
	}
	row->app_found = !c[1].is_null;
	row->app_enabled = row->app_found && c[1].i == 1;
	row->app_trusted = row->app_found && c[2].i == 1;
	row->token_found = !c[3].is_null;
	row->token_live = row->token_found && c[4].i == 1;
	row->project_found = !c[5].is_null;
	row->project_id = c[5].i;
	row->project_disabled = row->project_found && c[6].i != 0;
	row->permitted = !c[7].is_null && c[7].i > 0;
	return 0;
}

/* "3545000 node(x) state is ..." from SIGNAL: the code, then the text. */
static void
refusal(struct store *s, struct outcome *o)
{
	const char *m = db_errmsg(s->db);
	char *end;
	long code = strtol(m, &end, 10);

	if (end == m + 7 && *end == ' ' && (code == CODE_PARAM ||
	    code == CODE_FORBIDDEN || code == CODE_NOT_EXIST ||
	    code == CODE_INVALID_OP)) {
		set(o, 200, (int)code, end + 1);
		return;
	}
	unknown(s, o);
}

static void
backoff(int attempt)
{
	/* 10, 20, 40 ms: long enough for the other transaction to commit. */
	struct timespec ts = { 0, 10000000L << attempt };
	nanosleep(&ts, NULL);
}

int
store_operate(struct store *s, long long project_id, const struct fields *f,
    const char *operator, const char *request_id, struct outcome *o)
{
	struct db_val p[11];

	p[0] = (struct db_val){ .type = DB_INT, .i = project_id };
	p[1] = (struct db_val){ .type = DB_INT, .i = f->task_id };
	p[2] = str_val(f->node_id);
	p[3] = str_val(action_at(f->action)->name);
	p[4] = str_val(operator);
	p[5] = str_val(request_id);
	p[6] = str_val(f->flow_id);
	p[7] = str_val(f->data_text);
	p[8] = str_val(f->inputs_text);
	p[9] = str_val(f->flow_ids_text);
	p[10] = str_val(f->converge_gateway_id);

	for (int attempt = 0; attempt < TX_ATTEMPTS + 1; attempt++) {
		if (store_ready(s, o) == -1)
			return -1;
		if (db_exec(s->db, s->st_call, p, 11, NULL, 0, NULL) == 0) {
			s->applied++;
			set(o, 200, CODE_OK, "success");
			return 0;
		}
		if (db_errno(s->db) == SIGNAL_ERRNO) {
			refusal(s, o);
			return -1;
		}
		/* Refused as a whole by a node that is not synced (it can
		 * commit nothing out of the primary component): the next host
		 * may run it; the replay record covers a commit that made it. */
		if (db_refused(s->db) && attempt < TX_ATTEMPTS)
			continue;
		if (db_lost(s->db)) {
			/* It may have committed: never run it again here. */
			down(s, o);
			return -1;
		}
		if (!db_retryable(s->db) || attempt == TX_ATTEMPTS)
			break;
		/* The procedure rolled back; 1205 leaves the transaction open
		 * on some servers, so make sure before trying again. */
		log_msg(LOG_INFO, "transaction retry %d after %u %s", attempt + 1,
		    db_errno(s->db), db_errmsg(s->db));
		db_query(s->db, "ROLLBACK");
		backoff(attempt);
	}
	unknown(s, o);
	return -1;
}

void
store_housekeeping(struct store *s)
{
	struct db_val p[2];

	if (db_failback(s->db) == 1)
		log_msg(LOG_INFO, "back on database host %s", db_host(s->db));
	if (s->applied < PURGE_EVERY || !db_connected(s->db))
		return;
	s->applied = 0;
	p[0] = (struct db_val){ .type = DB_INT, .i = s->cfg->replay_retention_days };
	p[1] = (struct db_val){ .type = DB_INT, .i = PURGE_LIMIT };
	if (db_exec(s->db, s->st_purge, p, 2, NULL, 0, NULL) == -1)
		log_msg(LOG_WARN, "purging replay records: %u %s", db_errno(s->db),
		    db_errmsg(s->db));
}
