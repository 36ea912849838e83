/*
 * The prefork pool: listening socket, master supervision, worker loop.
 */
#ifndef POOL_H
#define POOL_H

#include "config.h"
#include "metrics.h"

/* Opens the configured socket (0 for fd0). Returns the fd or -1. */
int pool_listen(const struct config *cfg, char *err, size_t errlen);
/* Opens status_listen. Returns the fd, or -1 (with err if it is set). */
int pool_listen_status(const struct config *cfg, char *err, size_t errlen);
/* 1 when fd 0 is a listening socket (spawn-fcgi, mod_fcgid). */
int pool_inherited_socket(void);
/* The master: forks and supervises workers (and the status process when
 * status_fd is not -1) until SIGTERM. Exit status. */
int pool_run(struct config *cfg, int listen_fd, int status_fd);
/* One worker's accept loop. m may be NULL, index -1 for no slot (single
 * process without metrics, or the status process). status_only: serve
 * only the status routes (the status_listen socket). */
int pool_worker(const struct config *cfg, int listen_fd, struct metrics *m,
    int index, int status_only);

#endif
