/*
 * A worker: accepts on the shared socket itself (libfcgi's accept has no
 * deadline), hands each connection to the request path within its read
 * deadline, and on SIGTERM serves the backlog for a moment, then exits.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <mysql.h>

#include "clock.h"
#include "conn.h"
#include "gwkey.h"
#include "log.h"
#include "proc.h"
#include "request.h"
#include "store.h"
#include "worker.h"

#define LINGER_MS 1000		/* after SIGTERM, serve the backlog this long */
#define LINGER_ACCEPT_MS 50	/* an accept another worker won is given up */
/* The status socket's read deadline (or request_read_timeout if shorter):
 * a GET is one small record set, so a peer that has not sent it within
 * this long is stalling, and a load balancer's health check must not
 * wait behind it. */
#define STATUS_READ_MS 1000
/* The status process's database deadline, connect and read: /healthz
 * says whether an action would reach the database now. */
#define STATUS_DB_TIMEOUT_S 2
#define QUEUE_SAMPLE_MS 50	/* a saturated worker reads the accept queue */

static volatile sig_atomic_t worker_stop, worker_reopen;

static void
on_worker_stop(int sig)
{
	(void)sig;
	worker_stop = 1;
	FCGX_ShutdownPending();
}

static void
on_worker_usr1(int sig)
{
	(void)sig;
	worker_reopen = 1;
}

/*
 * One connection, read within request_read_timeout. The worker accepted
 * it and hands it to libfcgi in the request's public ipcFd; keepConnection
 * keeps FCGX_Accept_r's opening FCGX_Finish_r from closing it, and the
 * BEGIN_REQUEST record then sets it as the peer asks. The request's
 * listen_sock is -1, so libfcgi never accepts on its own (after a bad
 * record it would, and block outside any deadline).
 */
static void
serve(FCGX_Request *req, struct request_env *w, struct conn *c)
{
	request_read_begin(w, c);
	/* libfcgi reads params of any size into memory: they are looked
	 * at first, in place. */
	if (conn_params_too_large(c->fd, (size_t)w->cfg->max_params_bytes)) {
		request_read_done(w);
		request_refused(w, c->peer, REFUSED_PARAMS);
		close(c->fd);
		request_state(w, W_IDLE);
		return;
	}
	req->ipcFd = c->fd;
	req->keepConnection = 1;
	if (FCGX_Accept_r(req) == 0)
		request_handle(req, w);
	else if (request_read_done(w) == -1)
		request_read_timeout(w, "header and params");
	request_read_done(w);
	/* libfcgi's close waits for the peer's EOF, for ever while it
	 * trickles bytes: the same deadline bounds it. */
	if (req->ipcFd >= 0)
		conn_deadline_arm(req->ipcFd, w->read_ms);
	FCGX_Finish_r(req);
	conn_deadline_disarm();
	/* Kept only if the peer asked (FCGI_KEEP_CONN): an idle kept
	 * connection would pin this worker, so it is closed. */
	if (req->ipcFd >= 0) {
		close(req->ipcFd);
		req->ipcFd = -1;
	}
	store_housekeeping(w->store);
	request_state(w, W_IDLE);
}

/*
 * A connection accepted while no other worker was idle: the pool is
 * saturated (php-fpm's "max children reached"). Counted, and the accept
 * queue is sampled then, at most every QUEUE_SAMPLE_MS, for its maximum.
 */
static void
saturation(struct request_env *w)
{
	static struct timespec last;
	struct timespec now;
	int n;

	if (w->slot == NULL || w->metrics == NULL)
		return;
	n = w->metrics->workers < METRICS_WORKERS_MAX ? w->metrics->workers :
	    METRICS_WORKERS_MAX;
	for (int i = 0; i < n; i++)
		if (&w->metrics->w[i] != w->slot && __atomic_load_n(
		    &w->metrics->w[i].state, __ATOMIC_RELAXED) == W_IDLE)
			return;
	__atomic_fetch_add(&w->slot->all_busy, 1, __ATOMIC_RELAXED);
	clock_now(&now);
	if (last.tv_sec == 0 || clock_ms_between(&last, &now) >= QUEUE_SAMPLE_MS) {
		last = now;
		metrics_sample_queue(w->metrics);
	}
}

/*
 * After SIGTERM: serve the connections already waiting in the backlog
 * (the master has removed a unix socket's path, so no new ones come), for
 * at most LINGER_MS, then return.
 */
static void
linger(FCGX_Request *req, struct request_env *w, int listen_fd)
{
	struct timespec start, now;

	clock_now(&start);
	for (;;) {
		struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
		struct itimerval t = { .it_value = clock_ms_tv(LINGER_ACCEPT_MS) };
		struct itimerval off = { .it_value = { 0, 0 } };

		clock_now(&now);
		if (clock_ms_between(&start, &now) > LINGER_MS ||
		    poll(&pfd, 1, 0) != 1)
			return;
		struct conn c;
		setitimer(ITIMER_REAL, &t, NULL);	/* SIGALRM ends accept() */
		int rc = conn_accept(listen_fd, w->cfg, &c);
		int err = errno;
		setitimer(ITIMER_REAL, &off, NULL);
		if (rc == -1 && err == EPERM)
			request_refused(w, c.peer, REFUSED_CLIENT);
		if (rc == -1)
			continue;	/* another worker took it */
		serve(req, w, &c);
	}
}

int
worker_run(const struct config *cfg, int listen_fd, struct metrics *m,
    int index, int status_only)
{
	static const struct proc_handlers h = { .stop = on_worker_stop,
	    .usr1 = on_worker_usr1, .alarm = conn_on_alarm };
	struct request_env w = { .cfg = cfg, .metrics = m,
	    .status_only = status_only };
	FCGX_Request req;
	sigset_t busy;
	int64_t served = 0;
	struct outcome o;

	/* No SA_RESTART: accept() returns so that the worker can drain. The
	 * signals are blocked while a request runs: it finishes before the
	 * worker ends, and its database calls never see EINTR. SIGALRM, never
	 * blocked and only armed around those waits, interrupts accept() in
	 * linger() and ends a read at its deadline. */
	proc_signals(&h, &busy);
	w.pid = getpid();
	if (m && index >= 0) {
		w.slot = &m->w[index];
		w.slot->pid = w.pid;
		__atomic_fetch_add(&w.slot->started, 1, __ATOMIC_RELAXED);
	}
	/* listen_sock -1: the worker accepts, libfcgi never does (serve). */
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, -1,
	    FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_msg(LOG_ERROR, "FCGX_Init failed");
		return 1;
	}
	w.read_ms = cfg->request_read_timeout * 1000;
	if (status_only && w.read_ms > STATUS_READ_MS)
		w.read_ms = STATUS_READ_MS;
	w.store = store_new(cfg);
	if (status_only)
		store_limit_timeouts(w.store, STATUS_DB_TIMEOUT_S);
	if (cfg->auth_mode == AUTH_JWT)
		w.gwkey = gwkey_new(cfg);
	/* A worker's first start connects at once, so that a wrong schema is
	 * in the log from the start (opn_check); a restarted worker connects
	 * on its first request, so that a flood of crafted records that kill
	 * workers does not also hammer the database. The status process
	 * connects when /healthz first asks. */
	if (!status_only && (w.slot == NULL || w.slot->started == 1) &&
	    store_ready(w.store, &o) == -1)
		log_msg(LOG_WARN, "worker starts without a database connection");
	if (!status_only)
		metrics_watch_queue(listen_fd);
	request_state(&w, W_IDLE);
	while (!worker_stop) {
		struct conn c;
		sigprocmask(SIG_UNBLOCK, &busy, NULL);
		if (worker_reopen) {
			worker_reopen = 0;
			log_reopen();
		}
		int rc = worker_stop ? -1 : conn_accept(listen_fd, cfg, &c);
		int err = errno;
		sigprocmask(SIG_BLOCK, &busy, NULL);
		if (rc == -1) {
			if (worker_stop)
				break;
			if (err == EPERM)
				request_refused(&w, c.peer, REFUSED_CLIENT);
			else if (err != EINTR && err != ECONNABORTED) {
				log_msg(LOG_WARN, "accept: %s", strerror(err));
				poll(NULL, 0, 100);	/* EMFILE: no busy loop */
			}
			continue;
		}
		saturation(&w);
		serve(&req, &w, &c);
		if (cfg->max_requests > 0 && ++served >= cfg->max_requests) {
			log_msg(LOG_INFO, "recycling after %lld requests",
			    (long long)served);
			break;
		}
	}
	if (worker_stop)
		linger(&req, &w, listen_fd);
	request_state(&w, W_EXITED);
	FCGX_Free(&req, 0);
	gwkey_free(w.gwkey);
	store_free(w.store);
	mysql_thread_end();
	return 0;
}
