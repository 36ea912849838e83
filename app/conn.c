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
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"

#define FCGI_HEADER_LEN 8		/* FastCGI 1.0, section 3.3 */
#define FCGI_ABORT_REQUEST 2
#define FCGI_PARAMS 4
#define PEEK_FIRST 4096		/* nginx's params fit: one small peek */
#define PEEK_WAIT_MAX_MS 32	/* between peeks at a request still coming */

static volatile sig_atomic_t reading_fd = -1, expired;

static void
peer_name(int fd, const struct sockaddr_storage *sa, struct conn *c)
{
	char host[INET6_ADDRSTRLEN];

	c->peer[0] = c->key[0] = '\0';
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", host,
		    ntohs(in->sin_port));
		snprintf(c->key, sizeof(c->key), "%s", host);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host,
		    ntohs(in6->sin6_port));
		snprintf(c->key, sizeof(c->key), "%s", host);
	} else if (sa->ss_family == AF_UNIX) {
		/* A unix peer has no address; its process is what we know,
		 * and its user is the peer (nginx's workers share one). */
		struct ucred cr;
		socklen_t l = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0) {
			snprintf(c->peer, sizeof(c->peer), "pid %ld uid %ld",
			    (long)cr.pid, (long)cr.uid);
			snprintf(c->key, sizeof(c->key), "uid %ld", (long)cr.uid);
		}
	}
}

/* listen_allowed_clients: a unix peer, or any TCP one when it is empty,
 * is allowed. */
static int
allowed(const struct config *cfg, const struct sockaddr_storage *sa)
{
	struct in6_addr a;

	if (cfg->nallowed == 0 || sa->ss_family == AF_UNIX)
		return 1;
	if (sa->ss_family == AF_INET) {
		memset(&a, 0, sizeof(a));
		a.s6_addr[10] = a.s6_addr[11] = 0xff;
		memcpy(&a.s6_addr[12], &((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr, 4);
	} else if (sa->ss_family == AF_INET6)
		a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		return 0;
	for (int i = 0; i < cfg->nallowed; i++)
		if (memcmp(&a, &cfg->allowed[i], sizeof(a)) == 0)
			return 1;
	return 0;
}

int
conn_accept(int listen_fd, const struct config *cfg, struct conn *c)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	int one = 1;

	memset(&sa, 0, sizeof(sa));
	c->fd = accept4(listen_fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
	if (c->fd == -1)
		return -1;
	peer_name(c->fd, &sa, c);
	if (!allowed(cfg, &sa)) {
		close(c->fd);
		c->fd = -1;
		errno = EPERM;
		return -1;
	}
	/* As libfcgi does: a reply is never waiting for an ACK. */
	if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* One FastCGI name or value length (section 3.4): 1 byte below 128,
 * else 4 with the top bit set. 0 when p[0..n) does not hold it yet. */
static size_t
nv_len(const unsigned char *p, size_t n, size_t *len)
{
	if (n < 1)
		return 0;
	if (p[0] < 0x80) {
		*len = p[0];
		return 1;
	}
	if (n < 4)
		return 0;
	*len = (size_t)(p[0] & 0x7f) << 24 | (size_t)p[1] << 16 |
	    (size_t)p[2] << 8 | p[3];
	return 4;
}

/*
 * Walks the records in b[0..n), and the name-value pairs of the params
 * in them: PARAMS_END when the empty FCGI_PARAMS record that ends them is
 * complete in it, PARAMS_OVER when the records or a pair's declared
 * lengths reach past max (libfcgi would allocate what a pair declares:
 * CVE-2025-23016's overflow needs lengths near 2^31), else PARAMS_MORE.
 */
enum { PARAMS_MORE, PARAMS_END, PARAMS_OVER };

static int
params_scan(const unsigned char *b, size_t n, size_t max, unsigned char *pv)
{
	size_t off = 0, pn = 0, pos = 0;

	while (off + FCGI_HEADER_LEN <= n) {
		size_t clen = (size_t)b[off + 4] << 8 | b[off + 5];
		size_t rlen = FCGI_HEADER_LEN + clen + b[off + 6];
		if (b[off + 1] == FCGI_PARAMS) {
			if (clen == 0)
				return off + rlen <= n ? PARAMS_END : PARAMS_MORE;
			/* the params' bytes so far, records joined */
			size_t have = off + FCGI_HEADER_LEN + clen <= n ? clen :
			    n - off - FCGI_HEADER_LEN;
			memcpy(pv + pn, b + off + FCGI_HEADER_LEN, have);
			pn += have;
		}
		off += rlen;
	}
	/* The pairs: each one's declared end must stay under max. */
	while (pos < pn) {
		size_t a, bl, nl, vl;
		if ((a = nv_len(pv + pos, pn - pos, &nl)) == 0 ||
		    (bl = nv_len(pv + pos + a, pn - pos - a, &vl)) == 0)
			break;
		if (nl > max || vl > max || pos + a + bl + nl + vl > max)
			return PARAMS_OVER;
		pos += a + bl + nl + vl;
	}
	return off > max ? PARAMS_OVER : PARAMS_MORE;
}

int
conn_params_too_large(int fd, size_t max)
{
	static unsigned char *b, *pv;
	static size_t cap;
	size_t want = max < PEEK_FIRST ? max : PEEK_FIRST;
	ssize_t n, last = -1;
	int wait_ms = 1;

	if (cap < max) {
		free(b);
		free(pv);
		cap = 0;
		b = malloc(max);
		pv = malloc(max);
		if (b == NULL || pv == NULL)
			return 0;	/* libfcgi reads it unchecked */
		cap = max;
	}
	for (;;) {
		n = recv(fd, b, want, MSG_PEEK);
		if (n <= 0)
			return 0;	/* EOF, or shut at the deadline */
		int r = params_scan(b, (size_t)n, max, pv);
		if (r != PARAMS_MORE)
			return r == PARAMS_OVER;
		if ((size_t)n == max)
			return 1;
		if ((size_t)n == want) {
			want = max;	/* a larger request: look at all of it */
			continue;
		}
		/* The rest is on its way: wait for it (MSG_PEEK does not
		 * wait for more than is there, and POLLIN is set already).
		 * A peer that closed its side sends no more; a deadline that
		 * passed ends the wait (its shutdown hides no pending data
		 * from a peek, so its flag is checked). */
		struct pollfd p = { .fd = fd, .events = POLLRDHUP };
		wait_ms = n == last && wait_ms < PEEK_WAIT_MAX_MS ? wait_ms * 2 : 1;
		last = n;
		if (expired || poll(&p, 1, wait_ms) != 0 || expired)
			return 0;	/* libfcgi's read says what happened */
	}
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
