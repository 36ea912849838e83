/*
 * One worker process: accepts connections on the shared socket and serves
 * them one at a time until SIGTERM (then the backlog, briefly) or
 * max_requests.
 */
#ifndef WORKER_H
#define WORKER_H

#include "config.h"
#include "metrics.h"

/* The accept loop. m may be NULL, index -1 for no slot (single process
 * without metrics, or the status process). status_only: serve only the
 * status routes (the status_listen socket). Returns the exit status. */
int worker_run(const struct config *cfg, int listen_fd, struct metrics *m,
    int index, int status_only);

#endif
