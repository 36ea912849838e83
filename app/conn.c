/*
 * The connection's deadline and liveness. The deadline is a real-time
 * timer whose handler shuts the socket down: a read already blocked fails
 * with EINTR (no SA_RESTART), and one that starts after the signal sees
 * EOF, so there is no window in which the timer fires unnoticed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"

#define FCGI_HEADER_LEN 8		/* FastCGI 1.0, section 3.3 */
#define FCGI_ABORT_REQUEST 2

static volatile sig_atomic_t reading_fd = -1, expired;

static void
peer_name(int fd, const struct sockaddr_storage *sa, struct conn *c)
{
	char host[INET6_ADDRSTRLEN];

	c->peer[0] = '\0';
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", host,
		    ntohs(in->sin_port));
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host,
		    ntohs(in6->sin6_port));
	} else if (sa->ss_family == AF_UNIX) {
		/* A unix peer has no address; its process is what we know. */
		struct ucred cr;
		socklen_t l = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0)
			snprintf(c->peer, sizeof(c->peer), "pid %ld uid %ld",
			    (long)cr.pid, (long)cr.uid);
	}
}

int
conn_accept(int listen_fd, struct conn *c)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	int one = 1;

	memset(&sa, 0, sizeof(sa));
	c->fd = accept4(listen_fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
	if (c->fd == -1)
		return -1;
	/* As libfcgi does: a reply is never waiting for an ACK. */
	if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	peer_name(c->fd, &sa, c);
	return 0;
}

void
conn_on_alarm(int sig)
{
	int fd = reading_fd, saved = errno;

	(void)sig;
	if (fd >= 0) {
		expired = 1;
		shutdown(fd, SHUT_RDWR);	/* async-signal-safe */
	}
	errno = saved;
}

void
conn_deadline_arm(int fd, int64_t ms)
{
	struct itimerval t = { .it_value = clock_ms_tv((long)ms) };

	/* The timer is off (disarmed, or never armed): no SIGALRM can come
	 * before setitimer(), so the handler's view is set first. */
	expired = 0;
	reading_fd = fd;
	setitimer(ITIMER_REAL, &t, NULL);
}

int
conn_deadline_disarm(void)
{
	struct itimerval off = { .it_value = { 0, 0 } };

	/* After this no SIGALRM comes; one that came before it ended the
	 * read, and expired says so. */
	setitimer(ITIMER_REAL, &off, NULL);
	reading_fd = -1;
	return expired;
}

int
conn_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	unsigned char h[FCGI_HEADER_LEN];

	if (poll(&p, 1, 0) != 1)
		return 0;
	/* nginx and Apache close the connection when they give up; FastCGI
	 * has no half-close, so EOF means nobody reads the reply. */
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return 1;
	/* Anything else after the request's stdin can only be an abort.
	 * (libfcgi may have buffered one already: it never looks at it.) */
	return recv(fd, h, sizeof(h), MSG_PEEK | MSG_DONTWAIT) ==
	    (ssize_t)sizeof(h) && h[1] == FCGI_ABORT_REQUEST;
}
