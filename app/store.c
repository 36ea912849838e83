/*
 * Statements, reconnects and error mapping. Read-only work is retried
 * after a reconnect; a CALL that lost its connection is not, because it
 * may have committed: the replay record, written in the action's own
 * transaction, says afterwards whether it did.
 *
 * Errors fall in three classes, each with its own reply:
 *   unreachable or timed out   503 / 3555000, nothing was applied (or the
 *                              outcome is unknown, said so)
 *   up but wrong (a missing    500 / 3599999; logged at error level once a
 *   table, column, procedure   minute, and /healthz answers "schema" until
 *   or grant)                  a check passes again
 *   anything else              500 / 3599999, logged
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actions.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "store.h"
#include "store_sql.h"
#include "xmalloc.h"

#define RECONNECT_MS 250	/* while the database is down, try this often */
#define TX_ATTEMPTS 3		/* deadlock / lock wait retries (issue 5) */
#define PURGE_EVERY 1000	/* successful actions between replay purges */
#define PURGE_LIMIT 1000	/* rows per purge: a short transaction */
#define SCHEMA_RECHECK_S 5	/* while the schema is wrong, check this often */
#define SCHEMA_LOG_S 60		/* and say so in the log at most this often */
/* After a CALL lost its connection: how long the abandoned statement may
 * take to end once killed (a rollback) before the outcome is "unknown". */
#define END_LOST_MS 5000
/* The server ended the statement at its time limit (db_statement_timeout):
 * MariaDB's max_statement_time, MySQL's max_execution_time. */
#define ER_STATEMENT_TIMEOUT_MARIADB 1969
#define ER_QUERY_TIMEOUT_MYSQL 3024

/* The request's app and id: did an action commit under them? A locking
 * read, so that it waits for a transaction still running on the server. */
#define REPLAY_SQL \
	"SELECT action, task_id, node_id FROM `opn$replay` " \
	"WHERE app_code = ? AND request_id = ? LOCK IN SHARE MODE"

/* apigw-manager's PublicKeyManager: scope public_key, key = gateway name. */
#define GATEWAY_KEY_SQL "SELECT value FROM apigw_manager_context " \
	"WHERE scope = 'public_key' AND `key` = ?"

struct store {
	const struct config *cfg;
	struct db_params params;
	struct db *db;
	int st_resolve_cmdb, st_resolve_project, st_call, st_ping, st_purge;
	int st_replay;
	int st_gateway_key;		/* -1 unless jwt_gateway_name is set */
	int64_t applied;		/* successful actions since the last purge */
	struct timespec next_try;	/* the next connect while down */
	int schema_bad;			/* the last check or statement said so */
	time_t next_check;		/* while schema_bad: the next check */
	time_t next_ping_check;		/* store_ping: the next check */
	time_t last_schema_log;
};

struct store *
store_new(const struct config *cfg)
{
	struct store *s = xmalloc(sizeof(*s));

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	config_db_params(cfg, &s->params);
	s->params.lazy_prepare = 1;	/* a schema problem is not an outage */
	s->db = db_new(&s->params);
	s->st_resolve_cmdb = db_add_stmt(s->db, RESOLVE_CMDB_SQL);
	s->st_resolve_project = db_add_stmt(s->db, RESOLVE_PROJECT_SQL);
	s->st_call = db_add_stmt(s->db, OPERATE_SQL);
	s->st_ping = db_add_stmt(s->db, "SELECT 1");
	s->st_purge = db_add_stmt(s->db, PURGE_SQL);
	s->st_replay = db_add_stmt(s->db, REPLAY_SQL);
	s->st_gateway_key = -1;
	if (cfg->auth_mode == AUTH_JWT && cfg->jwt_gateway_name[0] != '\0')
		s->st_gateway_key = db_add_stmt(s->db, GATEWAY_KEY_SQL);
	return s;
}

void
store_limit_timeouts(struct store *s, unsigned secs)
{
	unsigned *t[] = { &s->params.connect_timeout, &s->params.read_timeout,
	    &s->params.write_timeout };

	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++)
		if (*t[i] > secs)
			*t[i] = secs;
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

static void
unknown(struct store *s, struct outcome *o)
{
	log_msg(LOG_ERROR, "database error %u: %s", db_errno(s->db),
	    db_errmsg(s->db));
	set(o, 500, CODE_UNKNOWN, "internal error, see the service log");
}

/* The database answers but lacks what the service needs. Logged at error
 * level at most once a minute: every request would say the same. */
static void
schema(struct store *s, struct outcome *o, const char *what)
{
	time_t now = clock_sec();

	/* Only the first finding sets the next check: refusals in between
	 * must not push it away under steady traffic. */
	if (!s->schema_bad)
		s->next_check = now + SCHEMA_RECHECK_S;
	s->schema_bad = 1;
	if (s->last_schema_log == 0 || now - s->last_schema_log >= SCHEMA_LOG_S) {
		s->last_schema_log = now;
		log_msg(LOG_ERROR, "database schema: %s (run sql/load.sh; "
		    "operate-node -t --check-db lists what is missing)", what);
	}
	if (o)
		set(o, 500, CODE_UNKNOWN, "the database lacks objects the "
		    "service needs, see the service log");
}

/* Why CHECK_SQL failed: the server's error, and when the routine is
 * missing, what that means. */
static void
check_failed(struct store *s, char *why, size_t n)
{
	if (db_errno(s->db) == 1305)	/* ER_SP_DOES_NOT_EXIST */
		snprintf(why, n, "the routines of schema version %d, which this "
		    "build needs, are not in the database (%u %s): run this "
		    "release's sql/load.sh", SCHEMA_VERSION, db_errno(s->db),
		    db_errmsg(s->db));
	else
		snprintf(why, n, "%u %s", db_errno(s->db), db_errmsg(s->db));
}

/* opn_check()'s rows, gathered into one line for the log. */
static void
note_problem(void *arg, char **row, int ncols)
{
	char *why = arg;
	size_t n = strlen(why);

	if (ncols >= 2 && n < 500)
		snprintf(why + n, 600 - n, "%s%s: %s", n ? "; " : "",
		    row[0] ? row[0] : "?", row[1] ? row[1] : "?");
}

/* Right after a connect, and every few seconds while the schema is wrong:
 * everything this version's opn_check lists (what --check-db prints), so
 * that a missing column is found before a request needs it. Its absence
 * says that the database has not got this version's routines. */
static int
check_all(struct store *s, char *why, size_t n)
{
	int rows;

	why[0] = '\0';
	rows = db_query_each(s->db, CHECK_SQL, note_problem, why);
	if (rows == -1 && db_connected(s->db))
		check_failed(s, why, n);
	return rows == 0 ? 0 : -1;
}

static void
recheck(struct store *s)
{
	struct timespec pause = clock_ms_ts(200);
	char why[600];

	int bad = check_all(s, why, sizeof(why));

	s->next_ping_check = clock_sec() + SCHEMA_RECHECK_S;
	/* A second look before a verdict: DDL in progress (a TRUNCATE, a
	 * load.sh) shows tables without their columns for a moment. */
	if (bad && db_connected(s->db)) {
		nanosleep(&pause, NULL);
		bad = check_all(s, why, sizeof(why));
	}
	if (!bad) {
		if (s->schema_bad)
			log_msg(LOG_INFO, "database schema: fixed");
		s->schema_bad = 0;
		return;
	}
	if (!db_connected(s->db))
		return;
	s->next_check = clock_sec() + SCHEMA_RECHECK_S;
	if (why[0] == '\0')
		snprintf(why, sizeof(why), "%u %s", db_errno(s->db),
		    db_errmsg(s->db));
	schema(s, NULL, why);
}

int
store_ready(struct store *s, struct outcome *o)
{
	struct timespec now;

	if (db_connected(s->db)) {
		if (s->schema_bad && clock_sec() >= s->next_check)
			recheck(s);
		return 0;
	}
	clock_now(&now);
	if (clock_ms_between(&now, &s->next_try) > 0) {
		set(o, 503, CODE_ENV, "database unavailable, nothing was applied");
		return -1;
	}
	if (db_connect(s->db) == 0) {
		log_msg(LOG_INFO, "connected to the database");
		recheck(s);
		return 0;
	}
	s->next_try = now;
	clock_add_ms(&s->next_try, RECONNECT_MS);
	if (db_schema_error(s->db)) {	/* e.g. 1049: no such database */
		schema(s, o, db_errmsg(s->db));
		return -1;
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
		return o.http == 503 ? -1 : -2;
	/* What an action would meet now: a table renamed away since the
	 * connect is found within SCHEMA_RECHECK_S, as a worker finds it. */
	if (!s->schema_bad && clock_sec() >= s->next_ping_check)
		recheck(s);
	if (db_exec(s->db, s->st_ping, NULL, 0, &col, 1, &found) == -1 &&
	    (!db_lost(s->db) || store_ready(s, &o) == -1 ||
	    db_exec(s->db, s->st_ping, NULL, 0, &col, 1, &found) == -1))
		return -1;
	if (!found)
		return -1;
	return s->schema_bad ? -2 : 0;
}

/* A statement failed without losing the connection. */
static void
failed(struct store *s, struct outcome *o)
{
	char why[600];

	if (db_schema_error(s->db)) {
		snprintf(why, sizeof(why), "%u %s", db_errno(s->db),
		    db_errmsg(s->db));
		schema(s, o, why);
	} else if (db_errno(s->db) == ER_STATEMENT_TIMEOUT_MARIADB ||
	    db_errno(s->db) == ER_QUERY_TIMEOUT_MYSQL) {
		/* a read at the server's time limit: nothing to apply */
		log_msg(LOG_WARN, "database statement timed out: %u %s",
		    db_errno(s->db), db_errmsg(s->db));
		set(o, 503, CODE_ENV, "database timed out, nothing was applied");
	} else
		unknown(s, o);
}

/* A read: run again once on a fresh connection. */
static int
read_one(struct store *s, int st, const struct db_val *p, int np,
    struct db_val *c, int nc, int *found, struct outcome *o)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (store_ready(s, o) == -1)
			return -1;
		if (db_exec(s->db, st, p, np, c, nc, found) == 0)
			return 0;
		if (!db_lost(s->db)) {
			failed(s, o);
			return -1;
		}
	}
	down(s, o);
	return -1;
}

int
store_resolve(struct store *s, enum scope scope, long long biz_id,
    const char *app_code, const char *token, const char *username,
    struct auth_row *row, struct outcome *o)
{
	char token_hash[AUTH_HASH_LEN + 1];
	struct db_val p[5], c[10];
	int found = 0, st;

	memset(row, 0, sizeof(*row));
	if (token)
		auth_hash(token, strlen(token), token_hash);
	p[0] = db_str(username);
	p[1] = db_int(biz_id);
	p[2] = db_str(app_code);
	p[3] = db_str(token ? token_hash : NULL);
	p[4] = p[1];
	memset(c, 0, sizeof(c));
	c[0] = (struct db_val){ .type = DB_STR, .str = row->secret_hash,
	    .cap = sizeof(row->secret_hash) };
	c[1].type = c[2].type = DB_INT;
	c[3] = (struct db_val){ .type = DB_STR, .str = row->token_user,
	    .cap = sizeof(row->token_user) };
	c[4].type = c[5].type = c[6].type = c[7].type = c[8].type = DB_INT;
	c[9] = (struct db_val){ .type = DB_STR, .str = row->app_whitelist,
	    .cap = sizeof(row->app_whitelist) };
	st = scope == SCOPE_PROJECT ? s->st_resolve_project : s->st_resolve_cmdb;

	if (read_one(s, st, p, 5, c, 10, &found, o) == -1)
		return -1;
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
	row->project_count = (int)c[8].i;
	return 0;
}

int
store_gateway_key(struct store *s, char *pem, size_t cap, struct outcome *o)
{
	struct db_val p = db_str(s->cfg->jwt_gateway_name);
	struct db_val c = { .type = DB_STR, .str = pem, .cap = cap };
	int found = 0;

	assert(s->st_gateway_key >= 0);
	if (read_one(s, s->st_gateway_key, &p, 1, &c, 1, &found, o) == -1)
		return -1;
	if (!found || c.is_null) {
		log_msg(LOG_ERROR, "apigw_manager_context has no public_key "
		    "row for gateway %s", s->cfg->jwt_gateway_name);
		set(o, 500, CODE_UNKNOWN, "internal error, see the service log");
		return -1;
	}
	return 0;
}

static void
backoff(int attempt)
{
	/* 10, 20, 40 ms: long enough for the other transaction to commit. */
	struct timespec ts = clock_ms_ts(10L << attempt);

	nanosleep(&ts, NULL);
}

/* The request's replay record: 1 when an action committed under app and
 * request_id is this one, 0 when there is none (or another's), -1 error. */
static int
replayed(struct store *s, const struct fields *f, const char *app,
    const char *request_id)
{
	char action[33], node[257];
	struct db_val p[2], c[3];
	int found = 0;

	p[0] = db_str(app);
	p[1] = db_str(request_id);
	memset(c, 0, sizeof(c));
	c[0] = (struct db_val){ .type = DB_STR, .str = action, .cap = sizeof(action) };
	c[1].type = DB_INT;
	c[2] = (struct db_val){ .type = DB_STR, .str = node, .cap = sizeof(node) };
	if (db_exec(s->db, s->st_replay, p, 2, c, 3, &found) == -1)
		return -1;
	return found && strcmp(action, action_at(f->action)->name) == 0 &&
	    c[1].i == f->task_id && strcmp(node, f->node_id) == 0;
}

/*
 * The connection broke during the CALL (a read timeout included): it may
 * have committed, or may still be running on the server, waiting for a
 * row lock, and commit later. First end it for good (db_end_lost kills
 * it and waits until its thread is gone), then ask the replay table,
 * which the action writes in its transaction. "Nothing was applied" only
 * when the statement is known to have ended; a record found is a success
 * either way. Returns 0 when the answer is known (o set), -1 when not.
 */
static int
settle(struct store *s, const struct fields *f, const char *app,
    const char *request_id, struct outcome *o)
{
	int ended = db_end_lost(s->db, END_LOST_MS) == 0, r;

	if (!ended)
		log_msg(LOG_WARN, "the action that lost its connection could not "
		    "be ended: %u %s", db_errno(s->db), db_errmsg(s->db));
	if (db_connect(s->db) == -1 ||
	    (r = replayed(s, f, app, request_id)) == -1)
		return -1;
	if (r == 1) {
		log_msg(LOG_WARN, "connection lost during the action, which had "
		    "committed: answered as applied");
		set(o, 200, CODE_OK, "success");
		return 0;
	}
	if (!ended)
		return -1;
	log_msg(LOG_WARN, "connection lost during the action, which was "
	    "ended and had not committed");
	set(o, 503, CODE_ENV, "database unavailable, nothing was applied");
	return 0;
}

/* The server ended the CALL at its time limit and rolled it back; its
 * own connection is still there, so the replay record settles it. */
static int
timed_out(struct store *s, const struct fields *f, const char *app,
    const char *request_id, struct outcome *o)
{
	int r;

	log_msg(LOG_WARN, "the database ended the action at its time limit: "
	    "%u %s", db_errno(s->db), db_errmsg(s->db));
	db_query(s->db, "ROLLBACK");
	if ((r = replayed(s, f, app, request_id)) == 1) {
		set(o, 200, CODE_OK, "success");
		return 0;
	}
	if (r == -1) {
		set(o, 503, CODE_ENV, "database unreachable during the action: "
		    "its outcome is unknown; send it again with the same "
		    "request id");
		return -1;
	}
	set(o, 503, CODE_ENV, "database timed out, nothing was applied");
	return -1;
}

/* The procedure's answer: (code, message, replayed, details). */
static int
answer(struct store *s, const struct db_val *c, int found, struct outcome *o)
{
	static const int known[] = { CODE_OK, CODE_PARAM, CODE_FORBIDDEN,
	    CODE_NOT_EXIST, CODE_INVALID_OP };

	if (found && !c[0].is_null)
		for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
			if (c[0].i == known[i]) {
				set(o, 200, known[i], c[1].str);
				return known[i] == CODE_OK ? 0 : -1;
			}
	log_msg(LOG_ERROR, "opn_operate_node answered an unknown code");
	(void)s;
	set(o, 500, CODE_UNKNOWN, "internal error, see the service log");
	return -1;
}

int
store_operate(struct store *s, long long project_id, const struct fields *f,
    const char *operator, const char *app, const char *request_id,
    char *details, size_t details_cap, struct outcome *o)
{
	char msg[MSG_LEN];
	struct db_val p[12], c[4];
	int found = 0;

	assert(details_cap > 0);
	details[0] = '\0';

	p[0] = db_int(project_id);
	p[1] = db_int(f->task_id);
	p[2] = db_str(f->node_id);
	p[3] = db_str(action_at(f->action)->name);
	p[4] = db_str(operator);
	p[5] = db_str(app);
	p[6] = db_str(request_id);
	p[7] = db_str(f->flow_id);
	p[8] = db_str(f->data_text);
	p[9] = db_str(f->inputs_text);
	p[10] = db_str(f->flow_ids_text);
	p[11] = db_str(f->converge_gateway_id);
	memset(c, 0, sizeof(c));
	c[0].type = c[2].type = DB_INT;
	c[1] = (struct db_val){ .type = DB_STR, .str = msg, .cap = sizeof(msg) };
	c[3] = (struct db_val){ .type = DB_STR, .str = details, .cap = details_cap };

	if (s->schema_bad && clock_sec() < s->next_check) {
		schema(s, o, "still wrong since the last check");
		return -1;
	}
	for (int attempt = 0; attempt < TX_ATTEMPTS + 1; attempt++) {
		if (store_ready(s, o) == -1)
			return -1;
		if (db_exec(s->db, s->st_call, p, 12, c, 4, &found) == 0) {
			if (answer(s, c, found, o) == -1)
				return -1;
			if (!c[2].i)
				s->applied++;
			return 0;
		}
		/* A Galera node out of the primary component refused the
		 * statement as a whole: run it on the next host. */
		if (db_refused(s->db) && attempt < TX_ATTEMPTS) {
			log_msg(LOG_INFO, "action refused (%u %s): on to the "
			    "next host", db_errno(s->db), db_errmsg(s->db));
			continue;
		}
		if (db_lost(s->db)) {
			/* It may have committed: never run it again here. */
			log_msg(LOG_WARN, "database connection lost during the "
			    "action: %u %s", db_errno(s->db), db_errmsg(s->db));
			if (settle(s, f, app, request_id, o) == 0)
				return o->code == CODE_OK ? 0 : -1;
			set(o, 503, CODE_ENV, "database unreachable during the "
			    "action: its outcome is unknown; send it again with "
			    "the same request id");
			return -1;
		}
		if (db_errno(s->db) == ER_STATEMENT_TIMEOUT_MARIADB ||
		    db_errno(s->db) == ER_QUERY_TIMEOUT_MYSQL)
			return timed_out(s, f, app, request_id, o);
		if (!db_retryable(s->db)) {
			failed(s, o);
			return -1;
		}
		if (attempt == TX_ATTEMPTS)
			break;
		/* The procedure rolled back; 1205 leaves the transaction open
		 * on some servers, so make sure before trying again. */
		log_msg(LOG_INFO, "transaction retry %d after %u %s", attempt + 1,
		    db_errno(s->db), db_errmsg(s->db));
		db_query(s->db, "ROLLBACK");
		backoff(attempt);
	}
	log_msg(LOG_WARN, "database failed the action %d times: %u %s",
	    TX_ATTEMPTS + 1, db_errno(s->db), db_errmsg(s->db));
	/* 1180: the commit itself failed (db_retryable) */
	set(o, 503, CODE_ENV, db_errno(s->db) == 1180 ?
	    "database could not commit, nothing was applied" :
	    "database timed out, nothing was applied");
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
	p[0] = db_int(s->cfg->replay_retention_days);
	p[1] = db_int(PURGE_LIMIT);
	if (db_exec(s->db, s->st_purge, p, 2, NULL, 0, NULL) == -1)
		log_msg(LOG_WARN, "purging replay records: %u %s", db_errno(s->db),
		    db_errmsg(s->db));
}

static void
print_problem(void *out, char **row, int ncols)
{
	if (ncols >= 2)
		fprintf(out, "%s: %s\n", row[0] ? row[0] : "?",
		    row[1] ? row[1] : "?");
}

/*
 * operate-node -t --check-db: connects, and lists every object the
 * service needs that is missing or wrong (CALL opn_check_vN(), N this
 * build's schema version, or that it has no such routine). Prints to out; returns the number of problems, -1 when the
 * database cannot be reached.
 */
int
store_check(struct store *s, FILE *out)
{
	char why[600];
	int problems = 0;

	if (db_connect(s->db) == -1 && !db_schema_error(s->db)) {
		fprintf(out, "database: cannot connect: %u %s\n", db_errno(s->db),
		    db_errmsg(s->db));
		return -1;
	}
	if (!db_connected(s->db)) {
		fprintf(out, "database: %u %s\n", db_errno(s->db), db_errmsg(s->db));
		return 1;
	}
	/* The list comes from the procedure: one place for what is needed. */
	int rows = db_query_each(s->db, CHECK_SQL, print_problem, out);
	if (rows == -1) {
		check_failed(s, why, sizeof(why));
		fprintf(out, "opn_check" SCHEMA_SUFFIX ": %s\n", why);
		return problems + 1;
	}
	problems += rows;
	return problems;
}
