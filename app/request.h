/*
 * The operate_node request path: one accepted FastCGI request, from its
 * route to its reply, read within request_read_timeout (request.c).
 */
#ifndef REQUEST_H
#define REQUEST_H

#include <sys/types.h>

#include <fcgiapp.h>

#include "config.h"
#include "conn.h"
#include "gwkey.h"
#include "metrics.h"
#include "store.h"

/*
 * What the process serving requests hands each one: its settings, its
 * database connection, its metrics slot. Nothing in it matters between
 * requests.
 */
struct request_env {
	const struct config *cfg;
	struct store *store;
	struct gwkey *gwkey;		/* auth_mode jwt only */
	struct metrics *metrics;
	struct metrics_worker *slot;	/* NULL: no slot (status process) */
	pid_t pid;			/* the process; writes slot while it owns it */
	int status_only;		/* serves status_listen: GET routes only */
	int64_t read_ms;		/* the read deadline of a connection */
	int reading;			/* the read deadline is armed */
	int read_expired;		/* this request missed its read deadline */
	const char *peer;		/* of the connection, for the log */
};

/* The connection is being read: arms its read deadline (shorter when
 * its peer has too many connections in the read phase already). */
void request_read_begin(struct request_env *e, const struct conn *c);
/* The request is read: its read deadline ends. Returns -1 if the deadline
 * had passed (the connection is shut; nobody gets a reply). */
int request_read_done(struct request_env *e);
/* Counts and logs (rate-limited) a connection that missed its deadline. */
void request_read_timeout(struct request_env *e, const char *what);
/* Counts and logs (rate-limited) a connection closed before libfcgi read
 * it: why is REFUSED_PARAMS (over max_params_bytes) or REFUSED_CLIENT
 * (not in listen_allowed_clients). */
enum { REFUSED_PARAMS, REFUSED_CLIENT };
void request_refused(struct request_env *e, const char *peer, int why);
/* Sets the slot's state (enum worker_state) while the slot is e's own:
 * a replaced worker still draining leaves its successor's alone. */
void request_state(struct request_env *e, int state);
/* Answers one accepted FastCGI request. */
void request_handle(FCGX_Request *req, struct request_env *e);

#endif
