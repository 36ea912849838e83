/*
 * Forking a child that never outlives its parent, and the signal setup
 * every such child shares (the pool's workers, the outbox dispatcher).
 */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "proc.h"

pid_t
proc_fork(void)
{
	pid_t parent = getpid();
	pid_t pid;
	sigset_t none;

	if ((pid = fork()) != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	return 0;
}

void
proc_signals(const struct proc_handlers *h, sigset_t *busy)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sigemptyset(busy);
	sa.sa_handler = h->stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = h->usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sigaddset(busy, SIGTERM);
	sigaddset(busy, SIGINT);
	sigaddset(busy, SIGUSR1);
	if (h->alarm) {		/* never blocked: see proc.h */
		sa.sa_handler = h->alarm;
		sigaction(SIGALRM, &sa, NULL);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigprocmask(SIG_BLOCK, busy, NULL);
}
