/*
 * The accept queue of a listening socket, as php-fpm's status page shows
 * it: connections waiting for accept() and the queue's limit (the
 * backlog the kernel applies).
 */
#ifndef SOCKQ_H
#define SOCKQ_H

#include <stddef.h>

/* fd: a listening TCP or unix stream socket. On Linux, TCP_INFO for TCP
 * (tcpi_unacked, tcpi_sacked), sock_diag's UNIX_DIAG_RQLEN for a unix
 * socket. Returns 0 with *len and *limit, or -1 with err. */
int sockq_listen(int fd, unsigned *len, unsigned *limit, char *err,
    size_t errlen);

#endif
