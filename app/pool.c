/*
 * The prefork pool: the master opens the socket, forks the workers and
 * supervises them (restart with backoff, recycle, drain on SIGTERM, rolling
 * replacement on SIGHUP). Each worker accepts on the shared socket. The
 * outbox dispatcher, when configured, is one more supervised child.
 */
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <mysql.h>

#include "conn.h"
#include "dispatch.h"
#include "log.h"
#include "pool.h"
#include "request.h"
#include "worker.h"

#define BACKOFF_MIN_MS 100	/* a worker that dies before it is ready ... */
#define BACKOFF_MAX_MS 5000	/* ... is restarted at most this slowly */
#define EARLY_DEATH_MS 1000	/* a death this soon after start counts */
#define RETIRED_MAX 1024	/* replaced workers still draining */
#define LINGER_MS 1000		/* after SIGTERM, serve the backlog this long */
#define LINGER_ACCEPT_MS 50	/* an accept another worker won is given up */
#define LOG_LIMIT_S 10		/* repeatable events: one line per this long */
#define STATUS_SLOT (-1)	/* spawn(): the status process */
#define STATUS_COMM "operate-status"	/* its name in ps (15 bytes at most) */

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
	struct slot status;		/* the process serving status_fd */
	struct log_limit abort_log;
	pid_t retired[RETIRED_MAX];
	int nretired;
	int stopping;
};

static volatile sig_atomic_t worker_stop, worker_reopen;
static pid_t worker_pid;		/* getpid(), once per worker */

static long
ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

static void
ms_add(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static int
set_owner(const char *path, const char *owner, char *err, size_t errlen)
{
	char user[256], *group;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (*owner == '\0')
		return 0;
	snprintf(user, sizeof(user), "%s", owner);
	if ((group = strchr(user, ':')) != NULL)
		*group++ = '\0';
	if (*user) {
		struct passwd *pw = getpwnam(user);
		if (pw == NULL) {
			snprintf(err, errlen, "listen_owner: no user \"%s\"", user);
			return -1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (group && *group) {
		struct group *gr = getgrnam(group);
		if (gr == NULL) {
			snprintf(err, errlen, "listen_owner: no group \"%s\"", group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (chown(path, uid, gid) == -1) {
		snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
listen_unix(const struct config *cfg, const char *addr, char *err,
    size_t errlen)
{
	const char *path = addr + 5;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "listen: socket path is too long");
		return -1;
	}
	strcpy(sun.sun_path, path);
	/* A stale socket from an earlier run; never remove anything else. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	/* Bind with no access at all, then open it up to the configured
	 * mode: nobody can connect in between. */
	mode_t old = umask(0777);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r == -1 || chmod(path, (mode_t)cfg->listen_mode) == -1)
		goto fail;
	if (set_owner(path, cfg->listen_owner, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	if (listen(fd, (int)cfg->listen_backlog) == -1)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "listen %s: %s", addr, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

static int
listen_tcp(const struct config *cfg, const char *addr, char *err,
    size_t errlen)
{
	char host[CONF_PATH];
	const char *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *ai = NULL;
	int fd = -1, one = 1, r;

	snprintf(host, sizeof(host), "%s", addr);
	char *colon = strrchr(host, ':');
	*colon = '\0';
	port = colon + 1;
	/* [::1]:9000 */
	char *h = host;
	if (*h == '[' && h[strlen(h) - 1] == ']') {
		h[strlen(h) - 1] = '\0';
		h++;
	}
	if ((r = getaddrinfo(h, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "listen %s: %s (use an IP address)",
		    addr, gai_strerror(r));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, (int)cfg->listen_backlog) == -1) {
		snprintf(err, errlen, "listen %s: %s", addr, strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int
pool_inherited_socket(void)
{
	int type = 0, acc = 0;
	socklen_t l = sizeof(type);

	if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &l) == -1 ||
	    type != SOCK_STREAM)
		return 0;
	l = sizeof(acc);
	return getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) == 0 && acc;
}

int
pool_listen(const struct config *cfg, char *err, size_t errlen)
{
	if (strcmp(cfg->listen, "fd0") == 0) {
		if (!pool_inherited_socket()) {
			snprintf(err, errlen, "listen = fd0, but fd 0 is not a "
			    "listening socket");
			return -1;
		}
		return 0;
	}
	if (strncmp(cfg->listen, "unix:", 5) == 0)
		return listen_unix(cfg, cfg->listen, err, errlen);
	return listen_tcp(cfg, cfg->listen, err, errlen);
}

int
pool_listen_status(const struct config *cfg, char *err, size_t errlen)
{
	const char *a = cfg->status_listen;

	if (*a == '\0')
		return -1;
	if (strncmp(a, "unix:", 5) == 0)
		return listen_unix(cfg, a, err, errlen);
	return listen_tcp(cfg, a, err, errlen);
}

/* Worker side --------------------------------------------------------- */

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

static void
worker_signals(sigset_t *busy)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: accept() must return so the worker can drain. */
	sa.sa_handler = on_worker_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_worker_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	/* Interrupts accept() in linger(); ends a read at its deadline. */
	sa.sa_handler = conn_on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	/* Blocked while a request runs: it finishes before the worker ends,
	 * and its database calls never see EINTR. */
	sigemptyset(busy);
	sigaddset(busy, SIGTERM);
	sigaddset(busy, SIGINT);
	sigaddset(busy, SIGUSR1);
	sigaddset(busy, SIGALRM);
}

static void
slot_state(struct metrics_worker *s, int state)
{
	if (s && s->pid == worker_pid)
		__atomic_store_n(&s->state, state, __ATOMIC_RELAXED);
}

static struct log_limit timeout_log;
static int reading;		/* the connection's read deadline is armed */

int
worker_read_done(struct worker *w)
{
	if (reading) {
		reading = 0;
		w->read_expired = conn_deadline_disarm();
		slot_state(w->slot, W_BUSY);
	}
	return w->read_expired ? -1 : 0;
}

void
worker_read_timeout(struct worker *w, const char *what)
{
	unsigned long held;

	if (w->slot)
		__atomic_fetch_add(&w->slot->read_timeouts, 1, __ATOMIC_RELAXED);
	if (!log_limit(&timeout_log, LOG_LIMIT_S, &held))
		return;
	struct log_field f[] = {
		{ "peer", w->peer && *w->peer ? w->peer : "unknown", 0 },
		{ "reading", what, 0 },
		{ "request_read_timeout", NULL, w->cfg->request_read_timeout },
		{ "not_logged", NULL, (long long)held },
		{ NULL, NULL, 0 },
	};
	log_kv(LOG_WARN, "read timeout: connection closed", f);
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
serve(FCGX_Request *req, struct worker *w, struct conn *c)
{
	int64_t ms = w->cfg->request_read_timeout * 1000;

	w->peer = c->peer;
	w->read_expired = 0;
	slot_state(w->slot, W_READING);
	req->ipcFd = c->fd;
	req->keepConnection = 1;
	reading = 1;
	conn_deadline_arm(c->fd, ms);
	if (FCGX_Accept_r(req) == 0)
		request_handle(req, w);
	else if (worker_read_done(w) == -1)
		worker_read_timeout(w, "header and params");
	worker_read_done(w);
	/* libfcgi's close waits for the peer's EOF, for ever while it
	 * trickles bytes: the same deadline bounds it. */
	if (req->ipcFd >= 0)
		conn_deadline_arm(req->ipcFd, ms);
	FCGX_Finish_r(req);
	conn_deadline_disarm();
	/* Kept only if the peer asked (FCGI_KEEP_CONN): an idle kept
	 * connection would pin this worker, so it is closed. */
	if (req->ipcFd >= 0) {
		close(req->ipcFd);
		req->ipcFd = -1;
	}
	store_housekeeping(w->store);
	slot_state(w->slot, W_IDLE);
}

/*
 * After SIGTERM: serve the connections already waiting in the backlog
 * (the master has removed a unix socket's path, so no new ones come), for
 * at most LINGER_MS, then return.
 */
static void
linger(FCGX_Request *req, struct worker *w, int listen_fd)
{
	struct timespec start, now;
	sigset_t alrm;

	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
		struct itimerval t = { .it_value = { 0, LINGER_ACCEPT_MS * 1000 } };
		struct itimerval off = { .it_value = { 0, 0 } };

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ms_between(&start, &now) > LINGER_MS || poll(&pfd, 1, 0) != 1)
			return;
		struct conn c;
		setitimer(ITIMER_REAL, &t, NULL);
		sigprocmask(SIG_UNBLOCK, &alrm, NULL);
		int rc = conn_accept(listen_fd, &c);
		sigprocmask(SIG_BLOCK, &alrm, NULL);
		setitimer(ITIMER_REAL, &off, NULL);
		if (rc == -1)
			continue;	/* another worker took it */
		serve(req, w, &c);
	}
}

int
pool_worker(const struct config *cfg, int listen_fd, struct metrics *m,
    int index, int status_only)
{
	struct worker w = { .cfg = cfg, .metrics = m,
	    .status_only = status_only };
	FCGX_Request req;
	sigset_t busy;
	int64_t served = 0;
	struct outcome o;

	worker_signals(&busy);
	sigprocmask(SIG_BLOCK, &busy, NULL);
	worker_pid = getpid();
	if (m && index >= 0) {
		w.slot = &m->w[index];
		w.slot->pid = worker_pid;
		__atomic_fetch_add(&w.slot->started, 1, __ATOMIC_RELAXED);
	}
	/* listen_sock -1: the worker accepts, libfcgi never does (serve). */
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, -1,
	    FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_msg(LOG_ERROR, "FCGX_Init failed");
		return 1;
	}
	w.store = store_new(cfg);
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
	slot_state(w.slot, W_IDLE);
	while (!worker_stop) {
		struct conn c;
		sigprocmask(SIG_UNBLOCK, &busy, NULL);
		if (worker_reopen) {
			worker_reopen = 0;
			log_reopen();
		}
		int rc = worker_stop ? -1 : conn_accept(listen_fd, &c);
		int err = errno;
		sigprocmask(SIG_BLOCK, &busy, NULL);
		if (rc == -1) {
			if (worker_stop)
				break;
			if (err != EINTR && err != ECONNABORTED) {
				log_msg(LOG_WARN, "accept: %s", strerror(err));
				poll(NULL, 0, 100);	/* EMFILE: no busy loop */
			}
			continue;
		}
		serve(&req, &w, &c);
		if (cfg->max_requests > 0 && ++served >= cfg->max_requests) {
			log_msg(LOG_INFO, "recycling after %lld requests",
			    (long long)served);
			break;
		}
	}
	if (worker_stop)
		linger(&req, &w, listen_fd);
	slot_state(w.slot, W_EXITED);
	FCGX_Free(&req, 0);
	gwkey_free(w.gwkey);
	store_free(w.store);
	mysql_thread_end();
	return 0;
}

/* Master side --------------------------------------------------------- */

static struct slot *
slot_at(struct pool *p, int i)
{
	return i == STATUS_SLOT ? &p->status : &p->slots[i];
}

static int
spawn(struct pool *p, int i)
{
	pid_t master = getpid();
	pid_t pid;

	/* Before the fork: the child sets W_IDLE once it is ready. */
	if (i != STATUS_SLOT)
		p->metrics->w[i].state = W_STARTING;
	pid = fork();

	if (pid == -1) {
		log_msg(LOG_ERROR, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		/* A worker never outlives its master. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != master)
			_exit(0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int rc;
		if (i == STATUS_SLOT) {
			/* ps and pgrep tell it from the workers. */
			prctl(PR_SET_NAME, STATUS_COMM);
			close(p->listen_fd);
			rc = pool_worker(p->cfg, p->status_fd, p->metrics, -1, 1);
		} else {
			if (p->status_fd != -1)
				close(p->status_fd);
			p->metrics->w[i].pid = getpid();
			rc = pool_worker(p->cfg, p->listen_fd, p->metrics, i, 0);
		}
		mysql_library_end();
		exit(rc);
	}
	slot_at(p, i)->pid = pid;
	if (i != STATUS_SLOT)
		p->metrics->w[i].pid = pid;
	clock_gettime(CLOCK_MONOTONIC, &slot_at(p, i)->started);
	log_msg(LOG_DEBUG, "worker %d started, pid %ld", i, (long)pid);
	return 0;
}

static int
spawn_dispatcher(struct pool *p)
{
	pid_t master = getpid();
	pid_t pid;

	p->metrics->d.state = D_STARTING;
	pid = fork();
	if (pid == -1) {
		log_msg(LOG_ERROR, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != master)
			_exit(0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* It serves no requests: a drained socket must not stay open
		 * in it. */
		if (p->listen_fd > 0)
			close(p->listen_fd);
		int rc = dispatch_run(p->cfg, p->metrics);
		mysql_library_end();
		exit(rc);
	}
	p->dslot.pid = pid;
	p->metrics->d.pid = pid;
	__atomic_fetch_add(&p->metrics->d.starts, 1, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_MONOTONIC, &p->dslot.started);
	log_msg(LOG_DEBUG, "dispatcher started, pid %ld", (long)pid);
	return 0;
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
	if (ms_between(&s->started, now) < EARLY_DEATH_MS) {
		s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (s->backoff_ms > BACKOFF_MAX_MS)
			s->backoff_ms = BACKOFF_MAX_MS;
	} else
		s->backoff_ms = 0;
	log_msg(LOG_ERROR, "dispatcher (pid %ld) %s; restarting it in %d ms",
	    (long)pid, why, s->backoff_ms);
	s->restart_at = *now;
	ms_add(&s->restart_at, s->backoff_ms);
}

/* The status process serves no actions: restart it, after a pause if
 * it keeps dying. */
static void
reap_status(struct pool *p, int status, const struct timespec *now)
{
	char why[128];

	p->status.pid = 0;
	if (p->stopping)
		return;
	describe(status, why, sizeof(why));
	log_msg(LOG_WARN, "status process %s; restarting it", why);
	p->status.restart_at = *now;
	ms_add(&p->status.restart_at, BACKOFF_MIN_MS);
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
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (was_retired(p, pid))
			continue;
		if (pid == p->dslot.pid) {
			reap_dispatcher(p, status, &now);
			continue;
		}
		if (pid == p->status.pid) {
			reap_status(p, status, &now);
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
		if (unready && ms_between(&s->started, &now) < EARLY_DEATH_MS) {
			s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 :
			    BACKOFF_MIN_MS;
			if (s->backoff_ms > BACKOFF_MAX_MS)
				s->backoff_ms = BACKOFF_MAX_MS;
		} else
			s->backoff_ms = 0;
		s->restart_at = now;
		ms_add(&s->restart_at, s->backoff_ms);
	}
}

/* Starts the slots that are due; returns ms until the next one is due. */
static long
fill(struct pool *p)
{
	struct timespec now;
	long next = 1000;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (int i = p->status_fd == -1 ? 0 : STATUS_SLOT; i < p->nworkers; i++) {
		struct slot *s = slot_at(p, i);
		if (s->pid != 0)
			continue;
		long due = ms_between(&now, &s->restart_at);
		if (due <= 0)
			spawn(p, i);
		else if (due < next)
			next = due;
	}
	if (p->dispatch_on && p->dslot.pid == 0 && !p->stopping) {
		long due = ms_between(&now, &p->dslot.restart_at);
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
	int n = p->nretired + (p->dslot.pid != 0) + (p->status.pid != 0);
	for (int i = 0; i < p->nworkers; i++)
		n += p->slots[i].pid != 0;
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
	if (p->status.pid)
		kill(p->status.pid, sig);
}

/* SIGTERM: workers finish what they are serving, within the timeout. */
static void
drain(struct pool *p, const sigset_t *set)
{
	struct timespec start, now, tick = { 0, 50000000L };
	siginfo_t si;

	p->stopping = 1;
	/* New connections now fail at once (nginx may try another pool);
	 * those already queued are served by the lingering workers. */
	if (strncmp(p->cfg->listen, "unix:", 5) == 0)
		unlink(p->cfg->listen + 5);
	if (strncmp(p->cfg->status_listen, "unix:", 5) == 0)
		unlink(p->cfg->status_listen + 5);
	log_msg(LOG_INFO, "draining %d workers (at most %llds)", alive(p),
	    (long long)p->cfg->shutdown_timeout);
	signal_all(p, SIGTERM);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (alive(p) > 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ms_between(&start, &now) > p->cfg->shutdown_timeout * 1000) {
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

	config_defaults(&next);
	if (config_load(&next, p->cfg->path, err, sizeof(err)) == -1) {
		log_msg(LOG_ERROR, "reload: %s; keeping the running config", err);
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
	int n = next.workers > 0 ? (int)next.workers : p->nworkers;
	if (next.workers == 0)
		n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n > METRICS_WORKERS_MAX)
		n = METRICS_WORKERS_MAX;
	*p->cfg = next;
	/* Old workers keep serving their request, then exit; each slot gets
	 * its replacement at once, so the pool never runs short. */
	for (int i = 0; i < p->nworkers; i++)
		if (p->slots[i].pid) {
			retire(p, p->slots[i].pid);
			kill(p->slots[i].pid, SIGTERM);
			p->slots[i].pid = 0;
		}
	if (p->status.pid) {
		retire(p, p->status.pid);
		kill(p->status.pid, SIGTERM);
		p->status.pid = 0;
		memset(&p->status.restart_at, 0, sizeof(struct timespec));
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
	p.nworkers = cfg->workers > 0 ? (int)cfg->workers :
	    (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (p.nworkers < 1)
		p.nworkers = 1;
	if (p.nworkers > METRICS_WORKERS_MAX)
		p.nworkers = METRICS_WORKERS_MAX;
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
		struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };
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
