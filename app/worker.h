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
};

/* Answers one accepted FastCGI request. */
void request_handle(FCGX_Request *req, struct worker *w);

#endif
