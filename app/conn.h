/*
 * One FastCGI connection from accept to close: the worker accepts it
 * itself (libfcgi's accept path has no deadline), reads it within
 * request_read_timeout, and checks before an action that the peer is
 * still there to get the reply.
 */
#ifndef CONN_H
#define CONN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CONN_PEER_LEN 64
#define CONN_KEY_LEN 48

struct conn {
	int fd;
	char peer[CONN_PEER_LEN];	/* "127.0.0.1:41000", "pid 123 uid 33" */
	char key[CONN_KEY_LEN];		/* the peer for per-peer limits:
					 * "127.0.0.1", "uid 33", "" */
};

/* Blocks in accept() on listen_fd. Returns 0, or -1 with errno (EINTR
 * when a signal came; EPERM for a TCP peer not in the config's
 * listen_allowed_clients: closed already, c->peer names it). */
int conn_accept(int listen_fd, const struct config *cfg, struct conn *c);

/* Peeks at what the peer sent (nothing is consumed) until the end of the
 * request's FastCGI params is there: returns 1 if more than max bytes
 * come before it (record headers, padding and params alike), else 0 (it
 * is there, or the connection ended: libfcgi's read then says how). Call
 * it with the read deadline armed: a peer that stalls is cut there. */
int conn_params_too_large(int fd, size_t max);

/* The SIGALRM handler: at the deadline it shuts the connection down, so
 * that libfcgi's read, blocked or about to block, returns at once. */
void conn_on_alarm(int sig);
/* Arms the deadline on fd (ms from now). SIGALRM must not be blocked. */
void conn_deadline_arm(int fd, int64_t ms);
/* Stops the timer; returns 1 if the deadline passed. Safe to call when
 * nothing is armed. */
int conn_deadline_disarm(void);

/* 1 when the peer has closed the connection or sent FCGI_ABORT_REQUEST:
 * nobody waits for the reply any more. */
int conn_gone(int fd);

#endif
