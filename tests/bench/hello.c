/*
 * make bench, workload d: the transport floor. The least a libfcgi prefork
 * pool can do per request: accept, read the params and the body, answer a
 * fixed small JSON. Same socket kind and worker count as the pool.
 *
 *   hello SOCKET_PATH WORKERS     SIGTERM stops the master and its workers
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#define WORKERS_MAX 256
#define BACKLOG 1024		/* the pool's listen_backlog default */

static const char reply[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Cache-Control: no-store\r\n"
    "\r\n"
    "{\"result\":true,\"data\":\"hello\",\"code\":0,\"message\":\"success\"}\n";

static volatile sig_atomic_t stop;

static void
on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void
serve(int fd)
{
	FCGX_Request req;
	char buf[16384];

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if (FCGX_InitRequest(&req, fd, 0) != 0)
		_exit(1);
	while (FCGX_Accept_r(&req) >= 0) {
		/* Read the body as the service does (its size varies). */
		while (FCGX_GetStr(buf, sizeof(buf), req.in) > 0)
			;
		FCGX_PutStr(reply, (int)sizeof(reply) - 1, req.out);
		FCGX_Finish_r(&req);
	}
	_exit(0);
}

int
main(int argc, char **argv)
{
	pid_t pids[WORKERS_MAX];
	struct sigaction sa;
	sigset_t term, old;
	int n, fd;

	if (argc != 3 || (n = atoi(argv[2])) < 1 || n > WORKERS_MAX) {
		fprintf(stderr, "usage: hello SOCKET_PATH WORKERS (1-%d)\n",
		    WORKERS_MAX);
		return 2;
	}
	if (FCGX_Init() != 0)
		return 1;
	unlink(argv[1]);
	if ((fd = FCGX_OpenSocket(argv[1], BACKLOG)) < 0) {
		fprintf(stderr, "hello: cannot listen on %s\n", argv[1]);
		return 1;
	}
	chmod(argv[1], 0660);
	/* Blocked until sigsuspend, so that a stop is never missed. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, &old);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == -1) {
			perror("hello: fork");
			n = i;
			stop = 1;
			break;
		}
		if (pids[i] == 0) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			serve(fd);
		}
	}
	while (!stop)
		sigsuspend(&old);
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	for (int i = 0; i < n; i++)
		while (waitpid(pids[i], NULL, 0) == -1 && errno == EINTR)
			;
	unlink(argv[1]);
	return 0;
}
