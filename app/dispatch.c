/*
 * The outbox dispatcher. In one transaction it claims undispatched rows of
 * `opn$outbox` in id order (FOR UPDATE SKIP LOCKED, so dispatchers of
 * several pools never send one row at the same time), sends them, waits
 * for the broker's confirms, marks them dispatched and commits. A crash
 * anywhere before the commit sends the rows again: at least once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <hiredis/hiredis.h>
#include <mysql.h>

#include "celery.h"
#include "clock.h"
#include "db.h"
#include "dispatch.h"
#include "log.h"
#include "proc.h"
#include "url.h"
#include "xmalloc.h"

#define CHANNEL 1
#define FRAME_MAX 131072	/* rabbitmq-c's default frame size */
#define CONFIRM_TIMEOUT_MS 10000	/* the broker confirms in ms; 10 s is a dead one */
#define POLL_MS 1000		/* rows from other pools' workers wake nobody */
#define BACKLOG_EVERY_MS 1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define BODY_MAX (1 << 20)	/* one row's body; the procedures write < 1 kB */
#define NAME_MAX_LEN 256	/* the outbox's varchar(255) columns */
#define DECLARED_MAX 64
#define MAX_PRIORITY 255	/* bamboo's queues: max_priority=255 */

static int wake_rd = -1, wake_wr = -1;
static volatile sig_atomic_t stop, reopen;

enum row_state { R_NEW, R_SENT, R_ACKED, R_DONE, R_REJECTED, R_FAILED };

struct row {
	int64_t id;
	char kind[17];
	char *name, *exchange, *routing_key, *body;
	int64_t priority;	/* -1: NULL */
	int64_t countdown;	/* -1: NULL */
	int64_t created_us;
	enum row_state state;
	int returned;
	uint64_t tag;		/* the publish's delivery tag */
	char task_id[CELERY_ID_LEN + 1];
};

struct dispatcher {
	const struct config *cfg;
	struct metrics_dispatch *md;
	struct db_params dbp;
	struct db *db;
	int s_claim, s_done, s_backlog;
	amqp_connection_state_t amqp;	/* NULL: not connected */
	uint64_t tag;			/* last delivery tag on the channel */
	redisContext *redis;
	struct row *rows;
	int nrows;
	char *body_buf;
	char origin[300];		/* celery's anon_nodename(): gen<pid>@<host> */
	char reply_to[CELERY_ID_LEN + 1];
	char *declared[DECLARED_MAX];	/* routing keys declared on this connection */
	int ndeclared;
	struct timespec backlog_at;
};

/* Wake-up pipe ---------------------------------------------------------- */

int
dispatch_wake_init(char *err, size_t errlen)
{
	int fds[2];

	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	wake_rd = fds[0];
	wake_wr = fds[1];
	return 0;
}

void
dispatch_wake(void)
{
	char c = 1;

	/* EAGAIN: the pipe is full, so the dispatcher is awake anyway. */
	if (wake_wr != -1 && write(wake_wr, &c, 1) == -1 && errno != EAGAIN)
		return;
}

static void
drain_wake(void)
{
	char b[512];

	while (wake_rd != -1 && read(wake_rd, b, sizeof(b)) > 0)
		;
}

/* Status ---------------------------------------------------------------- */

static void
set_state(struct dispatcher *d, int state)
{
	if (d->md)
		__atomic_store_n(&d->md->state, state, __ATOMIC_RELAXED);
}

static void
count(struct dispatcher *d, uint64_t *field, uint64_t n)
{
	if (d->md && n)
		__atomic_fetch_add(field, n, __ATOMIC_RELAXED);
}

static void
problem(struct dispatcher *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Logs and remembers the last problem for /status. */
static void
problem(struct dispatcher *d, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(LOG_WARN, "dispatcher: %s", msg);
	if (d->md) {
		size_t n = strlen(msg), cap = sizeof(d->md->last_error) - 1;
		memcpy(d->md->last_error, msg, n < cap ? n : cap);
		d->md->last_error[n < cap ? n : cap] = '\0';
	}
}

/* AMQP ------------------------------------------------------------------ */

static void
amqp_down(struct dispatcher *d)
{
	if (d->amqp == NULL)
		return;
	/* No close handshake: the peer may be gone, and it would block. */
	amqp_destroy_connection(d->amqp);
	d->amqp = NULL;
	for (int i = 0; i < d->ndeclared; i++)
		free(d->declared[i]);
	d->ndeclared = 0;
}

static const char *
rpc_error(amqp_rpc_reply_t r, char *buf, size_t n)
{
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
		return amqp_error_string2(r.library_error);
	if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t *c = r.reply.decoded;
			snprintf(buf, n, "%d %.*s", c->reply_code,
			    (int)c->reply_text.len, (char *)c->reply_text.bytes);
		} else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			amqp_channel_close_t *c = r.reply.decoded;
			snprintf(buf, n, "%d %.*s", c->reply_code,
			    (int)c->reply_text.len, (char *)c->reply_text.bytes);
		} else
			snprintf(buf, n, "server method 0x%08x", r.reply.id);
		return buf;
	}
	return "no reply";
}

static int
amqp_up(struct dispatcher *d)
{
	const struct config *cfg = d->cfg;
	struct timeval tv = { (time_t)cfg->db_connect_timeout, 0 };
	struct url u;
	char err[256], why[256];
	amqp_socket_t *sock;
	amqp_rpc_reply_t r;
	int st;

	if (url_parse(cfg->broker_url, "amqp", &u, err, sizeof(err)) == -1) {
		problem(d, "broker_url: %s", err);
		return -1;
	}
	d->amqp = amqp_new_connection();
	sock = d->amqp ? amqp_tcp_socket_new(d->amqp) : NULL;
	if (sock == NULL)
		xoom();
	amqp_set_handshake_timeout(d->amqp, &tv);
	amqp_set_rpc_timeout(d->amqp, &tv);
	if ((st = amqp_socket_open_noblock(sock, u.host, u.port, &tv)) != 0) {
		problem(d, "broker %s:%d: %s", u.host, u.port,
		    amqp_error_string2(st));
		goto fail;
	}
	/* No heartbeat: an idle dispatcher would not service it; a dead
	 * connection shows at the next publish as a missing confirm. */
	r = amqp_login(d->amqp, u.path, 0, FRAME_MAX, 0, AMQP_SASL_METHOD_PLAIN,
	    u.user, cfg->broker_password);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		problem(d, "broker login as \"%s\" on vhost \"%s\": %s", u.user,
		    u.path, rpc_error(r, why, sizeof(why)));
		goto fail;
	}
	amqp_channel_open(d->amqp, CHANNEL);
	if ((r = amqp_get_rpc_reply(d->amqp)).reply_type == AMQP_RESPONSE_NORMAL) {
		amqp_confirm_select(d->amqp, CHANNEL);
		r = amqp_get_rpc_reply(d->amqp);
	}
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		problem(d, "broker channel: %s", rpc_error(r, why, sizeof(why)));
		goto fail;
	}
	/* rabbitmq-c writes on a blocking socket: a broker that stops
	 * reading (a memory alarm, a dead peer) must not hang us for ever. */
	struct timeval wt = { (time_t)cfg->db_write_timeout, 0 };
	setsockopt(amqp_get_sockfd(d->amqp), SOL_SOCKET, SO_SNDTIMEO, &wt,
	    sizeof(wt));
	d->tag = 0;
	log_msg(LOG_INFO, "dispatcher: connected to broker %s:%d vhost \"%s\"",
	    u.host, u.port, u.path);
	return 0;
fail:
	amqp_down(d);
	return -1;
}

/*
 * broker_declare = yes: what Celery's publisher declares before it sends
 * (kombu maybe_declare of the route's Queue): exchange 'default', direct,
 * durable, and the queue, durable, x-max-priority 255, bound by its name.
 * A queue that exists with other arguments makes the broker close the
 * channel (406 PRECONDITION_FAILED): the row then waits, and it is logged.
 */
static int
declare(struct dispatcher *d, const struct row *r)
{
	amqp_table_entry_t arg = { amqp_cstring_bytes("x-max-priority"),
		{ AMQP_FIELD_KIND_I32, { .i32 = MAX_PRIORITY } } };
	amqp_table_t args = { 1, &arg };
	amqp_rpc_reply_t rr;
	char why[256];

	for (int i = 0; i < d->ndeclared; i++)
		if (strcmp(d->declared[i], r->routing_key) == 0)
			return 0;
	if (r->exchange[0])
		amqp_exchange_declare(d->amqp, CHANNEL,
		    amqp_cstring_bytes(r->exchange), amqp_cstring_bytes("direct"),
		    0, 1, 0, 0, amqp_empty_table);
	if ((rr = amqp_get_rpc_reply(d->amqp)).reply_type == AMQP_RESPONSE_NORMAL)
		amqp_queue_declare(d->amqp, CHANNEL,
		    amqp_cstring_bytes(r->routing_key), 0, 1, 0, 0, args);
	if ((rr = amqp_get_rpc_reply(d->amqp)).reply_type == AMQP_RESPONSE_NORMAL &&
	    r->exchange[0])
		amqp_queue_bind(d->amqp, CHANNEL, amqp_cstring_bytes(r->routing_key),
		    amqp_cstring_bytes(r->exchange),
		    amqp_cstring_bytes(r->routing_key), amqp_empty_table);
	if (r->exchange[0])
		rr = amqp_get_rpc_reply(d->amqp);
	if (rr.reply_type != AMQP_RESPONSE_NORMAL) {
		problem(d, "declaring queue %s: %s", r->routing_key,
		    rpc_error(rr, why, sizeof(why)));
		return -1;
	}
	if (d->ndeclared < DECLARED_MAX)
		d->declared[d->ndeclared++] = xstrdup(r->routing_key);
	return 0;
}

static amqp_table_entry_t
entry(const char *key, amqp_field_value_t v)
{
	return (amqp_table_entry_t){ amqp_cstring_bytes(key), v };
}

static amqp_field_value_t
str_value(const char *s)
{
	return (amqp_field_value_t){ AMQP_FIELD_KIND_UTF8,
		{ .bytes = amqp_cstring_bytes(s) } };
}

static amqp_field_value_t
void_value(void)
{
	return (amqp_field_value_t){ AMQP_FIELD_KIND_VOID, { .i32 = 0 } };
}

/* as_task_v2's headers, in its order (celery/app/amqp.py, 5.2.7). */
static int
publish(struct dispatcher *d, struct row *r, const struct celery_msg *m)
{
	amqp_field_value_t nulls[2] = { void_value(), void_value() };
	amqp_field_value_t timelimit = { AMQP_FIELD_KIND_ARRAY,
		{ .array = { 2, nulls } } };
	amqp_field_value_t ignore = { AMQP_FIELD_KIND_BOOLEAN,
		{ .boolean = (amqp_boolean_t)celery_ignore_result(r->name) } };
	amqp_field_value_t zero = { AMQP_FIELD_KIND_I32, { .i32 = 0 } };
	amqp_table_entry_t h[] = {
		entry("lang", str_value("py")),
		entry("task", str_value(r->name)),
		entry("id", str_value(m->id)),
		entry("shadow", void_value()),
		entry("eta", m->eta[0] ? str_value(m->eta) : void_value()),
		entry("expires", void_value()),
		entry("group", void_value()),
		entry("group_index", void_value()),
		entry("retries", zero),
		entry("timelimit", timelimit),
		entry("root_id", str_value(m->id)),
		entry("parent_id", void_value()),
		entry("argsrepr", str_value("()")),
		entry("kwargsrepr", str_value(m->kwargsrepr.data)),
		entry("origin", str_value(d->origin)),
		entry("ignore_result", ignore),
	};
	amqp_basic_properties_t p = {
		._flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
		    AMQP_BASIC_CONTENT_ENCODING_FLAG | AMQP_BASIC_HEADERS_FLAG |
		    AMQP_BASIC_DELIVERY_MODE_FLAG |
		    AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_REPLY_TO_FLAG |
		    /* no priority: Celery passes None and kombu sends none */
		    (r->priority < 0 ? 0 : AMQP_BASIC_PRIORITY_FLAG),
		.content_type = amqp_cstring_bytes("application/json"),
		.content_encoding = amqp_cstring_bytes("utf-8"),
		.headers = { (int)(sizeof(h) / sizeof(*h)), h },
		.delivery_mode = 2,		/* persistent */
		.priority = (uint8_t)(r->priority < 0 ? 0 : r->priority >
		    MAX_PRIORITY ? MAX_PRIORITY : r->priority),
		.correlation_id = amqp_cstring_bytes(m->id),
		.reply_to = amqp_cstring_bytes(d->reply_to),
	};
	amqp_bytes_t body = { m->body.len, m->body.data };
	int st;

	/* mandatory: a route with no queue comes back (basic.return) instead
	 * of vanishing; the row then stays undispatched. */
	st = amqp_basic_publish(d->amqp, CHANNEL, amqp_cstring_bytes(r->exchange),
	    amqp_cstring_bytes(r->routing_key), 1, 0, &p, body);
	if (st != AMQP_STATUS_OK) {
		problem(d, "publish row %lld: %s", (long long)r->id,
		    amqp_error_string2(st));
		return -1;
	}
	r->tag = ++d->tag;
	r->state = R_SENT;
	snprintf(r->task_id, sizeof(r->task_id), "%s", m->id);
	log_msg(LOG_DEBUG, "dispatcher: row %lld sent as task %s to %s/%s",
	    (long long)r->id, m->id, r->exchange, r->routing_key);
	return 0;
}

static void
settle(struct dispatcher *d, uint64_t tag, int multiple, int ok)
{
	for (int i = 0; i < d->nrows; i++) {
		struct row *r = &d->rows[i];
		if (r->state != R_SENT || r->tag > tag || (!multiple && r->tag != tag))
			continue;
		r->state = ok && !r->returned ? R_ACKED : R_FAILED;
	}
}

static int
pending(const struct dispatcher *d)
{
	int n = 0;
	for (int i = 0; i < d->nrows; i++)
		n += d->rows[i].state == R_SENT;
	return n;
}

/* A returned message names its row by its correlation id (the task id). */
static int
on_return(struct dispatcher *d, amqp_frame_t *f)
{
	amqp_basic_return_t *ret = f->payload.method.decoded;
	amqp_message_t msg;
	amqp_rpc_reply_t rr;

	problem(d, "broker returned a message for exchange \"%.*s\" routing key "
	    "\"%.*s\": %d %.*s (no queue bound: start the engine's workers, or "
	    "set broker_declare)", (int)ret->exchange.len,
	    (char *)ret->exchange.bytes, (int)ret->routing_key.len,
	    (char *)ret->routing_key.bytes, ret->reply_code,
	    (int)ret->reply_text.len, (char *)ret->reply_text.bytes);
	rr = amqp_read_message(d->amqp, f->channel, &msg, 0);
	if (rr.reply_type != AMQP_RESPONSE_NORMAL)
		return -1;
	for (int i = 0; i < d->nrows; i++)
		if (d->rows[i].state == R_SENT &&
		    msg.properties.correlation_id.len == CELERY_ID_LEN &&
		    memcmp(d->rows[i].task_id, msg.properties.correlation_id.bytes,
		    CELERY_ID_LEN) == 0)
			d->rows[i].returned = 1;
	amqp_destroy_message(&msg);
	return 0;
}

static int
wait_confirms(struct dispatcher *d)
{
	struct timespec deadline;
	char why[256];

	clock_now(&deadline);
	clock_add_ms(&deadline, CONFIRM_TIMEOUT_MS);
	while (pending(d) > 0) {
		long left = clock_ms_left(&deadline);
		struct timeval tv = clock_ms_tv(left);
		amqp_frame_t f;
		if (left <= 0) {
			problem(d, "no publisher confirm within %d ms",
			    CONFIRM_TIMEOUT_MS);
			return -1;
		}
		amqp_maybe_release_buffers(d->amqp);
		int st = amqp_simple_wait_frame_noblock(d->amqp, &f, &tv);
		if (st != AMQP_STATUS_OK && st != AMQP_STATUS_TIMEOUT) {
			problem(d, "waiting for confirms: %s", amqp_error_string2(st));
			return -1;
		}
		if (st != AMQP_STATUS_OK || f.frame_type != AMQP_FRAME_METHOD)
			continue;
		switch (f.payload.method.id) {
		case AMQP_BASIC_ACK_METHOD: {
			amqp_basic_ack_t *a = f.payload.method.decoded;
			settle(d, a->delivery_tag, a->multiple, 1);
			break;
		}
		case AMQP_BASIC_NACK_METHOD: {
			amqp_basic_nack_t *a = f.payload.method.decoded;
			problem(d, "broker nacked delivery %llu",
			    (unsigned long long)a->delivery_tag);
			settle(d, a->delivery_tag, a->multiple, 0);
			break;
		}
		case AMQP_BASIC_RETURN_METHOD:
			if (on_return(d, &f) == -1)
				return -1;
			break;
		case AMQP_CHANNEL_CLOSE_METHOD:
		case AMQP_CONNECTION_CLOSE_METHOD: {
			amqp_rpc_reply_t rr = { AMQP_RESPONSE_SERVER_EXCEPTION,
				f.payload.method, 0 };
			problem(d, "broker closed the channel: %s",
			    rpc_error(rr, why, sizeof(why)));
			return -1;
		}
		}
	}
	return 0;
}

/* Redis ------------------------------------------------------------------ */

static void
redis_down(struct dispatcher *d)
{
	if (d->redis)
		redisFree(d->redis);
	d->redis = NULL;
}

static int
redis_ok(struct dispatcher *d, redisReply *rep, const char *what)
{
	int ok = rep && rep->type != REDIS_REPLY_ERROR;

	if (!ok)
		problem(d, "redis %s: %s", what, rep ? rep->str : d->redis->errstr);
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}

static int
redis_up(struct dispatcher *d)
{
	struct timeval tv = { (time_t)d->cfg->db_connect_timeout, 0 };
	struct url u;
	char err[256];

	if (url_parse(d->cfg->redis_url, "redis", &u, err, sizeof(err)) == -1) {
		problem(d, "redis_url: %s", err);
		return -1;
	}
	d->redis = redisConnectWithTimeout(u.host, u.port, tv);
	if (d->redis == NULL || d->redis->err) {
		problem(d, "redis %s:%d: %s", u.host, u.port,
		    d->redis ? d->redis->errstr : "out of memory");
		goto fail;
	}
	tv.tv_sec = (time_t)d->cfg->db_read_timeout;
	redisSetTimeout(d->redis, tv);
	if (u.password[0] && redis_ok(d, u.user[0] ?
	    redisCommand(d->redis, "AUTH %s %s", u.user, u.password) :
	    redisCommand(d->redis, "AUTH %s", u.password), "AUTH") == -1)
		goto fail;
	if (u.path[0] && strcmp(u.path, "0") != 0 &&
	    redis_ok(d, redisCommand(d->redis, "SELECT %s", u.path),
	    "SELECT") == -1)
		goto fail;
	return 0;
fail:
	redis_down(d);
	return -1;
}

/*
 * Runs "name key args..." from the row. Returns 0 done, 1 the row can
 * never succeed (rejected), -1 the connection failed (the row waits).
 */
static int
redis_row(struct dispatcher *d, struct row *r)
{
	struct json_object *args = json_tokener_parse(r->body);
	const char *argv[64];
	size_t lens[64];
	int argc = 0, rc = 1;
	redisReply *rep;

	if (args == NULL || !json_object_is_type(args, json_type_array) ||
	    json_object_array_length(args) > 62) {
		problem(d, "row %lld: body is not a JSON array of arguments",
		    (long long)r->id);
		goto out;
	}
	argv[argc] = r->name, lens[argc++] = strlen(r->name);
	argv[argc] = r->routing_key, lens[argc++] = strlen(r->routing_key);
	for (size_t i = 0; i < json_object_array_length(args); i++) {
		struct json_object *a = json_object_array_get_idx(args, i);
		argv[argc] = json_object_get_string(a);
		lens[argc] = strlen(argv[argc]);
		argc++;
	}
	rep = redisCommandArgv(d->redis, argc, argv, lens);
	if (rep == NULL) {
		problem(d, "redis: %s", d->redis->errstr);
		redis_down(d);
		rc = -1;
		goto out;
	}
	rc = rep->type == REDIS_REPLY_ERROR;
	if (rc)
		problem(d, "row %lld: redis %s: %s", (long long)r->id, r->name,
		    rep->str);
	freeReplyObject(rep);
out:
	if (args)
		json_object_put(args);
	return rc;
}

/* The outbox ------------------------------------------------------------- */

static void
free_rows(struct dispatcher *d)
{
	for (int i = 0; i < d->nrows; i++) {
		struct row *r = &d->rows[i];
		free(r->name);
		free(r->exchange);
		free(r->routing_key);
		free(r->body);
	}
	d->nrows = 0;
}

static int
add_row(void *arg, const struct db_val *c)
{
	struct dispatcher *d = arg;
	struct row *r = &d->rows[d->nrows++];

	memset(r, 0, sizeof(*r));
	r->id = c[0].i;
	snprintf(r->kind, sizeof(r->kind), "%s", c[1].str);
	r->name = xstrdup(c[2].str);
	r->exchange = xstrdup(c[3].str);
	r->routing_key = xstrdup(c[4].str);
	r->priority = c[5].is_null ? -1 : c[5].i;
	r->body = xstrdup(c[6].str);
	r->countdown = c[7].is_null ? -1 : c[7].i;
	r->created_us = c[8].i;
	return d->nrows < d->cfg->dispatch_batch ? 0 : -1;
}

static int
claim(struct dispatcher *d)
{
	char kind[17], name[NAME_MAX_LEN], ex[NAME_MAX_LEN], rk[NAME_MAX_LEN];
	struct db_val lim = db_int(d->cfg->dispatch_batch);
	struct db_val c[9] = {
		{ .type = DB_INT }, { .type = DB_STR, .str = kind, .cap = sizeof(kind) },
		{ .type = DB_STR, .str = name, .cap = sizeof(name) },
		{ .type = DB_STR, .str = ex, .cap = sizeof(ex) },
		{ .type = DB_STR, .str = rk, .cap = sizeof(rk) },
		{ .type = DB_INT }, { .type = DB_STR, .str = d->body_buf,
		.cap = BODY_MAX }, { .type = DB_INT }, { .type = DB_INT },
	};

	d->nrows = 0;
	/* add_row stops at the batch size, which LIMIT already ensures. */
	if (db_exec_rows(d->db, d->s_claim, &lim, 1, c, 9, add_row, d) == -1 &&
	    d->nrows < d->cfg->dispatch_batch)
		return -1;
	return 0;
}

static void
celery_row(struct dispatcher *d, struct row *r, int *amqp_tried)
{
	struct json_object *kw = json_tokener_parse(r->body);
	struct celery_msg m = { 0 };
	char err[256];

	if (celery_build(&m, r->name, kw, r->countdown > 0 ? r->created_us +
	    r->countdown * 1000000 : -1, err, sizeof(err)) == -1) {
		problem(d, "row %lld: %s", (long long)r->id, err);
		r->state = R_REJECTED;
		goto out;
	}
	if (d->amqp == NULL && !*amqp_tried) {
		*amqp_tried = 1;
		amqp_up(d);
	}
	if (d->amqp == NULL || (d->cfg->broker_declare && declare(d, r) == -1) ||
	    publish(d, r, &m) == -1) {
		r->state = R_FAILED;
		amqp_down(d);
	}
out:
	celery_free(&m);
	if (kw)
		json_object_put(kw);
}

static void
send_rows(struct dispatcher *d)
{
	int amqp_tried = 0, redis_tried = 0;

	for (int i = 0; i < d->nrows; i++) {
		struct row *r = &d->rows[i];
		if (strcmp(r->kind, "celery") == 0)
			celery_row(d, r, &amqp_tried);
		else if (strcmp(r->kind, "redis") == 0 && !d->cfg->redis_url[0])
			r->state = R_DONE;	/* redis effects are off */
		else if (strcmp(r->kind, "redis") == 0) {
			if (d->redis == NULL && !redis_tried++)
				redis_up(d);
			int rc = d->redis ? redis_row(d, r) : -1;
			r->state = rc == 0 ? R_DONE : rc == 1 ? R_REJECTED : R_FAILED;
		} else {
			problem(d, "row %lld: unknown kind \"%s\"", (long long)r->id,
			    r->kind);
			r->state = R_REJECTED;
		}
	}
	if (d->amqp && pending(d) > 0 && wait_confirms(d) == -1)
		amqp_down(d);
	for (int i = 0; i < d->nrows; i++)
		if (d->rows[i].state == R_SENT || d->rows[i].state == R_NEW)
			d->rows[i].state = R_FAILED;
}

/* Marks what was sent; a row that failed stays for a later pass. */
static int
mark(struct dispatcher *d, int *failed)
{
	uint64_t sent = 0, redis = 0, rejected = 0;

	*failed = 0;
	for (int i = 0; i < d->nrows; i++) {
		struct row *r = &d->rows[i];
		struct db_val id = db_int(r->id);
		if (r->state == R_FAILED) {
			(*failed)++;
			continue;
		}
		if (r->state == R_REJECTED)
			log_msg(LOG_ERROR, "dispatcher: row %lld (%s %s %s) is "
			    "marked dispatched without being sent: %.200s",
			    (long long)r->id, r->kind, r->name, r->routing_key,
			    r->body);
		if (db_exec(d->db, d->s_done, &id, 1, NULL, 0, NULL) == -1)
			return -1;
		sent += r->state == R_ACKED;
		redis += r->state == R_DONE && strcmp(r->kind, "redis") == 0;
		rejected += r->state == R_REJECTED;
	}
	if (db_query(d->db, "COMMIT") == -1)
		return -1;
	if (d->md) {
		count(d, &d->md->published, sent);
		count(d, &d->md->redis, redis);
		count(d, &d->md->rejected, rejected);
		count(d, &d->md->failed, (uint64_t)*failed);
	}
	return 0;
}

/* One batch. Returns the rows claimed, or -1 when something failed. */
static int
pass(struct dispatcher *d)
{
	int failed = 0, n;

	if (db_query(d->db, "START TRANSACTION") == -1 || claim(d) == -1) {
		problem(d, "claiming outbox rows: %s", db_errmsg(d->db));
		db_query(d->db, "ROLLBACK");
		return -1;
	}
	n = d->nrows;
	if (n > 0)
		send_rows(d);
	if (mark(d, &failed) == -1) {
		/* What the broker confirmed goes out again: at least once. */
		problem(d, "marking rows dispatched: %s", db_errmsg(d->db));
		db_query(d->db, "ROLLBACK");
		n = -1;
	}
	free_rows(d);
	return failed ? -1 : n;
}

static void
measure_backlog(struct dispatcher *d)
{
	struct db_val c[2] = { { .type = DB_INT }, { .type = DB_INT } };
	struct timespec now;
	int found = 0;

	clock_now(&now);
	if (d->md == NULL || clock_ms_left(&d->backlog_at) > 0)
		return;
	d->backlog_at = now;
	clock_add_ms(&d->backlog_at, BACKLOG_EVERY_MS);
	if (db_exec(d->db, d->s_backlog, NULL, 0, c, 2, &found) == -1 || !found)
		return;
	__atomic_store_n(&d->md->backlog, c[0].i, __ATOMIC_RELAXED);
	__atomic_store_n(&d->md->oldest_us, c[1].is_null ? 0 : c[1].i,
	    __ATOMIC_RELAXED);
}

/* The loop ----------------------------------------------------------------- */

static void
on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void
on_usr1(int sig)
{
	(void)sig;
	reopen = 1;
}

/* Sleeps up to ms, or until a signal comes or (wakeable) a worker wakes
 * us; a backoff is not cut short by wake-ups. */
static void
nap(long ms, int wakeable)
{
	struct pollfd pfd = { .fd = wakeable ? wake_rd : -1, .events = POLLIN };
	struct timespec ts = clock_ms_ts(ms);
	sigset_t none;

	sigemptyset(&none);
	if (!stop && ppoll(&pfd, 1, &ts, &none) > 0)
		drain_wake();
	if (!wakeable)
		drain_wake();	/* what came meanwhile is served by this pass */
	if (reopen) {
		reopen = 0;
		log_reopen();
	}
}

static int
setup(struct dispatcher *d, const struct config *cfg, struct metrics *m)
{
	char host[256] = "localhost";

	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	d->md = m ? &m->d : NULL;
	config_db_params(cfg, &d->dbp);
	d->db = db_new(&d->dbp);
	d->s_claim = db_add_stmt(d->db, "SELECT id, kind, name, exchange, "
	    "routing_key, priority, body, countdown, TIMESTAMPDIFF(MICROSECOND, "
	    "'1970-01-01 00:00:00', created_time) FROM `opn$outbox` "
	    "WHERE dispatched_time IS NULL ORDER BY id LIMIT ? "
	    "FOR UPDATE SKIP LOCKED");
	d->s_done = db_add_stmt(d->db, "UPDATE `opn$outbox` SET dispatched_time "
	    "= UTC_TIMESTAMP(6) WHERE id = ?");
	d->s_backlog = db_add_stmt(d->db, "SELECT COUNT(*), TIMESTAMPDIFF("
	    "MICROSECOND, MIN(created_time), UTC_TIMESTAMP(6)) FROM `opn$outbox` "
	    "WHERE dispatched_time IS NULL");
	d->rows = xmalloc(sizeof(struct row) * (size_t)cfg->dispatch_batch);
	d->body_buf = xmalloc(BODY_MAX);
	gethostname(host, sizeof(host) - 1);
	snprintf(d->origin, sizeof(d->origin), "gen%ld@%s", (long)getpid(), host);
	celery_new_id(d->reply_to);	/* Celery's is a per-thread oid */
	/* Celery writes eta in its own zone (CELERY_ENABLE_UTC = False). */
	setenv("TZ", cfg->celery_timezone, 1);
	tzset();
	return 0;
}

static void
teardown(struct dispatcher *d)
{
	amqp_down(d);
	redis_down(d);
	db_close(d->db);
	free(d->rows);
	free(d->body_buf);
}

int
dispatch_run(const struct config *cfg, struct metrics *m)
{
	static const struct proc_handlers h = { .stop = on_stop,
	    .usr1 = on_usr1 };
	struct dispatcher d;
	sigset_t busy;
	long backoff = 0;

	/* No SA_RESTART: the wait must end. The signals are blocked while a
	 * batch runs: it ends with a commit or a rollback, never half-way. */
	proc_signals(&h, &busy);
	setup(&d, cfg, m);
	if (d.md) {
		d.md->pid = getpid();
		__atomic_store_n(&d.md->backlog, -1, __ATOMIC_RELAXED);
	}
	set_state(&d, D_CONNECTING);
	log_msg(LOG_INFO, "dispatcher started (batch %lld)",
	    (long long)cfg->dispatch_batch);
	while (!stop) {
		int n = -1;
		/* A SIGTERM that came during the batch is handled here, also
		 * when the next batch follows without a nap. */
		sigprocmask(SIG_UNBLOCK, &busy, NULL);
		sigprocmask(SIG_BLOCK, &busy, NULL);
		if (stop)
			break;
		if (db_connected(d.db) || db_connect(d.db) == 0)
			n = pass(&d);
		else
			problem(&d, "database: %s", db_errmsg(d.db));
		if (db_connected(d.db))
			measure_backlog(&d);
		if (n < 0) {
			set_state(&d, D_BACKOFF);
			backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
			if (backoff > BACKOFF_MAX_MS)
				backoff = BACKOFF_MAX_MS;
			nap(backoff, 0);
			continue;
		}
		backoff = 0;
		set_state(&d, D_RUNNING);
		if (n < cfg->dispatch_batch)
			nap(POLL_MS, 1);
	}
	log_msg(LOG_INFO, "dispatcher stopped");
	set_state(&d, D_EXITED);
	teardown(&d);
	mysql_thread_end();
	return 0;
}
