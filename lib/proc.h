/*
 * A child process of a preforked server: forked so that it never outlives
 * its parent, and given the signal dispositions a drainable child needs.
 */
#ifndef PROC_H
#define PROC_H

#include <signal.h>
#include <sys/types.h>

/* A child's handlers; alarm may be NULL (SIGALRM is then left alone). */
struct proc_handlers {
	void (*stop)(int);	/* SIGTERM, SIGINT: finish and exit */
	void (*usr1)(int);	/* SIGUSR1: reopen the log */
	void (*alarm)(int);	/* SIGALRM */
};

/* fork(), and in the child: SIGTERM when the parent dies (a child whose
 * parent died before that was set exits at once), no signal blocked.
 * Returns what fork() returns, -1 with errno. */
pid_t proc_fork(void);

/* Installs h without SA_RESTART (a blocking call returns on a signal),
 * ignores SIGPIPE and SIGHUP, sets SIGCHLD back to its default. Fills busy
 * with the handled signals but SIGALRM and blocks them: the child unblocks
 * them only where it waits, so a unit of work is never cut half-way.
 * SIGALRM stays unblocked: it comes only from the child's own timer, which
 * it arms around the waits the alarm must end, so arming and disarming
 * cost one setitimer() each and no mask changes. */
void proc_signals(const struct proc_handlers *h, sigset_t *busy);

#endif
