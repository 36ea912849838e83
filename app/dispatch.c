/*
 * The outbox dispatcher. In one transaction it claims the due rows of
 * `opn$outbox` in id order (FOR UPDATE SKIP LOCKED, so dispatchers of
 * several pools never send one row at the same time), sends them, waits
 * for the broker's confirms, records each row's fate and commits. A crash
 * anywhere before the commit sends the rows again: at least once.
 *
 * Each row has its own fate: sent; put off (attempts, next_attempt_time,
 * last_error) when it failed on its own, with the later rows of its
 * process held behind it; parked when it never can be sent; or, for a
 * redis row failing longer than dispatch_give_up, given up. A broker or
 * Redis that is down as a whole backs off alone: the other kind goes on.
 * Between passes it deletes what retention allows.
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
#include <amqp_ssl_socket.h>
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
#define DECLARE_CHANNEL 2	/* a 406 closes it, not the publishing one */
#define FRAME_MAX 131072	/* rabbitmq-c's default frame size */
#define CONFIRM_TIMEOUT_MS 10000	/* the broker confirms in ms; 10 s is a dead one */
#define POLL_MS 1000		/* rows from other pools' workers wake nobody */
#define BACKLOG_EVERY_MS 1000
#define BACKOFF_MIN_MS 100	/* a broker, Redis or database that is down */
#define BACKOFF_MAX_MS 5000
#define RETRY_MIN_MS 1000	/* a row that failed on its own: 1, 2, 4 .. 30 s */
#define RETRY_MAX_MS 30000
/* Debian's ca-certificates bundle (OpenSSL's default cert file there). */
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define PURGE_EVERY_MS 60000	/* retention: at start, then every minute */
#define PURGE_BATCH 200		/* rows per DELETE: a short transaction */
#define PURGE_GAP_MS 50		/* between batches while a purge catches up, */
#define PURGE_DUTY 5		/* and at least this many times a batch's time:
				 * the purge takes a fifth of one connection */
#define BODY_MAX (1 << 20)	/* one row's body; the procedures write < 1 kB */
#define NAME_MAX_LEN 256	/* the outbox's varchar(255) columns */
#define WHY_LEN 256		/* the outbox's last_error varchar(255) */
#define DECLARED_MAX 64
#define HELD_MAX 1024		/* processes held behind a failed row */
#define MAX_PRIORITY 255	/* bamboo's queues: max_priority=255 */

static int wake_rd = -1, wake_wr = -1;
static volatile sig_atomic_t stop, reopen;

/*
 * A row's fate in a pass. WAIT: its broker or Redis is down, the row is
 * left as it was; RETRY: it failed on its own and is put off; HELD: an
 * earlier row of its process is put off, so it waits as long; PARK: it can
 * never be sent; GIVEN_UP: a redis row failing for dispatch_give_up.
 */
enum row_state { R_NEW, R_SENT, R_ACKED, R_DONE, R_GIVEN_UP, R_RETRY,
	R_HELD, R_PARK, R_WAIT };

struct row {
	int64_t id;
	char kind[17];
	char *name, *exchange, *routing_key, *body;
	int64_t priority;	/* -1: NULL */
	int64_t countdown;	/* -1: NULL */
	int64_t created_us;
	int64_t age_s;		/* since it was written */
	int64_t failing_s;	/* since it first failed on its own, -1: never */
	int64_t attempts;
	int64_t process;	/* kwargs' process_id, -1: none (no order) */
	int64_t hold_us;	/* R_RETRY, R_HELD: put off by this much */
	int64_t held_by;	/* R_HELD: the row it waits behind */
	enum row_state state;
	int returned;
	uint64_t tag;		/* the publish's delivery tag */
	char task_id[CELERY_ID_LEN + 1];
	char why[WHY_LEN];	/* last_error */
};

/* A process whose next message must wait: behind row id, for wait_us
 * (-1: the row waits for its broker, and so do the later ones). */
struct held {
	int64_t process, id, wait_us;
};

/* A broker, Redis or the database: down, it is tried again after a
 * backoff that doubles; meanwhile the rest goes on. */
struct link {
	long backoff_ms;
	struct timespec retry_at;
};

struct dispatcher {
	const struct config *cfg;
	struct metrics_dispatch *md;
	struct db_params dbp;
	struct db *db;
	int s_claim, s_done, s_retry, s_park, s_held, s_backlog;
	int s_purge_outbox, s_purge_replay, s_sizes;
	amqp_connection_state_t amqp;	/* NULL: not connected */
	int declare_open;		/* DECLARE_CHANNEL is open */
	uint64_t tag;			/* last delivery tag on the channel */
	redisContext *redis;
	struct link broker_l, redis_l, db_l;
	struct row *rows;
	int nrows;
	struct held *held;
	int nheld;
	char *body_buf;
	char origin[300];		/* celery's anon_nodename(): gen<pid>@<host> */
	char reply_to[CELERY_ID_LEN + 1];
	char *declared[DECLARED_MAX];	/* routing keys declared on this connection */
	int ndeclared;
	char *refused[DECLARED_MAX];	/* queues the broker would not declare */
	int nrefused;
	struct timespec backlog_at, purge_at;
	int purging;			/* a purge round is catching up */
	long purge_gap_ms;		/* the nap before its next batch */
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

/* Links ----------------------------------------------------------------- */

/* Down: tried again after the backoff, which doubles up to its cap. */
static void
link_failed(struct link *l)
{
	l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (l->backoff_ms > BACKOFF_MAX_MS)
		l->backoff_ms = BACKOFF_MAX_MS;
	clock_now(&l->retry_at);
	clock_add_ms(&l->retry_at, l->backoff_ms);
}

static void
link_ok(struct link *l)
{
	l->backoff_ms = 0;
}

/* Milliseconds until a link that is down may be tried again; 0: now. */
static long
link_wait(const struct link *l)
{
	long left;

	if (l->backoff_ms == 0)
		return 0;
	left = clock_ms_left(&l->retry_at);
	return left > 0 ? left : 0;
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
	d->declare_open = 0;
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

/*
 * A TLS socket with the broker_ssl_* settings. rabbitmq-c does not load
 * OpenSSL's default store, so without broker_ssl_ca the system bundle is
 * named; with broker_ssl_verify it checks the chain and the host name of
 * broker_url (against the certificate's DNS names: use a name, not an
 * address, in the URL).
 */
static int
tls_socket(struct dispatcher *d, amqp_socket_t **out)
{
	const struct config *cfg = d->cfg;
	const char *ca = cfg->broker_ssl_ca[0] ? cfg->broker_ssl_ca :
	    SYSTEM_CA_BUNDLE;
	amqp_socket_t *sock = amqp_ssl_socket_new(d->amqp);
	int st;

	if (sock == NULL) {
		problem(d, "broker TLS: the TLS library did not start");
		return -1;
	}
	amqp_ssl_socket_set_verify_peer(sock, cfg->broker_ssl_verify);
	amqp_ssl_socket_set_verify_hostname(sock, cfg->broker_ssl_verify);
	if ((cfg->broker_ssl_verify || cfg->broker_ssl_ca[0]) &&
	    (st = amqp_ssl_socket_set_cacert(sock, ca)) != 0) {
		problem(d, "broker_ssl_ca %s: %s", ca, amqp_error_string2(st));
		return -1;
	}
	if (cfg->broker_ssl_cert[0] && (st = amqp_ssl_socket_set_key(sock,
	    cfg->broker_ssl_cert, cfg->broker_ssl_key)) != 0) {
		problem(d, "broker_ssl_cert %s, broker_ssl_key %s: %s",
		    cfg->broker_ssl_cert, cfg->broker_ssl_key,
		    amqp_error_string2(st));
		return -1;
	}
	*out = sock;
	return 0;
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

	if (url_parse(cfg->broker_url, cfg->broker_scheme, &u, err,
	    sizeof(err)) == -1) {
		problem(d, "broker_url: %s", err);
		return -1;
	}
	d->amqp = amqp_new_connection();
	if (d->amqp == NULL)
		xoom();
	if (cfg->broker_ssl == 1) {
		if (tls_socket(d, &sock) == -1)
			goto fail;
	} else if ((sock = amqp_tcp_socket_new(d->amqp)) == NULL)
		xoom();
	amqp_set_handshake_timeout(d->amqp, &tv);
	amqp_set_rpc_timeout(d->amqp, &tv);
	if ((st = amqp_socket_open_noblock(sock, u.host, u.port, &tv)) != 0) {
		problem(d, "broker %s:%d%s: %s", u.host, u.port,
		    cfg->broker_ssl == 1 ? " (TLS)" : "", amqp_error_string2(st));
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
	log_msg(LOG_INFO, "dispatcher: connected to broker %s:%d vhost \"%s\"%s",
	    u.host, u.port, u.path, cfg->broker_ssl != 1 ? "" :
	    cfg->broker_ssl_verify ? " over TLS" : " over TLS, unverified");
	return 0;
fail:
	amqp_down(d);
	return -1;
}

/*
 * The queues bk-sops declares without arguments (bamboo-pipeline
 * pipeline/celery/settings.py: 'default' and the old queues kept for
 * messages left in the broker; bk-sops config/default.py: the plugin
 * gateway's). Every other queue bk-sops declares (the engine's er_*,
 * node_auto_retry, task_callback, the *_priority ones) has x-max-priority
 * 255, and a queue must be declared with the arguments it exists with.
 */
static const char *const plain_queues[] = { "default", "pipeline",
	"service_schedule", "pipeline_additional_task", "open_plugin_dispatch",
	"open_plugin_polling", "open_plugin_callback", NULL };

static int
listed(char *const *list, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

static void
remember(char **list, int *n, const char *s)
{
	if (*n < DECLARED_MAX)
		list[(*n)++] = xstrdup(s);
}

/*
 * broker_declare = yes: what bk-sops' workers declare (kombu maybe_declare
 * of the route's Queue): exchange 'default', direct, durable, and the
 * queue, durable, with bk-sops' arguments for it, bound by its name. On
 * its own channel: a queue that exists with other arguments makes the
 * broker close that channel (406 PRECONDITION_FAILED); it is reported once
 * by name and used as it is. Returns -1 only when the broker failed.
 */
static int
declare(struct dispatcher *d, const struct row *r)
{
	amqp_table_entry_t arg = { amqp_cstring_bytes("x-max-priority"),
		{ AMQP_FIELD_KIND_I32, { .i32 = MAX_PRIORITY } } };
	amqp_table_t args = { 1, &arg };
	amqp_rpc_reply_t rr;
	char why[256];
	int plain = 0;

	if (listed(d->declared, d->ndeclared, r->routing_key) ||
	    listed(d->refused, d->nrefused, r->routing_key))
		return 0;
	for (int i = 0; plain_queues[i]; i++)
		plain |= strcmp(plain_queues[i], r->routing_key) == 0;
	if (!d->declare_open) {
		amqp_channel_open(d->amqp, DECLARE_CHANNEL);
		if ((rr = amqp_get_rpc_reply(d->amqp)).reply_type !=
		    AMQP_RESPONSE_NORMAL)
			goto fail;
		d->declare_open = 1;
	}
	if (r->exchange[0])
		amqp_exchange_declare(d->amqp, DECLARE_CHANNEL,
		    amqp_cstring_bytes(r->exchange), amqp_cstring_bytes("direct"),
		    0, 1, 0, 0, amqp_empty_table);
	if ((rr = amqp_get_rpc_reply(d->amqp)).reply_type == AMQP_RESPONSE_NORMAL)
		amqp_queue_declare(d->amqp, DECLARE_CHANNEL,
		    amqp_cstring_bytes(r->routing_key), 0, 1, 0, 0,
		    plain ? amqp_empty_table : args);
	if ((rr = amqp_get_rpc_reply(d->amqp)).reply_type == AMQP_RESPONSE_NORMAL &&
	    r->exchange[0])
		amqp_queue_bind(d->amqp, DECLARE_CHANNEL,
		    amqp_cstring_bytes(r->routing_key),
		    amqp_cstring_bytes(r->exchange),
		    amqp_cstring_bytes(r->routing_key), amqp_empty_table);
	if (r->exchange[0] && rr.reply_type == AMQP_RESPONSE_NORMAL)
		rr = amqp_get_rpc_reply(d->amqp);
	if (rr.reply_type == AMQP_RESPONSE_NORMAL) {
		remember(d->declared, &d->ndeclared, r->routing_key);
		return 0;
	}
fail:
	if (rr.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
	    rr.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
		amqp_channel_close_ok_t ok = { 0 };
		/* The queue refused, not the broker: the connection lives. */
		problem(d, "queue %s was not declared (%s); bk-sops declares it "
		    "%s; its rows are published to it as it is",
		    r->routing_key, rpc_error(rr, why, sizeof(why)),
		    plain ? "without arguments" : "with x-max-priority 255");
		remember(d->refused, &d->nrefused, r->routing_key);
		d->declare_open = 0;
		if (amqp_send_method(d->amqp, DECLARE_CHANNEL,
		    AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) == AMQP_STATUS_OK)
			return 0;
	}
	problem(d, "declaring queue %s: %s", r->routing_key,
	    rpc_error(rr, why, sizeof(why)));
	return -1;
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
		r->state = ok && !r->returned ? R_ACKED : R_RETRY;
		if (!ok && !r->returned)
			snprintf(r->why, sizeof(r->why), "nacked by the broker");
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
	char why[WHY_LEN];

	snprintf(why, sizeof(why), "returned by the broker: %d %.*s (no queue "
	    "bound to routing key %.*s)", ret->reply_code,
	    (int)ret->reply_text.len, (char *)ret->reply_text.bytes,
	    (int)ret->routing_key.len, (char *)ret->routing_key.bytes);
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
		    CELERY_ID_LEN) == 0) {
			d->rows[i].returned = 1;
			memcpy(d->rows[i].why, why, sizeof(why));
		}
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
 * Runs "name key args..." from the row. Returns 0 done, 1 Redis answered
 * an error (bk-sops ignores it: the row is given up), 2 the body is not
 * arguments (parked), -1 the connection failed (the row waits). r->why
 * says why.
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
		snprintf(r->why, sizeof(r->why), "body is not a JSON array of "
		    "arguments");
		rc = 2;
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
		snprintf(r->why, sizeof(r->why), "redis: %s", d->redis->errstr);
		redis_down(d);
		rc = -1;
		goto out;
	}
	rc = rep->type == REDIS_REPLY_ERROR;
	if (rc)
		snprintf(r->why, sizeof(r->why), "redis %s: %s", r->name,
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

/* The kwargs' process_id: the engine's messages for one process go out in
 * id order. -1 for rows that have none (they keep no order). */
static int64_t
process_of(const char *kind, const char *body)
{
	struct json_object *kw, *v;
	int64_t p = -1;

	if (strcmp(kind, "celery") != 0 || (kw = json_tokener_parse(body)) == NULL)
		return -1;
	if (json_object_is_type(kw, json_type_object) &&
	    json_object_object_get_ex(kw, "process_id", &v) &&
	    json_object_is_type(v, json_type_int))
		p = json_object_get_int64(v);
	json_object_put(kw);
	return p;
}

/* The earliest row that holds process back, if it is earlier than id. */
static struct held *
find_held(struct dispatcher *d, int64_t process, int64_t id)
{
	for (int i = 0; process >= 0 && i < d->nheld; i++)
		if (d->held[i].process == process && d->held[i].id < id)
			return &d->held[i];
	return NULL;
}

static void
add_held(struct dispatcher *d, int64_t process, int64_t id, int64_t wait_us)
{
	struct held *h = NULL;

	if (process < 0)
		return;
	for (int i = 0; i < d->nheld && h == NULL; i++)
		if (d->held[i].process == process)
			h = &d->held[i];
	if (h != NULL && h->id < id)
		return;
	if (h == NULL && d->nheld == HELD_MAX) {
		problem(d, "more than %d processes wait behind a failed row; "
		    "process %lld keeps no order", HELD_MAX, (long long)process);
		return;
	}
	if (h == NULL)
		h = &d->held[d->nheld++];
	*h = (struct held){ process, id, wait_us };
}

static int
held_row(void *arg, const struct db_val *c)
{
	struct dispatcher *d = arg;

	add_held(d, process_of("celery", c[1].str), c[0].i, c[2].i);
	return 0;
}

/* The processes whose earlier rows are put off (from any pass). */
static int
load_held(struct dispatcher *d)
{
	struct db_val c[3] = { { .type = DB_INT }, { .type = DB_STR,
		.str = d->body_buf, .cap = BODY_MAX }, { .type = DB_INT } };

	d->nheld = 0;
	return db_exec_rows(d->db, d->s_held, NULL, 0, c, 3, held_row, d);
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
	r->age_s = c[9].i;
	r->failing_s = c[10].is_null ? -1 : c[10].i;
	r->attempts = c[11].i;
	r->process = process_of(r->kind, r->body);
	return d->nrows < d->cfg->dispatch_batch ? 0 : -1;
}

/* The due rows, in id order, but for the kinds whose broker or Redis is
 * backing off: their rows wait without standing in the others' way. */
static int
claim(struct dispatcher *d)
{
	char kind[17], name[NAME_MAX_LEN], ex[NAME_MAX_LEN], rk[NAME_MAX_LEN];
	struct db_val p[3] = {
		db_str(link_wait(&d->broker_l) > 0 ? "celery" : ""),
		db_str(d->cfg->redis_url[0] && link_wait(&d->redis_l) > 0 ?
		    "redis" : ""), db_int(d->cfg->dispatch_batch) };
	struct db_val c[12] = {
		{ .type = DB_INT }, { .type = DB_STR, .str = kind, .cap = sizeof(kind) },
		{ .type = DB_STR, .str = name, .cap = sizeof(name) },
		{ .type = DB_STR, .str = ex, .cap = sizeof(ex) },
		{ .type = DB_STR, .str = rk, .cap = sizeof(rk) },
		{ .type = DB_INT }, { .type = DB_STR, .str = d->body_buf,
		.cap = BODY_MAX }, { .type = DB_INT }, { .type = DB_INT },
		{ .type = DB_INT }, { .type = DB_INT }, { .type = DB_INT },
	};

	d->nrows = 0;
	/* add_row stops at the batch size, which LIMIT already ensures. */
	if (db_exec_rows(d->db, d->s_claim, p, 3, c, 12, add_row, d) == -1 &&
	    d->nrows < d->cfg->dispatch_batch)
		return -1;
	return 0;
}

static long
retry_ms(int64_t attempts)
{
	long ms = RETRY_MIN_MS << (attempts < 5 ? attempts : 5);
	return ms < RETRY_MAX_MS ? ms : RETRY_MAX_MS;
}

/* A celery row the broker returned or nacked: put off, and its process
 * held behind it; parked once it has failed for dispatch_give_up. */
static void
row_failed(struct dispatcher *d, struct row *r)
{
	if (r->failing_s >= d->cfg->dispatch_give_up) {
		size_t n = strlen(r->why);
		snprintf(r->why + n, sizeof(r->why) - n, " (for %llds)",
		    (long long)r->failing_s);
		r->state = R_PARK;
		return;
	}
	r->hold_us = retry_ms(r->attempts) * 1000LL;
	add_held(d, r->process, r->id, r->hold_us);
}

static void
broker_failed(struct dispatcher *d)
{
	amqp_down(d);
	link_failed(&d->broker_l);
	/* What was sent and not confirmed goes again: at least once. */
	for (int i = 0; i < d->nrows; i++)
		if (d->rows[i].state == R_SENT) {
			d->rows[i].state = R_WAIT;
			add_held(d, d->rows[i].process, d->rows[i].id, -1);
		}
}

/* Waits for the confirms of what was sent, and settles those rows. */
static int
confirm(struct dispatcher *d)
{
	if (d->amqp == NULL || pending(d) == 0)
		return 0;
	if (wait_confirms(d) == -1) {
		broker_failed(d);
		return -1;
	}
	for (int i = 0; i < d->nrows; i++)
		if (d->rows[i].state == R_RETRY && d->rows[i].hold_us == 0)
			row_failed(d, &d->rows[i]);
	return 0;
}

static int
unconfirmed_of(const struct dispatcher *d, const struct row *r)
{
	for (int i = 0; r->process >= 0 && &d->rows[i] < r; i++)
		if (d->rows[i].state == R_SENT &&
		    d->rows[i].process == r->process)
			return 1;
	return 0;
}

static void
celery_row(struct dispatcher *d, struct row *r)
{
	struct json_object *kw = NULL;
	struct celery_msg m = { 0 };
	struct held *h;
	char err[256];

	/* An earlier row of the process not yet confirmed: its fate first,
	 * or a return could let this one overtake it. */
	if (unconfirmed_of(d, r))
		confirm(d);
	if ((h = find_held(d, r->process, r->id)) != NULL) {
		r->state = h->wait_us < 0 ? R_WAIT : R_HELD;
		r->hold_us = h->wait_us;
		r->held_by = h->id;
		goto out;
	}
	kw = json_tokener_parse(r->body);
	if (celery_build(&m, r->name, kw, r->countdown > 0 ? r->created_us +
	    r->countdown * 1000000 : -1, err, sizeof(err)) == -1) {
		snprintf(r->why, sizeof(r->why), "%s", err);
		r->state = R_PARK;
		goto out;
	}
	if (d->amqp == NULL || publish(d, r, &m) == -1) {
		if (d->amqp)
			broker_failed(d);
		r->state = R_WAIT;
		add_held(d, r->process, r->id, -1);
	}
out:
	celery_free(&m);
	if (kw)
		json_object_put(kw);
}

/* Connects when the broker is not backing off, and declares the queues
 * the rows name (broker_declare), before anything is published. */
static void
broker_prepare(struct dispatcher *d)
{
	int any = 0;

	for (int i = 0; i < d->nrows; i++)
		any |= strcmp(d->rows[i].kind, "celery") == 0;
	if (!any || link_wait(&d->broker_l) > 0)
		return;
	if (d->amqp == NULL && amqp_up(d) == -1) {
		link_failed(&d->broker_l);
		return;
	}
	for (int i = 0; d->cfg->broker_declare && i < d->nrows; i++)
		if (strcmp(d->rows[i].kind, "celery") == 0 &&
		    declare(d, &d->rows[i]) == -1) {
			amqp_down(d);
			link_failed(&d->broker_l);
			return;
		}
	link_ok(&d->broker_l);
}

static void
redis_fate(struct dispatcher *d, struct row *r)
{
	int rc = -1;

	if (!d->cfg->redis_url[0]) {
		r->state = R_DONE;	/* redis effects are off */
		return;
	}
	if (d->redis == NULL && link_wait(&d->redis_l) == 0) {
		if (redis_up(d) == 0)
			link_ok(&d->redis_l);
		else
			link_failed(&d->redis_l);
	}
	if (d->redis)
		rc = redis_row(d, r);
	if (rc == -1 && d->redis == NULL && link_wait(&d->redis_l) == 0)
		link_failed(&d->redis_l);
	if (rc == -1 && !r->why[0])
		snprintf(r->why, sizeof(r->why), "redis unreachable");
	/* bk-sops ignores a Redis error there at once; we try for a while. */
	r->state = rc == 0 ? R_DONE : rc == 1 ? R_GIVEN_UP : rc == 2 ? R_PARK :
	    r->age_s >= d->cfg->dispatch_give_up ? R_GIVEN_UP : R_WAIT;
}

static void
send_rows(struct dispatcher *d)
{
	broker_prepare(d);
	for (int i = 0; i < d->nrows; i++) {
		struct row *r = &d->rows[i];
		if (strcmp(r->kind, "celery") == 0)
			celery_row(d, r);
		else if (strcmp(r->kind, "redis") == 0)
			redis_fate(d, r);
		else {
			snprintf(r->why, sizeof(r->why), "unknown kind \"%.16s\"",
			    r->kind);
			r->state = R_PARK;
		}
	}
	confirm(d);
	for (int i = 0; i < d->nrows; i++)
		if (d->rows[i].state == R_SENT || d->rows[i].state == R_NEW)
			d->rows[i].state = R_WAIT;
}

/* last_error is varchar(255) utf8mb4: printable ASCII keeps it valid. */
static void
clean_why(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

/* Records each row's fate; a row left waiting is not touched. */
static int
mark(struct dispatcher *d)
{
	uint64_t sent = 0, redis = 0, parked = 0, failed = 0, given_up = 0;
	const char *gave_why = NULL;

	for (int i = 0; i < d->nrows; i++) {
		struct row *r = &d->rows[i];
		struct db_val p[5];
		int st = -1, np = 0;

		clean_why(r->why);
		switch (r->state) {
		case R_ACKED: case R_DONE: case R_GIVEN_UP:
			p[0] = db_str(r->state == R_ACKED ? r->task_id : NULL);
			p[1] = db_str(r->state == R_GIVEN_UP ? r->why : NULL);
			p[2] = db_int(r->id);
			st = d->s_done, np = 3;
			break;
		case R_HELD:
			snprintf(r->why, sizeof(r->why), "waiting behind row %lld "
			    "of process %lld", (long long)r->held_by,
			    (long long)r->process);
			/* FALLTHROUGH */
		case R_RETRY:
			p[0] = p[2] = db_int(r->state == R_RETRY);
			p[1] = db_int(r->hold_us);
			p[3] = db_str(r->why);
			p[4] = db_int(r->id);
			st = d->s_retry, np = 5;
			break;
		case R_PARK:
			log_msg(LOG_ERROR, "dispatcher: row %lld (%s %s %s) parked: "
			    "%s; `operate-node-admin outbox retry %lld` sends it "
			    "again", (long long)r->id, r->kind, r->name,
			    r->routing_key, r->why, (long long)r->id);
			p[0] = db_str(r->why);
			p[1] = db_int(r->id);
			st = d->s_park, np = 2;
			break;
		default:
			break;
		}
		if (st != -1 && db_exec(d->db, st, p, np, NULL, 0, NULL) == -1)
			return -1;
		sent += r->state == R_ACKED;
		redis += r->state == R_DONE && strcmp(r->kind, "redis") == 0;
		parked += r->state == R_PARK;
		failed += r->state == R_RETRY;
		if (r->state == R_GIVEN_UP && given_up++ == 0)
			gave_why = r->why;
	}
	if (db_query(d->db, "COMMIT") == -1)
		return -1;
	if (given_up)
		log_msg(LOG_WARN, "dispatcher: gave up %llu redis row(s) after "
		    "failures (bk-sops ignores them at once): %s",
		    (unsigned long long)given_up, gave_why);
	if (d->md) {
		count(d, &d->md->published, sent);
		count(d, &d->md->redis, redis);
		count(d, &d->md->rejected, parked);
		count(d, &d->md->failed, failed);
		count(d, &d->md->given_up, given_up);
	}
	return 0;
}

/* One batch. Returns the rows claimed, or -1 when the database failed;
 * *again: rows waited for a link that just went down, and the next pass
 * (which leaves their kind out) should follow at once. */
static int
pass(struct dispatcher *d, int *again)
{
	int n;

	*again = 0;
	if (db_query(d->db, "START TRANSACTION") == -1 || load_held(d) == -1 ||
	    claim(d) == -1) {
		problem(d, "claiming outbox rows: %s", db_errmsg(d->db));
		db_query(d->db, "ROLLBACK");
		free_rows(d);
		return -1;
	}
	n = d->nrows;
	if (n > 0)
		send_rows(d);
	for (int i = 0; i < d->nrows; i++)
		*again |= d->rows[i].state == R_WAIT;
	if (mark(d) == -1) {
		/* What the broker confirmed goes out again: at least once. */
		problem(d, "marking rows dispatched: %s", db_errmsg(d->db));
		db_query(d->db, "ROLLBACK");
		n = -1;
	}
	free_rows(d);
	return n;
}

static void
measure_backlog(struct dispatcher *d)
{
	struct db_val c[3] = { { .type = DB_INT }, { .type = DB_INT },
		{ .type = DB_INT } };
	struct timespec now;
	int found = 0;

	clock_now(&now);
	if (d->md == NULL || clock_ms_left(&d->backlog_at) > 0)
		return;
	d->backlog_at = now;
	clock_add_ms(&d->backlog_at, BACKLOG_EVERY_MS);
	if (db_exec(d->db, d->s_backlog, NULL, 0, c, 3, &found) == -1 || !found)
		return;
	__atomic_store_n(&d->md->backlog, c[0].i, __ATOMIC_RELAXED);
	__atomic_store_n(&d->md->oldest_us, c[1].is_null ? 0 : c[1].i,
	    __ATOMIC_RELAXED);
	__atomic_store_n(&d->md->parked, c[2].i, __ATOMIC_RELAXED);
}

/*
 * Retention: one batch of each table per call while a round catches up,
 * a round at start and every PURGE_EVERY_MS. Each DELETE is its own
 * short transaction on rows no action touches (READ COMMITTED: no gap
 * locks), in the order of the index that finds them.
 */
static void
purge(struct dispatcher *d)
{
	struct db_val p[2], c[2] = { { .type = DB_INT }, { .type = DB_INT } };
	struct timespec t0;
	int64_t o, r;
	int found = 0;

	if (!d->purging && clock_ms_left(&d->purge_at) > 0)
		return;
	clock_now(&t0);
	if (!d->purging) {
		clock_now(&d->purge_at);
		clock_add_ms(&d->purge_at, PURGE_EVERY_MS);
	}
	d->purging = 0;
	p[0] = db_int(d->cfg->outbox_retention_days);
	p[1] = db_int(PURGE_BATCH);
	if (db_exec(d->db, d->s_purge_outbox, p, 2, NULL, 0, NULL) == -1) {
		problem(d, "deleting dispatched outbox rows: %s", db_errmsg(d->db));
		return;
	}
	o = db_affected(d->db, d->s_purge_outbox);
	p[0] = db_int(d->cfg->replay_retention_days);
	if (db_exec(d->db, d->s_purge_replay, p, 2, NULL, 0, NULL) == -1) {
		problem(d, "deleting replay records: %s", db_errmsg(d->db));
		return;
	}
	r = db_affected(d->db, d->s_purge_replay);
	if (d->md) {
		count(d, &d->md->purged_outbox, o > 0 ? (uint64_t)o : 0);
		count(d, &d->md->purged_replay, r > 0 ? (uint64_t)r : 0);
	}
	d->purging = o >= PURGE_BATCH || r >= PURGE_BATCH;
	d->purge_gap_ms = (long)(clock_us_since(&t0) / 1000) * (PURGE_DUTY - 1);
	if (d->purge_gap_ms < PURGE_GAP_MS)
		d->purge_gap_ms = PURGE_GAP_MS;
	if (d->purging || d->md == NULL ||
	    db_exec(d->db, d->s_sizes, NULL, 0, c, 2, &found) == -1 || !found)
		return;
	__atomic_store_n(&d->md->outbox_rows, c[0].is_null ? -1 : c[0].i,
	    __ATOMIC_RELAXED);
	__atomic_store_n(&d->md->replay_rows, c[1].is_null ? -1 : c[1].i,
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

/* Sleeps up to ms, or until a signal comes or a worker wakes us. */
static void
nap(long ms)
{
	struct pollfd pfd = { .fd = wake_rd, .events = POLLIN };
	struct timespec ts = clock_ms_ts(ms);
	sigset_t none;

	sigemptyset(&none);
	if (!stop && ppoll(&pfd, 1, &ts, &none) > 0)
		drain_wake();
	if (reopen) {
		reopen = 0;
		log_reopen();
	}
}

/* Until the next thing to do without a wake-up: the poll, a purge batch,
 * or a link that may be tried again. */
static long
next_nap(const struct dispatcher *d)
{
	long ms = d->purging && d->purge_gap_ms < POLL_MS ? d->purge_gap_ms :
	    POLL_MS, w;

	if ((w = link_wait(&d->broker_l)) > 0 && w < ms)
		ms = w;
	if (d->cfg->redis_url[0] && (w = link_wait(&d->redis_l)) > 0 && w < ms)
		ms = w;
	return ms;
}

#define OUTBOX_DUE "FROM `opn$outbox` WHERE dispatched_time IS NULL AND " \
	"parked_time IS NULL AND "

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
	    "'1970-01-01 00:00:00', created_time), TIMESTAMPDIFF(SECOND, "
	    "created_time, UTC_TIMESTAMP(6)), TIMESTAMPDIFF(SECOND, "
	    "failing_since, UTC_TIMESTAMP(6)), attempts " OUTBOX_DUE
	    "(next_attempt_time IS NULL OR next_attempt_time <= "
	    "UTC_TIMESTAMP(6)) AND kind <> ? AND kind <> ? ORDER BY id LIMIT ? "
	    "FOR UPDATE SKIP LOCKED");
	d->s_done = db_add_stmt(d->db, "UPDATE `opn$outbox` SET dispatched_time "
	    "= UTC_TIMESTAMP(6), task_id = ?, last_error = COALESCE(?, "
	    "last_error) WHERE id = ?");
	d->s_retry = db_add_stmt(d->db, "UPDATE `opn$outbox` SET attempts = "
	    "attempts + ?, next_attempt_time = UTC_TIMESTAMP(6) + INTERVAL ? "
	    "MICROSECOND, failing_since = IF(?, COALESCE(failing_since, "
	    "UTC_TIMESTAMP(6)), failing_since), last_error = ? WHERE id = ?");
	d->s_park = db_add_stmt(d->db, "UPDATE `opn$outbox` SET parked_time = "
	    "UTC_TIMESTAMP(6), attempts = attempts + 1, last_error = ? "
	    "WHERE id = ?");
	d->s_held = db_add_stmt(d->db, "SELECT id, body, TIMESTAMPDIFF("
	    "MICROSECOND, UTC_TIMESTAMP(6), next_attempt_time) " OUTBOX_DUE
	    "kind = 'celery' AND next_attempt_time > UTC_TIMESTAMP(6) "
	    "ORDER BY id");
	d->s_backlog = db_add_stmt(d->db, "SELECT COUNT(*) - COUNT(parked_time), "
	    "TIMESTAMPDIFF(MICROSECOND, MIN(IF(parked_time IS NULL, "
	    "created_time, NULL)), UTC_TIMESTAMP(6)), COUNT(parked_time) "
	    "FROM `opn$outbox` WHERE dispatched_time IS NULL");
	d->s_purge_outbox = db_add_stmt(d->db, "DELETE FROM `opn$outbox` "
	    "WHERE dispatched_time < UTC_TIMESTAMP(6) - INTERVAL ? DAY "
	    "ORDER BY dispatched_time LIMIT ?");
	d->s_purge_replay = db_add_stmt(d->db, "DELETE FROM `opn$replay` "
	    "WHERE created_time < UTC_TIMESTAMP(6) - INTERVAL ? DAY "
	    "ORDER BY created_time LIMIT ?");
	d->s_sizes = db_add_stmt(d->db, "SELECT (SELECT table_rows FROM "
	    "information_schema.tables WHERE table_schema = DATABASE() AND "
	    "table_name = 'opn$outbox'), (SELECT table_rows FROM "
	    "information_schema.tables WHERE table_schema = DATABASE() AND "
	    "table_name = 'opn$replay')");
	d->rows = xmalloc(sizeof(struct row) * (size_t)cfg->dispatch_batch);
	d->held = xmalloc(sizeof(struct held) * HELD_MAX);
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
	for (int i = 0; i < d->nrefused; i++)
		free(d->refused[i]);
	free(d->rows);
	free(d->held);
	free(d->body_buf);
}

int
dispatch_run(const struct config *cfg, struct metrics *m)
{
	static const struct proc_handlers h = { .stop = on_stop,
	    .usr1 = on_usr1 };
	struct dispatcher d;
	sigset_t busy;

	/* No SA_RESTART: the wait must end. The signals are blocked while a
	 * batch runs: it ends with a commit or a rollback, never half-way. */
	proc_signals(&h, &busy);
	setup(&d, cfg, m);
	if (d.md) {
		d.md->pid = getpid();
		__atomic_store_n(&d.md->backlog, -1, __ATOMIC_RELAXED);
		__atomic_store_n(&d.md->parked, -1, __ATOMIC_RELAXED);
		__atomic_store_n(&d.md->outbox_rows, -1, __ATOMIC_RELAXED);
		__atomic_store_n(&d.md->replay_rows, -1, __ATOMIC_RELAXED);
	}
	set_state(&d, D_CONNECTING);
	log_msg(LOG_INFO, "dispatcher started (batch %lld)",
	    (long long)cfg->dispatch_batch);
	while (!stop) {
		int n, again = 0;
		/* A SIGTERM that came during the batch is handled here, also
		 * when the next batch follows without a nap. */
		sigprocmask(SIG_UNBLOCK, &busy, NULL);
		sigprocmask(SIG_BLOCK, &busy, NULL);
		if (stop)
			break;
		/* The database as a whole: its backoff is not cut short. */
		if (link_wait(&d.db_l) > 0) {
			nap(link_wait(&d.db_l));
			continue;
		}
		if (!db_connected(d.db) && db_connect(d.db) == -1) {
			problem(&d, "database: %s", db_errmsg(d.db));
			n = -1;
		} else
			n = pass(&d, &again);
		if (n < 0) {
			link_failed(&d.db_l);
			set_state(&d, D_BACKOFF);
			continue;
		}
		link_ok(&d.db_l);
		measure_backlog(&d);
		purge(&d);
		/* Down until a connect succeeds again (at its next row). */
		set_state(&d, d.broker_l.backoff_ms > 0 ? D_BACKOFF : D_RUNNING);
		if (n < cfg->dispatch_batch && !again)
			nap(next_nap(&d));
	}
	log_msg(LOG_INFO, "dispatcher stopped");
	set_state(&d, D_EXITED);
	teardown(&d);
	mysql_thread_end();
	return 0;
}
