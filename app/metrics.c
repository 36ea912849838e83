/*
 * Prometheus text exposition of the shared counters: requests by action
 * and code, a latency histogram, and the pool's worker state and restarts.
 */
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include "actions.h"
#include "metrics.h"
#include "sockq.h"
#include "store_sql.h"	/* SCHEMA_VERSION */
#include "version.h"
#include "vocab.h"

static const int codes[METRICS_CODES] = { CODE_OK, CODE_PARAM,
	CODE_FORBIDDEN, CODE_NOT_EXIST, CODE_INVALID_OP, CODE_ENV, CODE_UNKNOWN };
/* Upper bounds in microseconds; the last bucket is +Inf. */
static const uint64_t bounds[METRICS_BUCKETS - 1] = { 1000, 2000, 5000,
	10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000 };
static const char *const state_names[W_STATES] = { "starting", "idle",
	"reading", "busy", "exited" };
static const char *const dispatch_states[] = { "off", "starting",
	"connecting", "running", "backoff", "exited" };

struct metrics *
metrics_map(void)
{
	void *p = mmap(NULL, sizeof(struct metrics), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, sizeof(struct metrics));
	((struct metrics *)p)->started = (int64_t)time(NULL);
	return p;
}

static void
inc(uint64_t *p, uint64_t n)
{
	__atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

static uint64_t
get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void
metrics_count(struct metrics_worker *w, int action, int code, int http,
    uint64_t micros)
{
	int row = action + 1, col = METRICS_CODES - 1, b = 0;

	if (w == NULL)
		return;
	if (row < 0 || row >= METRICS_ACTIONS)
		row = 0;
	for (int i = 0; i < METRICS_CODES; i++)
		if (codes[i] == code)
			col = i;
	while (b < METRICS_BUCKETS - 1 && micros > bounds[b])
		b++;
	inc(&w->count[row][col], 1);
	inc(&w->bucket[b], 1);
	inc(&w->lat_sum_us, micros);
	inc(&w->served, 1);
	if (http >= 500)
		inc(&w->http_5xx, 1);
	else if (http >= 400)
		inc(&w->http_4xx, 1);
}

static void
render_requests(const struct metrics *m, struct buf *out)
{
	int n = m->workers < METRICS_WORKERS_MAX ? m->workers : METRICS_WORKERS_MAX;

	buf_adds(out, "# HELP operate_node_requests_total operate_node requests "
	    "answered, by action and code.\n"
	    "# TYPE operate_node_requests_total counter\n");
	for (int r = 0; r < METRICS_ACTIONS && r <= action_count(); r++)
		for (int c = 0; c < METRICS_CODES; c++) {
			uint64_t sum = 0;
			for (int i = 0; i < n; i++)
				sum += get(&m->w[i].count[r][c]);
			if (sum == 0 && c != 0)
				continue;
			buf_printf(out, "operate_node_requests_total{action=\"%s\","
			    "code=\"%d\"} %llu\n", r ? action_at(r - 1)->name :
			    "none", codes[c], (unsigned long long)sum);
		}
}

static void
render_latency(const struct metrics *m, struct buf *out)
{
	int n = m->workers < METRICS_WORKERS_MAX ? m->workers : METRICS_WORKERS_MAX;
	uint64_t cum = 0, sum_us = 0;

	buf_adds(out, "# HELP operate_node_request_duration_seconds Time from "
	    "accept to reply.\n"
	    "# TYPE operate_node_request_duration_seconds histogram\n");
	for (int i = 0; i < n; i++)
		sum_us += get(&m->w[i].lat_sum_us);
	for (int b = 0; b < METRICS_BUCKETS; b++) {
		for (int i = 0; i < n; i++)
			cum += get(&m->w[i].bucket[b]);
		if (b < METRICS_BUCKETS - 1)
			buf_printf(out, "operate_node_request_duration_seconds_"
			    "bucket{le=\"%g\"} %llu\n", bounds[b] / 1e6,
			    (unsigned long long)cum);
		else
			buf_printf(out, "operate_node_request_duration_seconds_"
			    "bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	}
	buf_printf(out, "operate_node_request_duration_seconds_sum %.6f\n"
	    "operate_node_request_duration_seconds_count %llu\n", sum_us / 1e6,
	    (unsigned long long)cum);
}

static void
render_pool(const struct metrics *m, struct buf *out)
{
	int n = m->workers < METRICS_WORKERS_MAX ? m->workers : METRICS_WORKERS_MAX;

	buf_printf(out, "# HELP operate_node_worker_restarts_total Workers "
	    "replaced after they died.\n"
	    "# TYPE operate_node_worker_restarts_total counter\n"
	    "operate_node_worker_restarts_total %llu\n"
	    "# HELP operate_node_worker_recycled_total Workers replaced after "
	    "max_requests.\n"
	    "# TYPE operate_node_worker_recycled_total counter\n"
	    "operate_node_worker_recycled_total %llu\n"
	    "# HELP operate_node_workers Configured pool size.\n"
	    "# TYPE operate_node_workers gauge\n"
	    "operate_node_workers %d\n"
	    "# HELP operate_node_worker_aborts_total Workers that died of "
	    "SIGABRT (libfcgi aborts on some crafted records).\n"
	    "# TYPE operate_node_worker_aborts_total counter\n"
	    "operate_node_worker_aborts_total %llu\n",
	    (unsigned long long)get(&m->restarts),
	    (unsigned long long)get(&m->recycled), m->workers,
	    (unsigned long long)get(&m->aborts));
	buf_adds(out, "# HELP operate_node_worker_requests_total Requests served "
	    "by each worker slot.\n"
	    "# TYPE operate_node_worker_requests_total counter\n");
	for (int i = 0; i < n; i++)
		buf_printf(out, "operate_node_worker_requests_total{worker=\"%d\"} "
		    "%llu\n", i, (unsigned long long)get(&m->w[i].served));
	buf_adds(out, "# HELP operate_node_worker_state Each worker slot's "
	    "state: 1 for the state it is in.\n"
	    "# TYPE operate_node_worker_state gauge\n");
	for (int i = 0; i < n; i++) {
		int st = __atomic_load_n(&m->w[i].state, __ATOMIC_RELAXED);
		for (int k = 0; k < W_STATES; k++)
			buf_printf(out, "operate_node_worker_state{worker=\"%d\","
			    "state=\"%s\"} %d\n", i, state_names[k], st == k);
	}
}

static void
render_dispatch(const struct metrics *m, struct buf *out)
{
	const struct metrics_dispatch *d = &m->d;
	int st = __atomic_load_n(&d->state, __ATOMIC_RELAXED);

	if (st == D_OFF)
		return;
	buf_printf(out, "# HELP operate_node_dispatcher_up 1 while the outbox "
	    "dispatcher is connected and sending.\n"
	    "# TYPE operate_node_dispatcher_up gauge\n"
	    "operate_node_dispatcher_up %d\n"
	    "# HELP operate_node_dispatcher_restarts_total Dispatchers replaced "
	    "after they died.\n"
	    "# TYPE operate_node_dispatcher_restarts_total counter\n"
	    "operate_node_dispatcher_restarts_total %llu\n"
	    "# HELP operate_node_outbox_sent_total Outbox rows done, by kind "
	    "(celery: confirmed by the broker).\n"
	    "# TYPE operate_node_outbox_sent_total counter\n"
	    "operate_node_outbox_sent_total{kind=\"celery\"} %llu\n"
	    "operate_node_outbox_sent_total{kind=\"redis\"} %llu\n"
	    "# HELP operate_node_outbox_parked_total Outbox rows parked by this "
	    "pool's dispatcher: they cannot be sent (operate-node-admin outbox "
	    "list).\n"
	    "# TYPE operate_node_outbox_parked_total counter\n"
	    "operate_node_outbox_parked_total %llu\n"
	    "# HELP operate_node_outbox_failed_total Rows that failed on their "
	    "own and were put off to be tried again.\n"
	    "# TYPE operate_node_outbox_failed_total counter\n"
	    "operate_node_outbox_failed_total %llu\n"
	    "# HELP operate_node_outbox_given_up_total Redis rows given up after "
	    "dispatch_give_up seconds of failures.\n"
	    "# TYPE operate_node_outbox_given_up_total counter\n"
	    "operate_node_outbox_given_up_total %llu\n"
	    "# HELP operate_node_purged_total Rows deleted by retention "
	    "(outbox_retention_days, replay_retention_days).\n"
	    "# TYPE operate_node_purged_total counter\n"
	    "operate_node_purged_total{table=\"opn$outbox\"} %llu\n"
	    "operate_node_purged_total{table=\"opn$replay\"} %llu\n",
	    st == D_RUNNING, (unsigned long long)get(&d->restarts),
	    (unsigned long long)get(&d->published),
	    (unsigned long long)get(&d->redis),
	    (unsigned long long)get(&d->rejected),
	    (unsigned long long)get(&d->failed),
	    (unsigned long long)get(&d->given_up),
	    (unsigned long long)get(&d->purged_outbox),
	    (unsigned long long)get(&d->purged_replay));
	int64_t orows = __atomic_load_n(&d->outbox_rows, __ATOMIC_RELAXED);
	int64_t rrows = __atomic_load_n(&d->replay_rows, __ATOMIC_RELAXED);
	if (orows >= 0 && rrows >= 0)
		buf_printf(out, "# HELP operate_node_table_rows Rows of the "
		    "service's growing tables, as the server estimates them "
		    "(seen at each retention round).\n"
		    "# TYPE operate_node_table_rows gauge\n"
		    "operate_node_table_rows{table=\"opn$outbox\"} %lld\n"
		    "operate_node_table_rows{table=\"opn$replay\"} %lld\n",
		    (long long)orows, (long long)rrows);
	int64_t backlog = __atomic_load_n(&d->backlog, __ATOMIC_RELAXED);
	if (backlog < 0)
		return;		/* not measured yet: no value beats a wrong one */
	buf_printf(out, "# HELP operate_node_outbox_backlog Outbox rows not "
	    "dispatched yet (all pools on the database).\n"
	    "# TYPE operate_node_outbox_backlog gauge\n"
	    "operate_node_outbox_backlog %lld\n"
	    "# HELP operate_node_outbox_oldest_age_seconds Age of the oldest "
	    "undispatched row; 0 when there is none.\n"
	    "# TYPE operate_node_outbox_oldest_age_seconds gauge\n"
	    "operate_node_outbox_oldest_age_seconds %.6f\n"
	    "# HELP operate_node_outbox_parked Parked outbox rows waiting for "
	    "operate-node-admin outbox retry (all pools).\n"
	    "# TYPE operate_node_outbox_parked gauge\n"
	    "operate_node_outbox_parked %lld\n", (long long)backlog,
	    __atomic_load_n(&d->oldest_us, __ATOMIC_RELAXED) / 1e6,
	    (long long)__atomic_load_n(&d->parked, __ATOMIC_RELAXED));
}

static int queue_fd = -1;

void
metrics_watch_queue(int fd)
{
	queue_fd = fd;
}

void
metrics_sample_queue(struct metrics *m)
{
	unsigned len, limit;
	char err[128];

	if (m == NULL || queue_fd < 0 ||
	    sockq_listen(queue_fd, &len, &limit, err, sizeof(err)) == -1)
		return;
	__atomic_store_n(&m->listen_queue, len, __ATOMIC_RELAXED);
	__atomic_store_n(&m->listen_queue_limit, limit, __ATOMIC_RELAXED);
	uint32_t seen = __atomic_load_n(&m->listen_queue_max, __ATOMIC_RELAXED);
	while (len > seen && !__atomic_compare_exchange_n(&m->listen_queue_max,
	    &seen, len, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* php-fpm's saturation figures: the accept queue and "max children
 * reached". */
static void
render_saturation(const struct metrics *m, struct buf *out)
{
	int n = m->workers < METRICS_WORKERS_MAX ? m->workers : METRICS_WORKERS_MAX;
	uint64_t busy = 0;

	for (int i = 0; i < n; i++)
		busy += get(&m->w[i].all_busy);
	buf_printf(out, "# HELP operate_node_listen_queue Connections waiting "
	    "in the listen socket's accept queue.\n"
	    "# TYPE operate_node_listen_queue gauge\n"
	    "operate_node_listen_queue %u\n"
	    "# HELP operate_node_listen_queue_max The longest accept queue "
	    "seen since the start.\n"
	    "# TYPE operate_node_listen_queue_max gauge\n"
	    "operate_node_listen_queue_max %u\n"
	    "# HELP operate_node_listen_queue_limit The accept queue's limit "
	    "(listen_backlog, capped by net.core.somaxconn); beyond it the "
	    "web server's connect fails.\n"
	    "# TYPE operate_node_listen_queue_limit gauge\n"
	    "operate_node_listen_queue_limit %u\n"
	    "# HELP operate_node_all_workers_busy_total Connections a worker "
	    "accepted while no other worker was idle (php-fpm's max children "
	    "reached).\n"
	    "# TYPE operate_node_all_workers_busy_total counter\n"
	    "operate_node_all_workers_busy_total %llu\n",
	    __atomic_load_n(&m->listen_queue, __ATOMIC_RELAXED),
	    __atomic_load_n(&m->listen_queue_max, __ATOMIC_RELAXED),
	    __atomic_load_n(&m->listen_queue_limit, __ATOMIC_RELAXED),
	    (unsigned long long)busy);
}

static void
render_connections(const struct metrics *m, struct buf *out)
{
	int n = m->workers < METRICS_WORKERS_MAX ? m->workers : METRICS_WORKERS_MAX;
	uint64_t timeouts = 0, abandoned = 0, big = 0, refused = 0, limited = 0;

	for (int i = 0; i < n; i++) {
		timeouts += get(&m->w[i].read_timeouts);
		abandoned += get(&m->w[i].abandoned);
		big += get(&m->w[i].params_too_large);
		refused += get(&m->w[i].refused_clients);
		limited += get(&m->w[i].peer_limited);
	}
	buf_printf(out, "# HELP operate_node_params_too_large_total Connections "
	    "closed because their FastCGI params exceeded max_params_bytes.\n"
	    "# TYPE operate_node_params_too_large_total counter\n"
	    "operate_node_params_too_large_total %llu\n"
	    "# HELP operate_node_refused_clients_total TCP connections closed "
	    "because the peer is not in listen_allowed_clients.\n"
	    "# TYPE operate_node_refused_clients_total counter\n"
	    "operate_node_refused_clients_total %llu\n"
	    "# HELP operate_node_peer_limited_total Connections read with the "
	    "short deadline because their peer already had peer_reading_max "
	    "connections in the read phase.\n"
	    "# TYPE operate_node_peer_limited_total counter\n"
	    "operate_node_peer_limited_total %llu\n",
	    (unsigned long long)big, (unsigned long long)refused,
	    (unsigned long long)limited);
	buf_printf(out, "# HELP operate_node_read_timeouts_total Connections "
	    "closed because their request was not read within "
	    "request_read_timeout.\n"
	    "# TYPE operate_node_read_timeouts_total counter\n"
	    "operate_node_read_timeouts_total %llu\n"
	    "# HELP operate_node_abandoned_total Actions not applied because "
	    "the client had closed the connection or aborted the request.\n"
	    "# TYPE operate_node_abandoned_total counter\n"
	    "operate_node_abandoned_total %llu\n",
	    (unsigned long long)timeouts, (unsigned long long)abandoned);
}

const char *
metrics_app_label(const char *app, int known_app)
{
	size_t n = app ? strlen(app) : 0;

	/* Plain ids only: nothing a label would need to escape. */
	if (!known_app || n == 0 || n > METRICS_APP_LEN ||
	    strspn(app, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-.") != n)
		return "_other";
	return app;
}

void
metrics_auth_failed(struct metrics *m, const char *app, int known_app,
    int user)
{
	const char *label = metrics_app_label(app, known_app);
	int k = user ? 1 : 0;

	if (m == NULL)
		return;
	if (strcmp(label, "_other") == 0)
		goto other;
	for (int i = 0; i < METRICS_APPS_MAX; i++) {
		struct metrics_app *a = &m->apps[i];
		int st = __atomic_load_n(&a->state, __ATOMIC_ACQUIRE);
		int unclaimed = 0;
		if (st == 2 && strcmp(a->code, label) == 0) {
			inc(&a->failed[k], 1);
			return;
		}
		if (st != 0)
			continue;
		/* Claim it; two workers may claim two slots for one app, which
		 * the rendering adds up. */
		if (!__atomic_compare_exchange_n(&a->state, &unclaimed, 1, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		memcpy(a->code, label, strlen(label) + 1);
		inc(&a->failed[k], 1);
		__atomic_store_n(&a->state, 2, __ATOMIC_RELEASE);
		return;
	}
other:
	inc(&m->other_failed[k], 1);
}

static void
render_auth(const struct metrics *m, struct buf *out)
{
	static const char *const what[2] = { "app", "user" };

	buf_printf(out, "# HELP operate_node_auth_failures_total App-mode "
	    "authentication failures by app (apps of opn$app; _other: any "
	    "other code) and by what failed.\n"
	    "# TYPE operate_node_auth_failures_total counter\n");
	for (int k = 0; k < 2; k++)
		buf_printf(out, "operate_node_auth_failures_total{app=\"_other\","
		    "what=\"%s\"} %llu\n", what[k],
		    (unsigned long long)get(&m->other_failed[k]));
	for (int i = 0; i < METRICS_APPS_MAX; i++) {
		const struct metrics_app *a = &m->apps[i];
		int dup = 0;
		if (__atomic_load_n(&a->state, __ATOMIC_ACQUIRE) != 2)
			continue;
		for (int j = 0; j < i && !dup; j++)
			dup = __atomic_load_n(&m->apps[j].state,
			    __ATOMIC_ACQUIRE) == 2 &&
			    strcmp(m->apps[j].code, a->code) == 0;
		if (dup)
			continue;
		for (int k = 0; k < 2; k++) {
			uint64_t n = 0;
			for (int j = i; j < METRICS_APPS_MAX; j++)
				if (__atomic_load_n(&m->apps[j].state,
				    __ATOMIC_ACQUIRE) == 2 &&
				    strcmp(m->apps[j].code, a->code) == 0)
					n += get(&m->apps[j].failed[k]);
			buf_printf(out, "operate_node_auth_failures_total{app=\"%s\","
			    "what=\"%s\"} %llu\n", a->code, what[k],
			    (unsigned long long)n);
		}
	}
}

void
metrics_render(const struct metrics *m, struct buf *out)
{
	buf_adds(out, "# HELP operate_node_build_info The running binary's "
	    "version (the VERSION file); always 1.\n"
	    "# TYPE operate_node_build_info gauge\n"
	    "operate_node_build_info{version=\"" OPN_VERSION "\",schema=\""
	    SCHEMA_STR(SCHEMA_VERSION) "\"} 1\n");
	render_requests(m, out);
	render_latency(m, out);
	render_pool(m, out);
	render_saturation(m, out);
	render_connections(m, out);
	render_auth(m, out);
	render_dispatch(m, out);
}

/* The dispatcher as a JSON member of the status object ("" when off). */
static void
status_dispatch(const struct metrics *m, struct buf *out)
{
	const struct metrics_dispatch *d = &m->d;
	int st = __atomic_load_n(&d->state, __ATOMIC_RELAXED);
	char errbuf[sizeof(d->last_error)];

	if (st == D_OFF)
		return;
	memcpy(errbuf, d->last_error, sizeof(errbuf));
	errbuf[sizeof(errbuf) - 1] = '\0';
	buf_printf(out, ",\"dispatcher\":{\"pid\":%ld,\"state\":\"%s\","
	    "\"starts\":%llu,\"restarts\":%llu,\"published\":%llu,"
	    "\"redis\":%llu,\"rejected\":%llu,\"failed\":%llu,"
	    "\"given_up\":%llu,\"purged_outbox\":%llu,\"purged_replay\":%llu,"
	    "\"backlog\":%lld,\"oldest_seconds\":%.3f,\"parked\":%lld,"
	    "\"outbox_rows\":%lld,\"replay_rows\":%lld,\"last_error\":",
	    (long)d->pid, st >= 0 && st <= D_EXITED ? dispatch_states[st] :
	    "exited", (unsigned long long)get(&d->starts),
	    (unsigned long long)get(&d->restarts),
	    (unsigned long long)get(&d->published),
	    (unsigned long long)get(&d->redis),
	    (unsigned long long)get(&d->rejected),
	    (unsigned long long)get(&d->failed),
	    (unsigned long long)get(&d->given_up),
	    (unsigned long long)get(&d->purged_outbox),
	    (unsigned long long)get(&d->purged_replay),
	    (long long)__atomic_load_n(&d->backlog, __ATOMIC_RELAXED),
	    __atomic_load_n(&d->oldest_us, __ATOMIC_RELAXED) / 1e6,
	    (long long)__atomic_load_n(&d->parked, __ATOMIC_RELAXED),
	    (long long)__atomic_load_n(&d->outbox_rows, __ATOMIC_RELAXED),
	    (long long)__atomic_load_n(&d->replay_rows, __ATOMIC_RELAXED));
	buf_add_json_str(out, errbuf, strlen(errbuf));
	buf_adds(out, "}");
}

void
metrics_status(const struct metrics *m, int full, struct buf *out)
{
	int n = m->workers < METRICS_WORKERS_MAX ? m->workers : METRICS_WORKERS_MAX;
	int busy = 0, idle = 0, reading = 0;
	uint64_t served = 0, all_busy = 0;

	for (int i = 0; i < n; i++) {
		int st = __atomic_load_n(&m->w[i].state, __ATOMIC_RELAXED);
		busy += st == W_BUSY;
		idle += st == W_IDLE;
		reading += st == W_READING;
		served += get(&m->w[i].served);
		all_busy += get(&m->w[i].all_busy);
	}
	buf_printf(out, "{\"version\":\"" OPN_VERSION "\",\"schema\":"
	    SCHEMA_STR(SCHEMA_VERSION) ",\"workers\":%d,\"idle\":%d,\"reading\":%d,"
	    "\"busy\":%d,\"listen_queue\":%u,\"max_listen_queue\":%u,"
	    "\"listen_queue_limit\":%u,\"all_workers_busy\":%llu,"
	    "\"requests\":%llu,\"restarts\":%llu,"
	    "\"recycled\":%llu,\"uptime_seconds\":%lld,\"slots\":[", n, idle,
	    reading, busy,
	    __atomic_load_n(&m->listen_queue, __ATOMIC_RELAXED),
	    __atomic_load_n(&m->listen_queue_max, __ATOMIC_RELAXED),
	    __atomic_load_n(&m->listen_queue_limit, __ATOMIC_RELAXED),
	    (unsigned long long)all_busy,
	    (unsigned long long)served, (unsigned long long)get(&m->restarts),
	    (unsigned long long)get(&m->recycled),
	    (long long)(time(NULL) - m->started));
	for (int i = 0; i < n; i++) {
		const struct metrics_worker *w = &m->w[i];
		int st = __atomic_load_n(&w->state, __ATOMIC_RELAXED);
		char rid[sizeof(w->request_id)];
		/* A racy copy of another process's buffer: keep it terminated. */
		memcpy(rid, w->request_id, sizeof(rid));
		rid[sizeof(rid) - 1] = '\0';
		buf_printf(out, "%s{\"worker\":%d,\"pid\":%ld,\"state\":\"%s\","
		    "\"requests\":%llu,\"starts\":%llu", i ? "," : "",
		    i, (long)w->pid, st >= 0 && st < W_STATES ? state_names[st] :
		    "exited", (unsigned long long)get(&w->served),
		    (unsigned long long)get(&w->started));
		/* Request ids are the callers' replay keys: only on request. */
		if (full) {
			buf_adds(out, ",\"request_id\":");
			buf_add_json_str(out, st == W_BUSY ? rid : "",
			    st == W_BUSY ? strlen(rid) : 0);
		}
		buf_adds(out, "}");
	}
	buf_adds(out, "]");
	status_dispatch(m, out);
	buf_adds(out, "}\n");
}
