/*
 * What one worker process holds: its settings, its database connection,
 * its metrics slot. Nothing in it matters between requests.
 */
#ifndef WORKER_H
#define WORKER_H

#include <fcgiapp.h>

#include "config.h"
#include "gwkey.h"
#include "metrics.h"
#include "store.h"

struct worker {
	const struct config *cfg;
	struct store *store;
	struct gwkey *gwkey;		/* auth_mode jwt only */
	struct metrics *metrics;
	struct metrics_worker *slot;	/* NULL in single-process mode */
	int status_only;		/* serves status_listen: GET routes only */
	int read_expired;		/* this request missed its read deadline */
	const char *peer;		/* of the connection, for the log */
};

/* The request is read: its read deadline ends. Returns -1 if the deadline
 * had passed (the connection is shut; nobody gets a reply). */
int worker_read_done(struct worker *w);
/* Counts and logs (rate-limited) a connection that missed its deadline. */
void worker_read_timeout(struct worker *w, const char *what);

#endif
