/*
 * Counters shared by the master and all workers through one anonymous
 * shared mapping made before the fork. Each worker writes only its own
 * slot; /metrics sums the slots. Slots survive a worker's restart.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

#define METRICS_WORKERS_MAX 256
#define METRICS_ACTIONS 16	/* row 0: requests with no action */
#define METRICS_CODES 7
#define METRICS_BUCKETS 12

/* READING: a connection is accepted and its request not yet read. */
enum worker_state { W_STARTING, W_IDLE, W_READING, W_BUSY, W_EXITED,
	W_STATES };

struct metrics_worker {
	pid_t pid;
	int state;
	uint64_t served;		/* by this slot, over restarts */
	uint64_t started;		/* times a worker started in this slot */
	char request_id[72];		/* the request being served */
	uint64_t count[METRICS_ACTIONS][METRICS_CODES];
	uint64_t bucket[METRICS_BUCKETS];	/* latency, cumulative at read */
	uint64_t lat_sum_us;
	uint64_t http_4xx, http_5xx;
	uint64_t read_timeouts;		/* connections past request_read_timeout */
	uint64_t abandoned;		/* actions not applied: the client left */
	uint64_t all_busy;		/* accepted while no other worker was idle */
	uint64_t params_too_large;	/* connections over max_params_bytes */
	uint64_t refused_clients;	/* not in listen_allowed_clients */
	uint64_t peer_limited;		/* read with the short deadline */
	char peer_key[48];		/* the peer being read (W_READING) */
};

enum dispatch_state { D_OFF, D_STARTING, D_CONNECTING, D_RUNNING,
	D_BACKOFF, D_EXITED };

/* The outbox dispatcher's slot: written by it (and its pid and starts by
 * the master), read by /metrics and /status. */
struct metrics_dispatch {
	pid_t pid;
	int state;
	uint64_t starts, restarts;
	uint64_t published;		/* celery messages the broker confirmed */
	uint64_t redis;			/* redis commands done */
	uint64_t rejected;		/* rows parked: they cannot be sent */
	uint64_t failed;		/* rows that failed, to be tried again */
	uint64_t given_up;		/* redis rows given up (dispatch_give_up) */
	uint64_t purged_outbox;		/* dispatched rows deleted (retention) */
	uint64_t purged_replay;		/* replay records deleted */
	int64_t backlog;		/* undispatched rows not parked, -1 unknown */
	int64_t oldest_us;		/* age of the oldest of them */
	int64_t parked;			/* parked rows, -1 unknown */
	int64_t outbox_rows, replay_rows;	/* table sizes seen, -1 unknown */
	char last_error[160];
};

/* App-mode authentication failures of one app of opn$app. Label values
 * come only from apps the database knows, at most METRICS_APPS_MAX of
 * them (first come): a caller inventing app codes cannot grow /metrics. */
#define METRICS_APPS_MAX 64
#define METRICS_APP_LEN 64
struct metrics_app {
	int state;			/* 0 free, 1 being claimed, 2 in use */
	char code[METRICS_APP_LEN + 1];
	uint64_t failed[2];		/* [0] app, [1] user */
};

struct metrics {
	uint64_t restarts;		/* workers replaced after dying */
	uint64_t recycled;		/* workers replaced after max_requests */
	uint64_t aborts;		/* workers that died of SIGABRT */
	int workers;			/* configured */
	int64_t started;		/* the master's start, unix seconds */
	/* The listen socket's accept queue (sockq.h), sampled by /metrics,
	 * /status and by a worker that finds every other one busy. */
	uint32_t listen_queue, listen_queue_max, listen_queue_limit;
	struct metrics_worker w[METRICS_WORKERS_MAX];
	struct metrics_dispatch d;
	struct metrics_app apps[METRICS_APPS_MAX];
	uint64_t other_failed[2];	/* unknown apps, and past the table */
};

struct metrics *metrics_map(void);	/* NULL if mmap fails */
/* Records one answered request in slot w. action: index or -1. */
void metrics_count(struct metrics_worker *w, int action, int code, int http,
    uint64_t micros);
/* One app-mode authentication failure (user: of the user, else of the
 * app). known_app: the app code is a row of opn$app (else it is counted
 * as "_other"). */
void metrics_auth_failed(struct metrics *m, const char *app, int known_app,
    int user);
/* The label value metrics_auth_failed counts app under. */
const char *metrics_app_label(const char *app, int known_app);
void metrics_render(const struct metrics *m, struct buf *out);
/* The listening socket whose accept queue metrics_sample_queue reads, in
 * this process (-1: none). */
void metrics_watch_queue(int fd);
/* Reads the queue into m (its length, limit and the largest seen). */
void metrics_sample_queue(struct metrics *m);
/* The pool at a glance as one JSON object (the status route); full adds
 * the request id each busy worker serves. */
void metrics_status(const struct metrics *m, int full, struct buf *out);

#endif
