/*
 * make bench, workload b: the database-only ceiling. N threads, each with
 * its own connection, make the service's two round trips per request (the
 * resolve SELECT of app/store.c, then CALL opn_operate_node) as prepared
 * statements on the same slots, nodes and action mix as tests/bench/
 * success.lua, for a fixed time; prints one JSON line of figures.
 * Connecting is kept out of the measured window (bench.py reads the
 * server's counters around it): once connected it prints "ready" and waits
 * for a line on stdin; once done it prints its figures and waits for end
 * of input before it disconnects.
 * -m plain (workload b2) and -m floor (b3) send the same actions as plain
 * SQL statements instead, one round trip each or two in all (see above
 * operate_plain and operate_floor: what each leaves out).
 *
 *   dbdriver -S socket [-D db] [-u user] -c conns -d seconds -l lo -h hi
 *            -n tasks -b task_base [-m plain|floor]
 *   dbdriver -p cmdb|project      prints the resolve SELECT and exits
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "store_sql.h"	/* app/: the service's statements */

static const char resolve_cmdb[] = RESOLVE_CMDB_SQL;
static const char resolve_project[] = RESOLVE_PROJECT_SQL;
static const char call_sql[] = OPERATE_SQL;

/* The caller of every request: the demo data's app, user and business
 * (sql/demo.sql: demo_app, admin with task_operate on project 1 = cmdb 2). */
#define APP_CODE "demo_app"
#define USERNAME "admin"
#define BIZ_ID 2

#define TEXT_MAX 256		/* node, flow, request id and JSON texts */
#define LAT_INITIAL 65536	/* latencies per thread before the first grow */

/* The action mix, by slot % 10: the same table as success.lua's KINDS. */
enum kind { RETRY, RETRY_INPUTS, SKIP, CALLBACK, SKIP_EXG };
static const enum kind kinds[10] = { RETRY, RETRY_INPUTS, SKIP, CALLBACK,
	RETRY, SKIP_EXG, CALLBACK, RETRY_INPUTS, SKIP, CALLBACK };

struct opts {
	const char *socket, *db, *user;
	int conns;
	double seconds;
	int plain;		/* -m plain: workload b2 */
	int floor2;		/* -m floor: workload b3 */
	long long lo, hi, tasks, task_base;
};

struct thread {
	pthread_t tid;
	const struct opts *o;
	MYSQL *my;
	MYSQL_STMT *resolve, *call;
	MYSQL_STMT *plain[16];	/* -m plain: P_NSTMT statements */
	struct prow *row;
	struct prow *rows;	/* -m floor: F_NREAD results */
	char *sql;		/* -m floor: the round trip being built */
	size_t sqllen, sqlcap;
	int nstmt;		/* statements in t->sql */
	uint32_t *lat;		/* microseconds per successful request */
	size_t nlat, caplat;
	long long ok, fails, exhausted;
	char first_error[256];
};

static atomic_llong next_slot;
static pthread_barrier_t start_line;
static struct timespec deadline;

static double
now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
past(const struct timespec *d)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec > d->tv_sec ||
	    (t.tv_sec == d->tv_sec && t.tv_nsec >= d->tv_nsec);
}

/* The ids of slot s: 33 characters like bk-sops' ids, the 4 hex digits of
 * a multiplicative hash first so that nodes spread over the whole key
 * space of every node_id index (as uuid-based ids do). bench.py's SQL and
 * success.lua build the same strings. */
static unsigned
spread(long long s)
{
	return (unsigned)((s * 40503LL) % 65536);
}

static void
note_error(struct thread *t, const char *what, const char *msg)
{
	t->fails++;
	if (t->first_error[0] == '\0')
		snprintf(t->first_error, sizeof(t->first_error), "%s: %s", what,
		    msg);
}

static void
add_latency(struct thread *t, uint32_t us)
{
	if (t->nlat == t->caplat) {
		size_t cap = t->caplat ? t->caplat * 2 : LAT_INITIAL;
		uint32_t *p = realloc(t->lat, cap * sizeof(*p));
		if (p == NULL) {
			fprintf(stderr, "dbdriver: out of memory\n");
			exit(1);
		}
		t->lat = p;
		t->caplat = cap;
	}
	t->lat[t->nlat++] = us;
}

static void
bind_str(MYSQL_BIND *b, unsigned long *len, const char *s)
{
	memset(b, 0, sizeof(*b));
	if (s == NULL) {
		b->buffer_type = MYSQL_TYPE_NULL;
		return;
	}
	*len = strlen(s);
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)s;
	b->buffer_length = *len;
	b->length = len;
}

static void
bind_int(MYSQL_BIND *b, long long *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = v;
}

/* Round trip 1: the resolve SELECT; its row must say "permitted". */
static int
resolve(struct thread *t)
{
	MYSQL_BIND p[5], r[10];
	unsigned long plen[5], rlen[10];
	my_bool rnull[10];
	char secret[160], user[160], whitelist[1024];
	long long biz = BIZ_ID, ints[7];
	int rc;

	/* user, business, app, token, business (store_resolve's order) */
	bind_str(&p[0], &plen[0], USERNAME);
	bind_int(&p[1], &biz);
	bind_str(&p[2], &plen[2], APP_CODE);
	bind_str(&p[3], &plen[3], NULL);
	bind_int(&p[4], &biz);
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 10; i++) {
		r[i].length = &rlen[i];
		r[i].is_null = &rnull[i];
	}
	r[0].buffer_type = r[3].buffer_type = r[9].buffer_type = MYSQL_TYPE_STRING;
	r[0].buffer = secret;
	r[0].buffer_length = sizeof(secret);
	r[3].buffer = user;
	r[3].buffer_length = sizeof(user);
	r[9].buffer = whitelist;
	r[9].buffer_length = sizeof(whitelist);
	long long *ip = ints;
	for (int i = 0; i < 10; i++)
		if (i != 0 && i != 3 && i != 9) {
			r[i].buffer_type = MYSQL_TYPE_LONGLONG;
			r[i].buffer = ip++;
		}
	if (mysql_stmt_bind_param(t->resolve, p) != 0 ||
	    mysql_stmt_execute(t->resolve) != 0 ||
	    mysql_stmt_bind_result(t->resolve, r) != 0) {
		note_error(t, "resolve", mysql_stmt_error(t->resolve));
		mysql_stmt_free_result(t->resolve);
		return -1;
	}
	rc = mysql_stmt_fetch(t->resolve);
	mysql_stmt_free_result(t->resolve);
	/* ints: is_enabled, is_trusted, token live, p.id, is_disable, grants,
	 * projects with that business; rc MYSQL_DATA_TRUNCATED is fine (the
	 * whitelist) */
	if ((rc != 0 && rc != MYSQL_DATA_TRUNCATED) || rnull[7] || ints[5] <= 0) {
		note_error(t, "resolve", rc == 1 || rc == MYSQL_NO_DATA ? "no row" :
		    "not permitted");
		return -1;
	}
	return 0;
}

/* Round trip 2: CALL opn_operate_node for slot s: its answer row must say
 * code 0; every result is drained. */
static int
operate(struct thread *t, long long s)
{
	MYSQL_BIND p[12], r[4];
	unsigned long len[12], mlen, dlen;
	my_bool mnull, dnull;
	char details[16];	/* too short for most: truncated, not read */
	char node[TEXT_MAX], flow[TEXT_MAX], rid[TEXT_MAX], data[TEXT_MAX],
	    inputs[TEXT_MAX], msg[TEXT_MAX];
	long long project = 1, task = t->o->task_base + s % t->o->tasks, code = -1,
	    replayed = 0;
	enum kind k = kinds[s % 10];
	const char *action = "retry";
	int r_, answered = 0;

	snprintf(node, sizeof(node), "n%04xb%027lld", spread(s), s);
	snprintf(flow, sizeof(flow), "l%04xz%027lld", spread(s), s);
	/* 32 characters, like the nginx $request_id the service passes on;
	 * unique because slots are never used twice in a bench. */
	snprintf(rid, sizeof(rid), "dbdrv%027lld", s);
	snprintf(data, sizeof(data), "{\"status\":\"done\",\"slot\":%lld}", s);
	snprintf(inputs, sizeof(inputs), "{\"a\":\"new-%lld\",\"b\":{\"x\":1},"
	    "\"_escape_render_keys\":[\"b\"]}", s);
	switch (k) {
	case RETRY: case RETRY_INPUTS: action = "retry"; break;
	case SKIP: action = "skip"; break;
	case SKIP_EXG: action = "skip_exg"; break;
	case CALLBACK: action = "callback"; break;
	}
	bind_int(&p[0], &project);
	bind_int(&p[1], &task);
	bind_str(&p[2], &len[2], node);
	bind_str(&p[3], &len[3], action);
	bind_str(&p[4], &len[4], USERNAME);
	bind_str(&p[5], &len[5], APP_CODE);
	bind_str(&p[6], &len[6], rid);
	bind_str(&p[7], &len[7], k == SKIP_EXG ? flow : NULL);
	bind_str(&p[8], &len[8], k == CALLBACK ? data : NULL);
	bind_str(&p[9], &len[9], k == RETRY_INPUTS ? inputs : NULL);
	bind_str(&p[10], &len[10], NULL);
	bind_str(&p[11], &len[11], NULL);
	if (mysql_stmt_bind_param(t->call, p) != 0 ||
	    mysql_stmt_execute(t->call) != 0) {
		note_error(t, "call", mysql_stmt_error(t->call));
		return -1;
	}
	for (;;) {
		if (mysql_stmt_field_count(t->call) > 0) {
			/* the answer row (code, message, replayed, details) comes
			 * first; details (for the service's log) is not read */
			if (!answered && mysql_stmt_field_count(t->call) == 4) {
				memset(r, 0, sizeof(r));
				r[3].buffer_type = MYSQL_TYPE_STRING;
				r[3].buffer = details;
				r[3].buffer_length = sizeof(details);
				r[3].length = &dlen;
				r[3].is_null = &dnull;
				bind_int(&r[0], &code);
				r[1].buffer_type = MYSQL_TYPE_STRING;
				r[1].buffer = msg;
				r[1].buffer_length = sizeof(msg);
				r[1].length = &mlen;
				r[1].is_null = &mnull;
				bind_int(&r[2], &replayed);
				msg[0] = '\0';
				if (mysql_stmt_bind_result(t->call, r) == 0 &&
				    mysql_stmt_fetch(t->call) != 1)
					answered = 1;
				if (answered && mlen < sizeof(msg))
					msg[mlen] = '\0';
				else
					msg[sizeof(msg) - 1] = '\0';
			}
			mysql_stmt_free_result(t->call);
		}
		r_ = mysql_stmt_next_result(t->call);
		if (r_ == -1)
			break;
		if (r_ > 0) {
			note_error(t, "call", mysql_stmt_error(t->call));
			return -1;
		}
	}
	if (!answered || code != 0) {
		note_error(t, "call", answered ? msg : "no answer row");
		return -1;
	}
	return 0;
}

/*
 * Workload b2 (-m plain): the same actions as plain SQL statements, one
 * transaction each, as a careful client-side implementation would send
 * them: no procedure. After the resolve SELECT: START TRANSACTION; lock the
 * task (with its pipeline instance); claim the request id (opn$replay);
 * the root pipeline's state (shared); the node with its state row (one
 * join, locked); the parked process (locked); then the action's own reads
 * and writes; the operate record; COMMIT. The same locks in the same order
 * and the same rows as opn_operate_node: history row, state, eri_data
 * (retry with inputs), callback data, outbox rows (execute or schedule,
 * ZREM on skips, in one multi-row INSERT), operate record (extra_info
 * '', as sql/actions.sql writes it), replay row. What it leaves out: the JSON work the procedure does in SQL is done here
 * in C (parsing eri_node.detail, building the kwargs, the new inputs of
 * a retry, the new version), which is what such a client
 * would do; its parsing knows only bamboo's json.dumps layout and the new
 * inputs follow bk-sops' rules for the bench's seeded inputs only (a and b
 * merge any). Refusals are detected (the request counts as failed) but
 * their messages are not built; the session is READ COMMITTED (init
 * command) instead of a SET TRANSACTION per action.
 */
enum pst { P_TASK, P_REPLAY, P_ROOT, P_NODE, P_PROC, P_DATA, P_ARCHIVE,
	P_DATA_UPD, P_RETRY_STATE, P_SKIP_STATE, P_OUTBOX1, P_OUTBOX2, P_SCHED,
	P_CBDATA, P_RECORD, P_NSTMT };

#define EXACT(col, q) col " = " q " AND CAST(" col " AS BINARY) = CAST(" q " AS BINARY)"
#define OUTBOX_COLS "INSERT INTO `opn$outbox` (kind, name, exchange, " \
	"routing_key, priority, body, countdown, request_id, created_time) VALUES "
#define OUTBOX_ROW "(?, ?, ?, ?, ?, ?, NULL, ?, ?)"

static const char *const plain_sql[P_NSTMT] = {
	[P_TASK] = "SELECT t.project_id, t.is_deleted, t.engine_ver, p.instance_id, "
	    "p.is_expired FROM taskflow3_taskflowinstance t LEFT JOIN "
	    "pipeline_pipelineinstance p ON p.id = t.pipeline_instance_id "
	    "WHERE t.id = ? FOR UPDATE",
	[P_REPLAY] = "INSERT INTO `opn$replay` (app_code, request_id, action, "
	    "task_id, node_id, created_time) VALUES (?, ?, ?, ?, ?, ?)",
	[P_ROOT] = "SELECT name FROM eri_state WHERE " EXACT("node_id", "?")
	    " LOCK IN SHARE MODE",
	[P_NODE] = "SELECT n.detail, s.id, s.name, s.version FROM eri_node n "
	    "LEFT JOIN eri_state s ON s.node_id = n.node_id WHERE "
	    EXACT("n.node_id", "?") " FOR UPDATE",
	[P_PROC] = "SELECT id, root_pipeline_id, pipeline_stack, queue, priority "
	    "FROM eri_process WHERE " EXACT("current_node_id", "?")
	    " AND dead = 0 AND asleep = 1 LIMIT 2 FOR UPDATE",
	[P_DATA] = "SELECT inputs FROM eri_data WHERE " EXACT("node_id", "?")
	    " FOR UPDATE",
	[P_ARCHIVE] = "INSERT INTO eri_executionhistory (node_id, `loop`, retry, "
	    "skip, version, started_time, archived_time, inputs_serializer, "
	    "outputs_serializer, inputs, outputs) SELECT s.node_id, s.`loop`, "
	    "s.retry, s.skip, s.version, COALESCE(s.started_time, s.created_time), "
	    "COALESCE(s.archived_time, ?), COALESCE(e.inputs_serializer, 'json'), "
	    "COALESCE(e.outputs_serializer, 'json'), COALESCE(e.inputs, '{}'), "
	    "COALESCE(e.outputs, '{}') FROM eri_state s LEFT JOIN eri_executiondata e "
	    "ON " EXACT("e.node_id", "s.node_id") " WHERE s.id = ?",
	[P_DATA_UPD] = "UPDATE eri_data SET inputs = ? WHERE " EXACT("node_id", "?"),
	[P_RETRY_STATE] = "UPDATE eri_state SET name = 'READY', retry = retry + 1, "
	    "version = ?, started_time = NULL, archived_time = NULL WHERE id = ?",
	[P_SKIP_STATE] = "UPDATE eri_state SET name = 'FINISHED', skip = 1, "
	    "version = ?, archived_time = ? WHERE id = ?",
	[P_OUTBOX1] = OUTBOX_COLS OUTBOX_ROW,
	[P_OUTBOX2] = OUTBOX_COLS OUTBOX_ROW ", " OUTBOX_ROW,
	[P_SCHED] = "SELECT id, finished, expired FROM eri_schedule WHERE "
	    EXACT("node_id", "?") " AND " EXACT("version", "?") " FOR UPDATE",
	[P_CBDATA] = "INSERT INTO eri_callbackdata (node_id, version, data) "
	    "VALUES (?, ?, ?)",
	[P_RECORD] = "INSERT INTO operate_record_taskoperaterecord (operator, "
	    "operate_type, operate_source, instance_id, project_id, operate_date, "
	    "node_id, extra_info) VALUES (?, ?, 'api', ?, ?, ?, ?, ?)",
};

#define PCOLS 10	/* the resolve row's columns (b3 reads it as text) */
#define PCOL_MAX 4096

struct arg { const char *s; long long i; int is_int; };
#define S(x) ((struct arg){ .s = (x) })
#define I(x) ((struct arg){ .i = (x), .is_int = 1 })

struct prow {
	char col[PCOLS][PCOL_MAX];
	my_bool null[PCOLS];
	int rows;
};

/* Executes statement k with args; with row, fetches the first row's
 * columns as text and counts the rows (up to 2). -1 on error. */
static int
pexec(struct thread *t, enum pst k, const struct arg *a, int na, struct prow *row)
{
	MYSQL_STMT *st = t->plain[k];
	MYSQL_BIND p[20], r[PCOLS];
	unsigned long len[20], rlen[PCOLS];
	int nc, rc;

	for (int i = 0; i < na; i++) {
		if (a[i].is_int)
			bind_int(&p[i], (long long *)&a[i].i);
		else
			bind_str(&p[i], &len[i], a[i].s);
	}
	if ((na && mysql_stmt_bind_param(st, p) != 0) || mysql_stmt_execute(st) != 0) {
		note_error(t, plain_sql[k], mysql_stmt_error(st));
		return -1;
	}
	if (row == NULL)
		return 0;
	nc = (int)mysql_stmt_field_count(st);
	memset(r, 0, sizeof(r));
	for (int i = 0; i < nc && i < PCOLS; i++) {
		r[i].buffer_type = MYSQL_TYPE_STRING;
		r[i].buffer = row->col[i];
		r[i].buffer_length = PCOL_MAX - 1;
		r[i].length = &rlen[i];
		r[i].is_null = &row->null[i];
	}
	row->rows = 0;
	if (mysql_stmt_bind_result(st, r) != 0) {
		note_error(t, plain_sql[k], mysql_stmt_error(st));
		return -1;
	}
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		if (row->rows++ == 0)
			for (int i = 0; i < nc && i < PCOLS; i++)
				row->col[i][rlen[i] < PCOL_MAX ? rlen[i] : PCOL_MAX - 1] = '\0';
		if (row->rows == 2)
			break;
	}
	mysql_stmt_free_result(st);
	return row->rows;
}

/* The string value of "key": "..." in bamboo's json.dumps text, or "". */
static void
jstr(const char *json, const char *key, char *out, size_t n)
{
	char pat[TEXT_MAX];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	out[0] = '\0';
	if ((p = strstr(json, pat)) == NULL)
		return;
	p += strlen(pat);
	if ((e = strchr(p, '"')) == NULL || (size_t)(e - p) >= n)
		return;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
}

static void
new_version(char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	FILE *f;

	/* a per-call read of urandom is what a uuid4 costs a client too */
	f = fopen("/dev/urandom", "r");
	if (f == NULL || fread(b, 1, 16, f) != 16)
		for (int i = 0; i < 16; i++)
			b[i] = (unsigned char)rand();
	if (f)
		fclose(f);
	out[0] = 'v';
	for (int i = 0; i < 16; i++) {
		out[1 + 2 * i] = hex[b[i] >> 4];
		out[2 + 2 * i] = hex[b[i] & 15];
	}
	out[33] = '\0';
}

/* The checks on the node's row (detail, state id, name, version) that the
 * service makes: in this task, in the state the action needs, allowed by
 * its detail; for skips, target gets the flow's target. NULL when they
 * pass, else what failed. target has PCOL_MAX bytes. */
static const char *
node_check(enum kind k, const struct prow *rw, const char *pipe,
    const char *flow, char *target)
{
	char type[PCOL_MAX];

	jstr(rw->col[0], "root_pipeline_id", target, PCOL_MAX);
	jstr(rw->col[0], "type", type, sizeof(type));
	if (strcmp(target, pipe) != 0)
		return "node not in task";
	if (k == CALLBACK ? strcmp(rw->col[2], "RUNNING") != 0 :
	    strcmp(rw->col[2], "FAILED") != 0)
		return "state";
	if ((k == RETRY || k == RETRY_INPUTS) &&
	    strstr(rw->col[0], "\"can_retry\": true") == NULL)
		return "retry disabled";
	if (k == SKIP && (strstr(rw->col[0], "\"can_skip\": true") == NULL ||
	    strcmp(type, "ServiceActivity") != 0))
		return "skip disabled";
	if (k == SKIP || k == SKIP_EXG) {
		/* the target of the flow: the only one, or flow_id's */
		/* targets: {"flow": "target", ...}, copied out */
		char tg[PCOL_MAX], key[TEXT_MAX], *b, *e;
		const char *x = strstr(rw->col[0], "\"targets\": {");
		int colons = 0;
		if (x == NULL)
			return "targets";
		snprintf(tg, sizeof(tg), "%s", x + 11);
		if ((e = strchr(tg, '}')) == NULL)
			return "targets";
		e[1] = '\0';
		for (b = tg; *b; b++)
			colons += *b == ':';
		if (k == SKIP_EXG) {
			if (strcmp(type, "ExclusiveGateway") != 0)
				return "not a gateway";
			snprintf(key, sizeof(key), "%s", flow);
		} else {
			if (colons != 1 || (b = strchr(tg, '"')) == NULL ||
			    (e = strchr(b + 1, '"')) == NULL)
				return "no single flow";
			snprintf(key, sizeof(key), "%.*s", (int)(e - b - 1), b + 1);
		}
		jstr(tg, key, target, PCOL_MAX);
		if (target[0] == '\0')
			return "no such flow";
	}
	return NULL;
}

/* From the parked process's row: its root pipeline and the top of its
 * pipeline_stack (its last string). */
static void
proc_fields(struct prow *rw, char *proot, char *top)
{
	char *e = strrchr(rw->col[2], '"'), *b = NULL;

	snprintf(proot, PCOL_MAX, "%s", rw->col[1]);
	if (e != NULL) {
		*e = '\0';
		b = strrchr(rw->col[2], '"');
	}
	snprintf(top, PCOL_MAX, "%s", b ? b + 1 : proot);
}

static int
plain_fail(struct thread *t, const char *why)
{
	if (why)
		note_error(t, "plain", why);
	mysql_real_query(t->my, "ROLLBACK", 8);
	return -1;
}

/* Slot s's node, flow, request id and callback data (TEXT_MAX each) and
 * the time now as a DATETIME(6) text (TIME_TEXT); returns it as epoch
 * seconds: b2's and b3's values, as the procedure would make them. */
#define TIME_TEXT 96
static double
slot_texts(long long s, char *node, char *flow, char *rid, char *data,
    char *now)
{
	struct timespec ts;
	struct tm tm;

	snprintf(node, TEXT_MAX, "n%04xb%027lld", spread(s), s);
	snprintf(flow, TEXT_MAX, "l%04xz%027lld", spread(s), s);
	snprintf(rid, TEXT_MAX, "dbdrv%027lld", s);
	snprintf(data, TEXT_MAX, "{\"status\":\"done\",\"slot\":%lld}", s);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(now, TIME_TEXT, "%04d-%02d-%02d %02d:%02d:%02d.%06ld",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000);
	return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000) / 1e6;
}

static int
operate_plain(struct thread *t, long long s)
{
	/* sized for any column text (PCOL_MAX), so that nothing is cut */
	char node[TEXT_MAX], flow[TEXT_MAX], rid[TEXT_MAX], data[TEXT_MAX],
	    now[TIME_TEXT], nver[40], pipe[PCOL_MAX], target[PCOL_MAX],
	    version[PCOL_MAX], proot[PCOL_MAX], top[PCOL_MAX], queue[PCOL_MAX],
	    rkey[PCOL_MAX + 16], body[6 * PCOL_MAX], zrem[2 * PCOL_MAX],
	    inputs[1024];
	struct prow *rw = t->row;
	long long task = t->o->task_base + s % t->o->tasks, state_id, pid,
	    priority, sched, cbid;
	enum kind k = kinds[s % 10];
	const char *action = k == SKIP ? "skip" : k == SKIP_EXG ? "skip_exg" :
	    k == CALLBACK ? "callback" : "retry";
	const char *why;
	double epoch;

	epoch = slot_texts(s, node, flow, rid, data, now);

	if (mysql_real_query(t->my, "START TRANSACTION", 17) != 0) {
		note_error(t, "begin", mysql_error(t->my));
		return -1;
	}
	/* 1. the task, locked */
	if (pexec(t, P_TASK, (struct arg[]){ I(task) }, 1, rw) != 1)
		return plain_fail(t, "task");
	if (atoll(rw->col[0]) != 1 || atoll(rw->col[1]) != 0 ||
	    atoll(rw->col[2]) != 2 || rw->null[3] || atoll(rw->col[4]) != 0)
		return plain_fail(t, "task refused");
	snprintf(pipe, sizeof(pipe), "%s", rw->col[3]);
	/* 2. the request id */
	if (pexec(t, P_REPLAY, (struct arg[]){ S(APP_CODE), S(rid), S(action),
	    I(task), S(node), S(now) }, 6, NULL) != 0)
		return plain_fail(t, NULL);
	/* 3. the root pipeline's state, shared */
	if (pexec(t, P_ROOT, (struct arg[]){ S(pipe), S(pipe) }, 2, rw) != 1 ||
	    strcmp(rw->col[0], "REVOKED") == 0 || strcmp(rw->col[0], "FINISHED") == 0)
		return plain_fail(t, "task not running");
	/* 4. the node, in this task, with its state row, locked */
	if (pexec(t, P_NODE, (struct arg[]){ S(node), S(node) }, 2, rw) != 1 ||
	    rw->null[1])
		return plain_fail(t, "node");
	if ((why = node_check(k, rw, pipe, flow, target)) != NULL)
		return plain_fail(t, why);
	state_id = atoll(rw->col[1]);
	snprintf(version, sizeof(version), "%s", rw->col[3]);
	/* 5. the process parked there, locked */
	if (pexec(t, P_PROC, (struct arg[]){ S(node), S(node) }, 2, rw) != 1)
		return plain_fail(t, "process");
	pid = atoll(rw->col[0]);
	proc_fields(rw, proot, top);
	snprintf(queue, sizeof(queue), "%s", rw->col[3]);
	priority = atoll(rw->col[4]);

	if (k == CALLBACK) {
		if (pexec(t, P_SCHED, (struct arg[]){ S(node), S(node), S(version),
		    S(version) }, 4, rw) != 1 || atoll(rw->col[1]) || atoll(rw->col[2]))
			return plain_fail(t, "schedule");
		sched = atoll(rw->col[0]);
		if (pexec(t, P_CBDATA, (struct arg[]){ S(node), S(version), S(data) },
		    3, NULL) != 0)
			return plain_fail(t, NULL);
		cbid = (long long)mysql_stmt_insert_id(t->plain[P_CBDATA]);
		snprintf(rkey, sizeof(rkey), queue[0] ? "er_schedule_%s" : "er_schedule",
		    queue);
		snprintf(body, sizeof(body), "{\"process_id\": %lld, \"node_id\": \"%s\", "
		    "\"schedule_id\": %lld, \"callback_data_id\": %lld, \"recover_point\": "
		    "\"{}\", \"headers\": {\"route_info\": {\"queue\": \"%s\", \"priority\": "
		    "%lld}, \"timestamp\": %.6f}}", pid, node, sched, cbid, queue, priority,
		    epoch);
		if (pexec(t, P_OUTBOX1, (struct arg[]){ S("celery"),
		    S("pipeline.eri.celery.tasks.schedule"), S("default"), S(rkey),
		    I(priority), S(body), S(rid), S(now) }, 8, NULL) != 0)
			return plain_fail(t, NULL);
	} else {
		new_version(nver);
		if (k == RETRY || k == RETRY_INPUTS) {
			if (pexec(t, P_DATA, (struct arg[]){ S(node), S(node) }, 2, rw) != 1)
				return plain_fail(t, "no inputs");
		}
		if (pexec(t, P_ARCHIVE, (struct arg[]){ S(now), I(state_id) }, 2,
		    NULL) != 0)
			return plain_fail(t, NULL);
		if (k == RETRY_INPUTS) {
			/* bk-sops' rules on the seeded inputs: "b" is escaped,
			 * __executor_proxy kept, nothing else stays */
			snprintf(inputs, sizeof(inputs), "{\"a\": {\"need_render\": true, "
			    "\"value\": \"new-%lld\"}, \"b\": {\"need_render\": false, "
			    "\"value\": {\"x\": 1}}, \"__executor_proxy\": {\"need_render\": "
			    "true, \"value\": \"\"}}", s);
			if (pexec(t, P_DATA_UPD, (struct arg[]){ S(inputs), S(node),
			    S(node) }, 3, NULL) != 0)
				return plain_fail(t, NULL);
		}
		if (k == RETRY || k == RETRY_INPUTS) {
			if (pexec(t, P_RETRY_STATE, (struct arg[]){ S(nver), I(state_id) },
			    2, NULL) != 0)
				return plain_fail(t, NULL);
		} else if (pexec(t, P_SKIP_STATE, (struct arg[]){ S(nver), S(now),
		    I(state_id) }, 3, NULL) != 0)
			return plain_fail(t, NULL);
		snprintf(rkey, sizeof(rkey), queue[0] ? "er_execute_%s" : "er_execute",
		    queue);
		snprintf(body, sizeof(body), "{\"process_id\": %lld, \"node_id\": \"%s\", "
		    "\"root_pipeline_id\": \"%s\", \"parent_pipeline_id\": \"%s\", "
		    "\"recover_point\": \"{}\", \"headers\": {\"route_info\": {\"queue\": "
		    "\"%s\", \"priority\": %lld}, \"timestamp\": %.6f}}", pid,
		    k == SKIP || k == SKIP_EXG ? target : node, proot, top, queue,
		    priority, epoch);
		if (k == SKIP || k == SKIP_EXG) {
			snprintf(zrem, sizeof(zrem), "[\"%s_%s\"]", node, nver);
			if (pexec(t, P_OUTBOX2, (struct arg[]){ S("celery"),
			    S("pipeline.eri.celery.tasks.execute"), S("default"), S(rkey),
			    I(priority), S(body), S(rid), S(now), S("redis"), S("ZREM"),
			    S(""), S("sops_executing_node_pool"), S(NULL), S(zrem), S(rid),
			    S(now) }, 16, NULL) != 0)
				return plain_fail(t, NULL);
		} else if (pexec(t, P_OUTBOX1, (struct arg[]){ S("celery"),
		    S("pipeline.eri.celery.tasks.execute"), S("default"), S(rkey),
		    I(priority), S(body), S(rid), S(now) }, 8, NULL) != 0)
			return plain_fail(t, NULL);
	}
	if (pexec(t, P_RECORD, (struct arg[]){ S(USERNAME), S(action), I(task),
	    I(1), S(now), S(node), S("") }, 7, NULL) != 0)
		return plain_fail(t, NULL);
	if (mysql_real_query(t->my, "COMMIT", 6) != 0) {
		note_error(t, "commit", mysql_error(t->my));
		return plain_fail(t, NULL);
	}
	return 0;
}

/*
 * Workload b3 (-m floor): the two-round-trip floor (issue 26). b2's
 * statements, but sent as two multi-statements (CLIENT_MULTI_STATEMENTS),
 * on a session with autocommit off, so that the first statement opens the
 * transaction (no START TRANSACTION):
 *
 *   round trip 1, the reads: the resolve SELECT; the task with its pipeline
 *     instance FOR UPDATE; the request id's row (opn$replay: an INSERT, but
 *     it is the design's lock 2, so it stays in its place in the lock
 *     order); the root pipeline's state LOCK IN SHARE MODE (joined from the
 *     task, since its id is not known before the task is read); the node
 *     with its state row FOR UPDATE; the parked process FOR UPDATE; then
 *     a retry's eri_data row, or a callback's schedule row (joined from the
 *     node's state row for its version), FOR UPDATE;
 *   the checks, in C: the same ones as b2 (node_check), on the rows read;
 *   round trip 2, the writes and COMMIT: b2's writes with the same rows
 *     (history row, state, eri_data for a retry with inputs, callback data,
 *     outbox rows, the operation record with extra_info '' as
 *     sql/actions.sql writes it), then COMMIT. A callback's outbox body
 *     takes the callback data's id from LAST_INSERT_ID() (the statement
 *     before it).
 *
 * Values. Server-side prepared statements cannot be multi-statements, so
 * the values are in the text, as a careful client must put them: every
 * string through mysql_real_escape_string() inside quotes, numbers
 * printed as integers (sql_text). That is safe for a bench driver whose
 * values it makes itself; the service never splices request data into
 * SQL (README, "Security").
 *
 * What b3 leaves out, beyond what b2 leaves out (above): a refusal is
 * found only after the whole first round trip, so a refused request has
 * taken all its read locks before its ROLLBACK (the bench's requests all
 * succeed); the root state is read through a join (two more primary-key
 * probes on rows it has locked already) and a callback's schedule through
 * a join with the state row. Reviving a child task's parent (sql/actions.sql,
 * opn_revive_parent) is not done by b2 or b3: it applies only to retry and
 * skip on child tasks, and the bench seeds none.
 */
enum fread_ { F_RESOLVE, F_TASK, F_REPLAY, F_ROOT, F_NODE, F_PROC, F_MORE, F_NREAD };

static const char floor_root_sql[] = "SELECT s.name FROM "
    "taskflow3_taskflowinstance t JOIN pipeline_pipelineinstance p ON "
    "p.id = t.pipeline_instance_id JOIN eri_state s ON s.node_id = "
    "p.instance_id WHERE t.id = ? LOCK IN SHARE MODE";
static const char floor_sched_sql[] = "SELECT sc.id, sc.finished, sc.expired "
    "FROM eri_state s JOIN eri_schedule sc ON sc.node_id = s.node_id AND "
    EXACT("sc.version", "s.version") " WHERE " EXACT("s.node_id", "?")
    " FOR UPDATE";
static const char floor_cb_outbox_sql[] = OUTBOX_COLS "(?, ?, ?, ?, ?, "
    "CONCAT(?, LAST_INSERT_ID(), ?), NULL, ?, ?)";

static void
sql_grow(struct thread *t, size_t more)
{
	size_t cap = t->sqlcap ? t->sqlcap : 16384;
	char *p;

	if (t->sqllen + more + 1 <= t->sqlcap)
		return;
	while (cap < t->sqllen + more + 1)
		cap *= 2;
	if ((p = realloc(t->sql, cap)) == NULL) {
		fprintf(stderr, "dbdriver: out of memory\n");
		exit(1);
	}
	t->sql = p;
	t->sqlcap = cap;
}

/* Appends statement sql with its ? replaced by the args (strings quoted
 * and escaped, NULL as NULL, integers as such), then ";". The statements
 * have no ? of their own. */
static void
sql_text(struct thread *t, const char *sql, const struct arg *a, int na)
{
	int i = 0;

	for (const char *c = sql; *c; c++) {
		if (*c != '?') {
			sql_grow(t, 1);
			t->sql[t->sqllen++] = *c;
			continue;
		}
		if (i == na) {
			fprintf(stderr, "dbdriver: too few values for %s\n", sql);
			exit(1);
		}
		if (a[i].is_int) {
			sql_grow(t, 24);
			t->sqllen += (size_t)snprintf(t->sql + t->sqllen, 24, "%lld",
			    a[i].i);
		} else if (a[i].s == NULL) {
			sql_grow(t, 4);
			memcpy(t->sql + t->sqllen, "NULL", 4);
			t->sqllen += 4;
		} else {
			size_t n = strlen(a[i].s);
			sql_grow(t, 2 * n + 2);
			t->sql[t->sqllen++] = '\'';
			t->sqllen += mysql_real_escape_string(t->my, t->sql + t->sqllen,
			    a[i].s, (unsigned long)n);
			t->sql[t->sqllen++] = '\'';
		}
		i++;
	}
	sql_grow(t, 1);
	t->sql[t->sqllen++] = ';';
	t->sql[t->sqllen] = '\0';
	t->nstmt++;
}

/* Sends the round trip built in t->sql and reads its results: result i's
 * first row into rows[i] as text, rows[i].rows its row count (-1: no
 * result set). 0 when all nres statements ran; -1 on the first error (the
 * server runs nothing after it). */
static int
round_trip(struct thread *t, struct prow *rows, int nres)
{
	int i = 0, rc;

	if (mysql_real_query(t->my, t->sql, (unsigned long)t->sqllen) != 0) {
		note_error(t, "floor", mysql_error(t->my));
		return -1;
	}
	for (;;) {
		MYSQL_RES *res = mysql_store_result(t->my);
		if (res != NULL) {
			MYSQL_ROW r = mysql_fetch_row(res);
			unsigned long *len = mysql_fetch_lengths(res);
			unsigned nc = mysql_num_fields(res);
			if (rows != NULL && i < nres) {
				rows[i].rows = (int)mysql_num_rows(res);
				for (unsigned j = 0; r != NULL && j < nc && j < PCOLS; j++) {
					size_t n = r[j] && len[j] < PCOL_MAX ? len[j] :
					    r[j] ? PCOL_MAX - 1 : 0;
					rows[i].null[j] = r[j] == NULL;
					if (n)
						memcpy(rows[i].col[j], r[j], n);
					rows[i].col[j][n] = '\0';
				}
			}
			mysql_free_result(res);
		} else if (mysql_field_count(t->my) != 0) {
			note_error(t, "floor", mysql_error(t->my));
			return -1;
		} else if (rows != NULL && i < nres)
			rows[i].rows = -1;
		i++;
		if ((rc = mysql_next_result(t->my)) == -1)
			break;
		if (rc > 0) {
			note_error(t, "floor", mysql_error(t->my));
			return -1;
		}
	}
	if (i != nres) {
		note_error(t, "floor", "unexpected number of results");
		return -1;
	}
	return 0;
}

static int
operate_floor(struct thread *t, long long s)
{
	char node[TEXT_MAX], flow[TEXT_MAX], rid[TEXT_MAX], data[TEXT_MAX],
	    now[TIME_TEXT], nver[40], pipe[PCOL_MAX], target[PCOL_MAX],
	    version[PCOL_MAX], proot[PCOL_MAX], top[PCOL_MAX], queue[PCOL_MAX],
	    rkey[PCOL_MAX + 16], body[6 * PCOL_MAX], tail[2 * PCOL_MAX],
	    zrem[2 * PCOL_MAX], inputs[1024];
	struct prow *rw = t->rows;
	long long task = t->o->task_base + s % t->o->tasks, biz = BIZ_ID,
	    state_id, pid, priority, sched;
	enum kind k = kinds[s % 10];
	const char *action = k == SKIP ? "skip" : k == SKIP_EXG ? "skip_exg" :
	    k == CALLBACK ? "callback" : "retry";
	const char *why;
	int nread = k == SKIP || k == SKIP_EXG ? F_MORE : F_NREAD;
	double epoch;

	epoch = slot_texts(s, node, flow, rid, data, now);

	/* Round trip 1: the reads, in the design's lock order. */
	t->sqllen = 0;
	t->nstmt = 0;
	sql_text(t, resolve_cmdb, (struct arg[]){ S(USERNAME), I(biz), S(APP_CODE),
	    S(NULL), I(biz) }, 5);
	sql_text(t, plain_sql[P_TASK], (struct arg[]){ I(task) }, 1);
	sql_text(t, plain_sql[P_REPLAY], (struct arg[]){ S(APP_CODE), S(rid),
	    S(action), I(task), S(node), S(now) }, 6);
	sql_text(t, floor_root_sql, (struct arg[]){ I(task) }, 1);
	sql_text(t, plain_sql[P_NODE], (struct arg[]){ S(node), S(node) }, 2);
	sql_text(t, plain_sql[P_PROC], (struct arg[]){ S(node), S(node) }, 2);
	if (k == CALLBACK)
		sql_text(t, floor_sched_sql, (struct arg[]){ S(node), S(node) }, 2);
	else if (k == RETRY || k == RETRY_INPUTS)
		sql_text(t, plain_sql[P_DATA], (struct arg[]){ S(node), S(node) }, 2);
	if (t->nstmt != nread || round_trip(t, rw, nread) != 0)
		return plain_fail(t, NULL);

	/* The checks, as b2 makes them between its statements. */
	/* the resolve: a row, the grant counted (store_resolve's "permitted") */
	if (rw[F_RESOLVE].rows != 1 || rw[F_RESOLVE].null[7] ||
	    atoll(rw[F_RESOLVE].col[7]) <= 0)
		return plain_fail(t, "resolve: not permitted");
	rw += F_TASK;
	if (rw->rows != 1 || atoll(rw->col[0]) != 1 || atoll(rw->col[1]) != 0 ||
	    atoll(rw->col[2]) != 2 || rw->null[3] || atoll(rw->col[4]) != 0)
		return plain_fail(t, "task refused");
	snprintf(pipe, sizeof(pipe), "%s", rw->col[3]);
	rw = &t->rows[F_ROOT];
	if (rw->rows != 1 || strcmp(rw->col[0], "REVOKED") == 0 ||
	    strcmp(rw->col[0], "FINISHED") == 0)
		return plain_fail(t, "task not running");
	rw = &t->rows[F_NODE];
	if (rw->rows != 1 || rw->null[1])
		return plain_fail(t, "node");
	if ((why = node_check(k, rw, pipe, flow, target)) != NULL)
		return plain_fail(t, why);
	state_id = atoll(rw->col[1]);
	snprintf(version, sizeof(version), "%s", rw->col[3]);
	rw = &t->rows[F_PROC];
	if (rw->rows != 1)
		return plain_fail(t, "process");
	pid = atoll(rw->col[0]);
	proc_fields(rw, proot, top);
	snprintf(queue, sizeof(queue), "%s", rw->col[3]);
	priority = atoll(rw->col[4]);
	rw = &t->rows[F_MORE];
	if (k == CALLBACK && (rw->rows != 1 || atoll(rw->col[1]) ||
	    atoll(rw->col[2])))
		return plain_fail(t, "schedule");
	if ((k == RETRY || k == RETRY_INPUTS) && rw->rows != 1)
		return plain_fail(t, "no inputs");

	/* Round trip 2: the writes and COMMIT. */
	t->sqllen = 0;
	t->nstmt = 0;
	if (k == CALLBACK) {
		sched = atoll(rw->col[0]);
		sql_text(t, plain_sql[P_CBDATA], (struct arg[]){ S(node), S(version),
		    S(data) }, 3);
		snprintf(rkey, sizeof(rkey), queue[0] ? "er_schedule_%s" : "er_schedule",
		    queue);
		snprintf(body, sizeof(body), "{\"process_id\": %lld, \"node_id\": \"%s\", "
		    "\"schedule_id\": %lld, \"callback_data_id\": ", pid, node, sched);
		snprintf(tail, sizeof(tail), ", \"recover_point\": \"{}\", \"headers\": "
		    "{\"route_info\": {\"queue\": \"%s\", \"priority\": %lld}, "
		    "\"timestamp\": %.6f}}", queue, priority, epoch);
		sql_text(t, floor_cb_outbox_sql, (struct arg[]){ S("celery"),
		    S("pipeline.eri.celery.tasks.schedule"), S("default"), S(rkey),
		    I(priority), S(body), S(tail), S(rid), S(now) }, 9);
	} else {
		new_version(nver);
		sql_text(t, plain_sql[P_ARCHIVE], (struct arg[]){ S(now), I(state_id) }, 2);
		if (k == RETRY_INPUTS) {
			/* as b2: bk-sops' rules on the seeded inputs */
			snprintf(inputs, sizeof(inputs), "{\"a\": {\"need_render\": true, "
			    "\"value\": \"new-%lld\"}, \"b\": {\"need_render\": false, "
			    "\"value\": {\"x\": 1}}, \"__executor_proxy\": {\"need_render\": "
			    "true, \"value\": \"\"}}", s);
			sql_text(t, plain_sql[P_DATA_UPD], (struct arg[]){ S(inputs),
			    S(node), S(node) }, 3);
		}
		if (k == RETRY || k == RETRY_INPUTS)
			sql_text(t, plain_sql[P_RETRY_STATE], (struct arg[]){ S(nver),
			    I(state_id) }, 2);
		else
			sql_text(t, plain_sql[P_SKIP_STATE], (struct arg[]){ S(nver),
			    S(now), I(state_id) }, 3);
		snprintf(rkey, sizeof(rkey), queue[0] ? "er_execute_%s" : "er_execute",
		    queue);
		snprintf(body, sizeof(body), "{\"process_id\": %lld, \"node_id\": \"%s\", "
		    "\"root_pipeline_id\": \"%s\", \"parent_pipeline_id\": \"%s\", "
		    "\"recover_point\": \"{}\", \"headers\": {\"route_info\": {\"queue\": "
		    "\"%s\", \"priority\": %lld}, \"timestamp\": %.6f}}", pid,
		    k == SKIP || k == SKIP_EXG ? target : node, proot, top, queue,
		    priority, epoch);
		if (k == SKIP || k == SKIP_EXG) {
			snprintf(zrem, sizeof(zrem), "[\"%s_%s\"]", node, nver);
			sql_text(t, plain_sql[P_OUTBOX2], (struct arg[]){ S("celery"),
			    S("pipeline.eri.celery.tasks.execute"), S("default"), S(rkey),
			    I(priority), S(body), S(rid), S(now), S("redis"), S("ZREM"),
			    S(""), S("sops_executing_node_pool"), S(NULL), S(zrem), S(rid),
			    S(now) }, 16);
		} else
			sql_text(t, plain_sql[P_OUTBOX1], (struct arg[]){ S("celery"),
			    S("pipeline.eri.celery.tasks.execute"), S("default"), S(rkey),
			    I(priority), S(body), S(rid), S(now) }, 8);
	}
	sql_text(t, plain_sql[P_RECORD], (struct arg[]){ S(USERNAME), S(action),
	    I(task), I(1), S(now), S(node), S("") }, 7);
	sql_text(t, "COMMIT", NULL, 0);
	if (round_trip(t, NULL, t->nstmt) != 0)
		return plain_fail(t, NULL);
	return 0;
}

static int
connect_thread(struct thread *t)
{
	const struct opts *o = t->o;

	t->my = mysql_init(NULL);
	if (t->my == NULL)
		return -1;
	mysql_options(t->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* The service's session settings (lib/db.c). */
	mysql_options(t->my, MYSQL_INIT_COMMAND,
	    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
	if (mysql_real_connect(t->my, NULL, o->user, NULL, o->db, 0, o->socket,
	    o->floor2 ? CLIENT_MULTI_STATEMENTS : 0) == NULL) {
		fprintf(stderr, "dbdriver: connect: %s\n", mysql_error(t->my));
		return -1;
	}
	t->resolve = mysql_stmt_init(t->my);
	t->call = mysql_stmt_init(t->my);
	if (t->resolve == NULL || t->call == NULL ||
	    mysql_stmt_prepare(t->resolve, resolve_cmdb, strlen(resolve_cmdb)) ||
	    mysql_stmt_prepare(t->call, call_sql, strlen(call_sql))) {
		fprintf(stderr, "dbdriver: prepare: %s\n", mysql_error(t->my));
		return -1;
	}
	if (o->floor2) {
		/* b3: the first statement of a round trip opens the transaction */
		t->rows = malloc(F_NREAD * sizeof(*t->rows));
		if (t->rows == NULL || mysql_autocommit(t->my, 0) != 0) {
			fprintf(stderr, "dbdriver: autocommit: %s\n", mysql_error(t->my));
			return -1;
		}
	}
	if (o->plain) {
		t->row = malloc(sizeof(*t->row));
		if (t->row == NULL)
			return -1;
		for (int k = 0; k < P_NSTMT; k++) {
			t->plain[k] = mysql_stmt_init(t->my);
			if (t->plain[k] == NULL || mysql_stmt_prepare(t->plain[k],
			    plain_sql[k], strlen(plain_sql[k])) != 0) {
				fprintf(stderr, "dbdriver: prepare %s: %s\n", plain_sql[k],
				    mysql_error(t->my));
				return -1;
			}
		}
	}
	return 0;
}

static void *
run(void *arg)
{
	struct thread *t = arg;
	const struct opts *o = t->o;

	pthread_barrier_wait(&start_line);
	while (!past(&deadline)) {
		long long s = atomic_fetch_add(&next_slot, 1);
		if (s >= o->hi) {
			t->exhausted++;
			note_error(t, "seed", "slots exhausted");
			break;
		}
		double t0 = now_s();
		if (o->floor2 ? operate_floor(t, s) == -1 : resolve(t) == -1 ||
		    (o->plain ? operate_plain(t, s) : operate(t, s)) == -1)
			continue;
		t->ok++;
		add_latency(t, (uint32_t)((now_s() - t0) * 1e6 + 0.5));
	}
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile (as wrk's histogram gives it). */
static uint32_t
percentile(const uint32_t *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	return v[rank > n ? n - 1 : rank - 1];
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static long long
num(const char *s, const char *what)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0) {
		fprintf(stderr, "dbdriver: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct opts o = { .user = "root", .db = "operate_node", .conns = 16,
	    .seconds = 10, .tasks = 1 };
	struct thread *th;
	size_t total = 0, k = 0;
	uint32_t *all;
	long long ok = 0, fails = 0, exhausted = 0;
	const char *first = "";
	char line[64];
	double t0, elapsed;
	int ch;

	while ((ch = getopt(argc, argv, "S:D:u:c:d:l:h:n:b:p:m:")) != -1) {
		switch (ch) {
		case 'S': o.socket = optarg; break;
		case 'D': o.db = optarg; break;
		case 'u': o.user = optarg; break;
		case 'c': o.conns = (int)num(optarg, "conns"); break;
		case 'd': o.seconds = (double)num(optarg, "seconds"); break;
		case 'l': o.lo = num(optarg, "lo"); break;
		case 'h': o.hi = num(optarg, "hi"); break;
		case 'n': o.tasks = num(optarg, "tasks"); break;
		case 'b': o.task_base = num(optarg, "task base"); break;
		case 'm':
			o.plain = strcmp(optarg, "plain") == 0;
			o.floor2 = strcmp(optarg, "floor") == 0;
			if (!o.plain && !o.floor2) {
				fprintf(stderr, "dbdriver: -m plain or -m floor\n");
				return 2;
			}
			break;
		case 'p':
			puts(strcmp(optarg, "project") == 0 ? resolve_project :
			    resolve_cmdb);
			return 0;
		default:
			fprintf(stderr, "usage: see the comment in dbdriver.c\n");
			return 2;
		}
	}
	if (o.socket == NULL || o.conns < 1 || o.tasks < 1 || o.hi <= o.lo) {
		fprintf(stderr, "dbdriver: -S, -c >= 1, -n >= 1, -h > -l needed\n");
		return 2;
	}
	if (mysql_library_init(0, NULL, NULL) != 0)
		return 1;
	th = calloc((size_t)o.conns, sizeof(*th));
	if (th == NULL)
		return 1;
	for (int i = 0; i < o.conns; i++) {
		th[i].o = &o;
		if (connect_thread(&th[i]) == -1)
			return 1;
	}
	puts("ready");
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	atomic_store(&next_slot, o.lo);
	pthread_barrier_init(&start_line, NULL, (unsigned)o.conns + 1);
	for (int i = 0; i < o.conns; i++)
		if (pthread_create(&th[i].tid, NULL, run, &th[i]) != 0)
			return 1;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)o.seconds;
	t0 = now_s();
	pthread_barrier_wait(&start_line);
	for (int i = 0; i < o.conns; i++) {
		pthread_join(th[i].tid, NULL);
		total += th[i].nlat;
	}
	elapsed = now_s() - t0;
	all = malloc((total ? total : 1) * sizeof(*all));
	if (all == NULL)
		return 1;
	for (int i = 0; i < o.conns; i++) {
		memcpy(all + k, th[i].lat, th[i].nlat * sizeof(*all));
		k += th[i].nlat;
		ok += th[i].ok;
		fails += th[i].fails;
		exhausted += th[i].exhausted;
		if (*first == '\0' && th[i].first_error[0])
			first = th[i].first_error;
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	printf("{\"requests\":%lld,\"ok\":%lld,\"fails\":%lld,\"exhausted\":%lld,"
	    "\"seconds\":%.3f,\"rps\":%.1f,\"p50_us\":%u,\"p99_us\":%u,"
	    "\"max_us\":%u,\"next_slot\":%lld,\"first_error\":", ok + fails, ok,
	    fails, exhausted, elapsed, (double)ok / elapsed,
	    percentile(all, total, 50), percentile(all, total, 99),
	    total ? all[total - 1] : 0, (long long)atomic_load(&next_slot));
	json_str(first);
	puts("}");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL)
		;
	for (int i = 0; i < o.conns; i++) {
		mysql_stmt_close(th[i].resolve);
		mysql_stmt_close(th[i].call);
		for (int j = 0; o.plain && j < P_NSTMT; j++)
			mysql_stmt_close(th[i].plain[j]);
		free(th[i].row);
		free(th[i].rows);
		free(th[i].sql);
		mysql_close(th[i].my);
		free(th[i].lat);
	}
	free(all);
	free(th);
	mysql_library_end();
	return 0;
}
