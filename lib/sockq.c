/*
 * Reads a listening socket's accept queue (sockq.h). TCP: for a socket
 * in LISTEN, tcpi_unacked is the queue's length and tcpi_sacked its
 * limit (Linux's tcp_get_info; php-fpm's fpm_socket_get_listening_queue
 * reads the same). Unix: /proc/net/unix has no queue, sock_diag has
 * (unix_diag.c: for a listener, rqueue is the queue, wqueue its limit).
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sockq.h"

#define TCP_LISTEN_STATE 10	/* TCP_LISTEN in the kernel's tcp_states.h */

static int
unix_queue(int fd, unsigned *len, unsigned *limit, char *err, size_t errlen)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} q;
	union {
		struct nlmsghdr nlh;
		char b[1024];
	} r;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct stat st;
	int nl = -1, rc = -1;
	ssize_t n;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "fstat: %s", strerror(errno));
		return -1;
	}
	memset(&q, 0, sizeof(q));
	q.nlh.nlmsg_len = sizeof(q);
	q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nlh.nlmsg_flags = NLM_F_REQUEST;
	q.req.sdiag_family = AF_UNIX;
	q.req.udiag_states = 1u << TCP_LISTEN_STATE;
	q.req.udiag_ino = (unsigned)st.st_ino;
	q.req.udiag_show = UDIAG_SHOW_RQLEN;
	q.req.udiag_cookie[0] = q.req.udiag_cookie[1] = ~0u;	/* none */
	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl == -1 || sendto(nl, &q, sizeof(q), 0, (struct sockaddr *)&sa,
	    sizeof(sa)) == -1 || (n = recv(nl, &r, sizeof(r), 0)) == -1) {
		snprintf(err, errlen, "sock_diag: %s", strerror(errno));
		goto out;
	}
	if (!NLMSG_OK(&r.nlh, (size_t)n) || r.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY) {
		snprintf(err, errlen, "sock_diag: no answer for inode %lu",
		    (unsigned long)st.st_ino);
		goto out;
	}
	struct unix_diag_msg *m = NLMSG_DATA(&r.nlh);
	int alen = (int)(r.nlh.nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	for (struct nlattr *a = (struct nlattr *)(m + 1);
	    alen >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) &&
	    a->nla_len <= alen;
	    alen -= NLA_ALIGN(a->nla_len),
	    a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
		if (a->nla_type == UNIX_DIAG_RQLEN &&
		    a->nla_len >= NLA_HDRLEN + sizeof(struct unix_diag_rqlen)) {
			struct unix_diag_rqlen *rq =
			    (void *)((char *)a + NLA_HDRLEN);
			*len = rq->udiag_rqueue;
			*limit = rq->udiag_wqueue;
			rc = 0;
			goto out;
		}
	}
	snprintf(err, errlen, "sock_diag: no queue length");
out:
	if (nl != -1)
		close(nl);
	return rc;
}

int
sockq_listen(int fd, unsigned *len, unsigned *limit, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &l) == -1) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		return -1;
	}
	if (ss.ss_family == AF_UNIX)
		return unix_queue(fd, len, limit, err, errlen);
	struct tcp_info ti;
	l = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) == -1) {
		snprintf(err, errlen, "TCP_INFO: %s", strerror(errno));
		return -1;
	}
	*len = ti.tcpi_unacked;
	*limit = ti.tcpi_sacked;
	return 0;
}
