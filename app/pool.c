/*
 * The prefork master: forks the workers and supervises them (restart with
 * backoff, recycle, drain on SIGTERM, rolling replacement on SIGHUP). The
 * status process and the outbox dispatcher, when configured, are two more
 * supervised children.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "clock.h"
#include "dispatch.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "pool.h"
#include "proc.h"
#include "worker.h"

#define BACKOFF_MIN_MS 100	/* a worker that dies before it is ready ... */
#define BACKOFF_MAX_MS 5000	/* ... is restarted at most this slowly */
#define EARLY_DEATH_MS 1000	/* a death this soon after start counts */
#define RETIRED_MAX 1024	/* replaced workers still draining */
#define LOG_LIMIT_S 10		/* repeatable events: one line per this long */
/* spawn(): slots -1 to -STATUS_PROCS are the status processes. Several,
 * so that a few stalled peers on the status socket (each held at most
 * STATUS_READ_MS, worker.c) cannot keep /healthz from answering. */
#define STATUS_PROCS 4
#define STATUS_COMM "operate-status"	/* their name in ps (15 bytes at most) */
/* workers = 0: a worker spends most of a request waiting for the
 * database (its commit's log flush), so more workers than cores keep
 * the CPUs busy and let the server flush several commits at once: on 2
 * cores, 4 workers needed 0.70 log fsyncs per action, 8 0.36, 16 0.22
 * (make bench). Capped, as each holds a database connection. */
#define WORKERS_PER_CPU 4
#define WORKERS_AUTO_MAX 32

struct slot {
	pid_t pid;
	struct timespec started;
	int backoff_ms;
	struct timespec restart_at;	/* when pid == 0 and not stopping */
};

struct pool {
	struct config *cfg;
	int listen_fd;
	int status_fd;			/* -1: no status_listen */
	int nworkers;
	struct metrics *metrics;
	struct slot slots[METRICS_WORKERS_MAX];
	struct slot dslot;		/* the dispatcher */
	int dispatch_on;
	struct slot status[STATUS_PROCS];	/* the processes serving status_fd */
	struct log_limit abort_log;
	pid_t retired[RETIRED_MAX];
	int nretired;
	int stopping;
	int ready;			/* READY=1 sent since the last (re)load */
};

#define READY_POLL_MS 20	/* how often the master looks for it */

/* workers = 0 means one per online core; the metrics hold at most
 * METRICS_WORKERS_MAX slots. */
static int
pool_size(const struct config *cfg)
{
	long n = cfg->workers > 0 ? (long)cfg->workers :
	    WORKERS_PER_CPU * sysconf(_SC_NPROCESSORS_ONLN);

	if (cfg->workers == 0 && n > WORKERS_AUTO_MAX)
		n = WORKERS_AUTO_MAX;

	if (n < 1)
		n = 1;
	if (n > METRICS_WORKERS_MAX)
		n = METRICS_WORKERS_MAX;
	return (int)n;
}

static struct slot *
slot_at(struct pool *p, int i)
{
	return i < 0 ? &p->status[-i - 1] : &p->slots[i];
}

/* The child's side of spawn(): slot i's worker, or the status process. */
static int
run_worker(struct pool *p, int i)
{
	if (i < 0) {
		/* ps and pgrep tell it from the workers. */
		prctl(PR_SET_NAME, STATUS_COMM);
		/* Kept, never accepted on: /metrics reads its queue. */
		metrics_watch_queue(p->listen_fd);
		return worker_run(p->cfg, p->status_fd, p->metrics, -1, 1);
	}
	if (p->status_fd != -1)
		close(p->status_fd);
	return worker_run(p->cfg, p->listen_fd, p->metrics, i, 0);
}

/* The child's side of spawn_dispatcher(). */
static int
run_dispatcher(struct pool *p, int i)
{
	(void)i;
	/* It serves no requests: a drained socket must not stay open in it,
	 * nor the status socket. */
	if (p->listen_fd > 0)
		close(p->listen_fd);
	if (p->status_fd != -1)
		close(p->status_fd);
	return dispatch_run(p->cfg, p->metrics);
}

/* Forks a child that never outlives the master and exits with what
 * run(p, i) returns; s gets its pid and start. Returns 0 or -1. */
static int
fork_child(struct pool *p, int i, int (*run)(struct pool *, int),
    struct slot *s)
{
	pid_t pid = proc_fork();

	if (pid == -1) {
		log_msg(LOG_ERROR, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int rc = run(p, i);
		mysql_library_end();
		exit(rc);
	}
	s->pid = pid;
	clock_now(&s->started);
	return 0;
}

static int
spawn(struct pool *p, int i)
{
	struct slot *s = slot_at(p, i);

	/* Before the fork: the child sets W_IDLE once it is ready. */
	if (i >= 0)
		p->metrics->w[i].state = W_STARTING;
	if (fork_child(p, i, run_worker, s) == -1)
		return -1;
	if (i >= 0)
		p->metrics->w[i].pid = s->pid;
	log_msg(LOG_DEBUG, "worker %d started, pid %ld", i, (long)s->pid);
	return 0;
}

static int
spawn_dispatcher(struct pool *p)
{
	p->metrics->d.state = D_STARTING;
	if (fork_child(p, 0, run_dispatcher, &p->dslot) == -1)
		return -1;
	p->metrics->d.pid = p->dslot.pid;
	__atomic_fetch_add(&p->metrics->d.starts, 1, __ATOMIC_RELAXED);
	log_msg(LOG_DEBUG, "dispatcher started, pid %ld", (long)p->dslot.pid);
	return 0;
}

/* The child in slot s died at now: it restarts at once, or, when it died
 * early (unready and within EARLY_DEATH_MS of its start), after a backoff
 * that doubles while it keeps doing so. */
static void
schedule_restart(struct slot *s, int unready, const struct timespec *now)
{
	if (unready && clock_ms_between(&s->started, now) < EARLY_DEATH_MS) {
		s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 :
		    BACKOFF_MIN_MS;
		if (s->backoff_ms > BACKOFF_MAX_MS)
			s->backoff_ms = BACKOFF_MAX_MS;
	} else
		s->backoff_ms = 0;
	s->restart_at = *now;
	clock_add_ms(&s->restart_at, s->backoff_ms);
}

static void
describe(int status, char *out, size_t n)
{
	if (WIFEXITED(status))
		snprintf(out, n, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, n, "was killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(out, n, "stopped with status %d", status);
}

static void
retire(struct pool *p, pid_t pid)
{
	if (p->nretired < RETIRED_MAX)
		p->retired[p->nretired++] = pid;
}

static int
was_retired(struct pool *p, pid_t pid)
{
	for (int i = 0; i < p->nretired; i++)
		if (p->retired[i] == pid) {
			p->retired[i] = p->retired[--p->nretired];
			return 1;
		}
	return 0;
}

/* The dispatcher died: start another, slower if it keeps dying at once. */
static void
reap_dispatcher(struct pool *p, int status, const struct timespec *now)
{
	struct slot *s = &p->dslot;
	pid_t pid = s->pid;
	char why[128];

	s->pid = 0;
	__atomic_store_n(&p->metrics->d.state, D_EXITED, __ATOMIC_RELAXED);
	if (p->stopping)
		return;
	describe(status, why, sizeof(why));
	__atomic_fetch_add(&p->metrics->d.restarts, 1, __ATOMIC_RELAXED);
	schedule_restart(s, 1, now);
	log_msg(LOG_ERROR, "dispatcher (pid %ld) %s; restarting it in %d ms",
	    (long)pid, why, s->backoff_ms);
}

/* A status process serves no actions: restart it, after a pause if it
 * keeps dying. */
static void
reap_status(struct pool *p, struct slot *s, int status,
    const struct timespec *now)
{
	char why[128];

	s->pid = 0;
	if (p->stopping)
		return;
	describe(status, why, sizeof(why));
	log_msg(LOG_WARN, "status process %s; restarting it", why);
	s->restart_at = *now;
	clock_add_ms(&s->restart_at, BACKOFF_MIN_MS);
}

/* The status slot that pid runs in, or NULL. */
static struct slot *
status_slot(struct pool *p, pid_t pid)
{
	for (int i = 0; i < STATUS_PROCS; i++)
		if (p->status[i].pid == pid)
			return &p->status[i];
	return NULL;
}

/* libfcgi aborts on some crafted records: a peer can repeat that at will,
 * so it is counted always and logged at most every LOG_LIMIT_S. */
static int
aborted(struct pool *p, int status)
{
	unsigned long held;

	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
		return 0;
	__atomic_fetch_add(&p->metrics->aborts, 1, __ATOMIC_RELAXED);
	if (!log_limit(&p->abort_log, LOG_LIMIT_S, &held))
		return 1;
	log_msg(LOG_ERROR, "a worker was killed by signal %d (%s), %lu more "
	    "since the last such line; restarting (a malformed FastCGI record "
	    "makes libfcgi abort: who can reach the socket?)", SIGABRT,
	    strsignal(SIGABRT), held);
	return 1;
}

static void
reap(struct pool *p)
{
	struct timespec now;
	char why[128];
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		clock_now(&now);
		if (was_retired(p, pid))
			continue;
		if (pid == p->dslot.pid) {
			reap_dispatcher(p, status, &now);
			continue;
		}
		struct slot *ss = status_slot(p, pid);
		if (ss) {
			reap_status(p, ss, status, &now);
			continue;
		}
		int i;
		for (i = 0; i < p->nworkers; i++)
			if (p->slots[i].pid == pid)
				break;
		if (i == p->nworkers)
			continue;
		struct slot *s = &p->slots[i];
		struct metrics_worker *mw = &p->metrics->w[i];
		/* Died before it reached its accept loop: a crash at start-up. */
		int unready = mw->state == W_STARTING;
		s->pid = 0;
		mw->state = W_EXITED;
		if (p->stopping)
			continue;
		describe(status, why, sizeof(why));
		int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (clean) {
			__atomic_fetch_add(&p->metrics->recycled, 1, __ATOMIC_RELAXED);
			s->backoff_ms = 0;
			s->restart_at = now;
			log_msg(LOG_INFO, "worker %d (pid %ld) %s; replacing it", i,
			    (long)pid, why);
			continue;
		}
		__atomic_fetch_add(&p->metrics->restarts, 1, __ATOMIC_RELAXED);
		if (!aborted(p, status))
			log_msg(LOG_ERROR, "worker %d (pid %ld) %s while serving "
			    "request_id \"%s\"; restarting it", i, (long)pid, why,
			    mw->request_id);
		mw->request_id[0] = '\0';
		schedule_restart(s, unready, &now);
	}
}

/* Starts the slots that are due; returns ms until the next one is due. */
static long
fill(struct pool *p)
{
	struct timespec now;
	long next = 1000;

	clock_now(&now);
	for (int i = p->status_fd == -1 ? 0 : -STATUS_PROCS; i < p->nworkers; i++) {
		struct slot *s = slot_at(p, i);
		if (s->pid != 0)
			continue;
		long due = clock_ms_between(&now, &s->restart_at);
		if (due <= 0)
			spawn(p, i);
		else if (due < next)
			next = due;
	}
	if (p->dispatch_on && p->dslot.pid == 0 && !p->stopping) {
		long due = clock_ms_between(&now, &p->dslot.restart_at);
		if (due <= 0)
			spawn_dispatcher(p);
		else if (due < next)
			next = due;
	}
	return next;
}

static int
alive(struct pool *p)
{
	int n = p->nretired + (p->dslot.pid != 0);
	for (int i = 0; i < p->nworkers; i++)
		n += p->slots[i].pid != 0;
	for (int i = 0; i < STATUS_PROCS; i++)
		n += p->status[i].pid != 0;
	return n;
}

static void
signal_all(struct pool *p, int sig)
{
	for (int i = 0; i < p->nworkers; i++)
		if (p->slots[i].pid)
			kill(p->slots[i].pid, sig);
	for (int i = 0; i < p->nretired; i++)
		kill(p->retired[i], sig);
	if (p->dslot.pid)
		kill(p->dslot.pid, sig);
	for (int i = 0; i < STATUS_PROCS; i++)
		if (p->status[i].pid)
			kill(p->status[i].pid, sig);
}

/* A message for systemd (Type=notify); the first failure is logged. */
static void
notify(const char *state)
{
	static int warned;
	char err[256];

	if (notify_send(state, err, sizeof(err)) == -1 && !warned++)
		log_msg(LOG_WARN, "%s", err);
}

/* Every worker slot has a worker past its start (connected, or logged
 * that it could not): the pool serves. */
static int
workers_up(struct pool *p)
{
	for (int i = 0; i < p->nworkers; i++) {
		int st = __atomic_load_n(&p->metrics->w[i].state,
		    __ATOMIC_RELAXED);
		if (p->slots[i].pid == 0 || st == W_STARTING || st == W_EXITED)
			return 0;
	}
	return 1;
}

/* READY=1 once the socket is bound (before pool_run) and the workers are
 * up, after a start and after each reload. */
static void
check_ready(struct pool *p)
{
	char msg[CONF_PATH + 64];

	if (p->ready || !workers_up(p))
		return;
	p->ready = 1;
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=serving on %s with %d "
	    "workers", p->cfg->listen, p->nworkers);
	notify(msg);
}

/* SIGTERM: workers finish what they are serving, within the timeout. */
static void
drain(struct pool *p, const sigset_t *set)
{
	struct timespec start, now, tick = { 0, 50000000L };
	siginfo_t si;

	p->stopping = 1;
	notify("STOPPING=1");
	/* New connections now fail at once (nginx may try another pool);
	 * those already queued are served by the lingering workers. */
	listen_remove(p->cfg->listen);
	listen_remove(p->cfg->status_listen);
	log_msg(LOG_INFO, "draining %d workers (at most %llds)", alive(p),
	    (long long)p->cfg->shutdown_timeout);
	signal_all(p, SIGTERM);
	clock_now(&start);
	while (alive(p) > 0) {
		clock_now(&now);
		if (clock_ms_between(&start, &now) >
		    p->cfg->shutdown_timeout * 1000) {
			log_msg(LOG_WARN, "shutdown_timeout: killing %d workers",
			    alive(p));
			signal_all(p, SIGKILL);
			start = now;
		}
		sigtimedwait(set, &si, &tick);
		reap(p);
	}
}

/* SIGHUP: re-read the config; replace each worker by a new one. */
static void
reload(struct pool *p)
{
	struct config next;
	char err[1024];

	if (notify_reloading(err, sizeof(err)) == -1)
		log_msg(LOG_WARN, "%s", err);
	config_defaults(&next);
	if (config_load(&next, p->cfg->path, err, sizeof(err)) == -1 ||
	    config_root_ok(&next, err, sizeof(err)) == -1) {
		log_msg(LOG_ERROR, "reload: %s; keeping the running config", err);
		notify("READY=1\nSTATUS=reload failed: the running config "
		    "keeps serving (see the log)");
		return;
	}
	if (strcmp(next.listen, p->cfg->listen) != 0)
		log_msg(LOG_WARN, "reload: listen changed; it takes effect at "
		    "the next restart");
	snprintf(next.listen, sizeof(next.listen), "%s", p->cfg->listen);
	if (strcmp(next.status_listen, p->cfg->status_listen) != 0)
		log_msg(LOG_WARN, "reload: status_listen changed; it takes "
		    "effect at the next restart");
	snprintf(next.status_listen, sizeof(next.status_listen), "%s",
	    p->cfg->status_listen);
	char lerr[256];
	if (log_open(next.log_file, next.log_level, next.log_format, lerr,
	    sizeof(lerr)) == -1)
		log_msg(LOG_ERROR, "reload: %s", lerr);
	int n = pool_size(&next);
	*p->cfg = next;
	/* Old workers keep serving their request, then exit; each slot gets
	 * its replacement at once, so the pool never runs short. */
	for (int i = 0; i < p->nworkers; i++)
		if (p->slots[i].pid) {
			retire(p, p->slots[i].pid);
			kill(p->slots[i].pid, SIGTERM);
			p->slots[i].pid = 0;
		}
	for (int i = 0; i < STATUS_PROCS; i++)
		if (p->status[i].pid) {
			retire(p, p->status[i].pid);
			kill(p->status[i].pid, SIGTERM);
			p->status[i].pid = 0;
			memset(&p->status[i].restart_at, 0,
			    sizeof(struct timespec));
		}
	p->nworkers = n;
	p->metrics->workers = n;
	/* The new dispatcher starts beside the old one's last batch: SKIP
	 * LOCKED keeps them off each other's rows. */
	if (p->dslot.pid) {
		retire(p, p->dslot.pid);
		kill(p->dslot.pid, SIGTERM);
		p->dslot.pid = 0;
	}
	p->dispatch_on = p->cfg->broker_url[0] != '\0';
	memset(&p->dslot.restart_at, 0, sizeof(struct timespec));
	p->dslot.backoff_ms = 0;
	if (!p->dispatch_on)
		p->metrics->d.state = D_OFF;
	for (int i = 0; i < n; i++) {
		memset(&p->slots[i].restart_at, 0, sizeof(struct timespec));
		p->slots[i].backoff_ms = 0;
		spawn(p, i);
	}
	p->ready = 0;		/* READY=1 again once the new workers are up */
	log_msg(LOG_INFO, "reloaded %s: %d workers", p->cfg->path, n);
}

int
pool_run(struct config *cfg, int listen_fd, int status_fd)
{
	struct pool p;
	sigset_t set;
	siginfo_t si;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.listen_fd = listen_fd;
	p.status_fd = status_fd;
	p.nworkers = pool_size(cfg);
	if ((p.metrics = metrics_map()) == NULL) {
		log_msg(LOG_ERROR, "mmap: %s", strerror(errno));
		return 1;
	}
	p.metrics->workers = p.nworkers;
	p.dispatch_on = cfg->broker_url[0] != '\0';
	p.metrics->d.state = p.dispatch_on ? D_STARTING : D_OFF;
	p.metrics->d.backlog = -1;
	char err[256];
	if (dispatch_wake_init(err, sizeof(err)) == -1) {
		log_msg(LOG_ERROR, "%s", err);
		return 1;
	}

	/* The master handles its signals synchronously. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_msg(LOG_INFO, "listening on %s with %d workers", cfg->listen,
	    p.nworkers);
	if (status_fd != -1)
		log_msg(LOG_INFO, "status routes on %s", cfg->status_listen);
	for (;;) {
		long wait_ms = fill(&p);
		check_ready(&p);
		if (!p.ready && wait_ms > READY_POLL_MS)
			wait_ms = READY_POLL_MS;
		struct timespec ts = clock_ms_ts(wait_ms);
		int sig = sigtimedwait(&set, &si, &ts);
		if (sig == SIGCHLD)
			reap(&p);
		else if (sig == SIGTERM || sig == SIGINT)
			break;
		else if (sig == SIGHUP)
			reload(&p);
		else if (sig == SIGUSR1) {
			log_reopen();
			signal_all(&p, SIGUSR1);
		}
		reap(&p);
	}
	drain(&p, &set);
	log_msg(LOG_INFO, "stopped");
	return 0;
}
