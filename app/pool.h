/*
 * The prefork pool: listening socket, master supervision, worker loop.
 */
#ifndef POOL_H
#define POOL_H

#include "config.h"
#include "metrics.h"

/* Opens the configured socket (0 for fd0). Returns the fd or -1. */
int pool_listen(const struct config *cfg, char *err, size_t errlen);
/* 1 when fd 0 is a listening socket (spawn-fcgi, mod_fcgid). */
int pool_inherited_socket(void);
/* The master: forks and supervises workers until SIGTERM. Exit status. */
int pool_run(struct config *cfg, int listen_fd);
/* One worker's accept loop. m may be NULL, index -1 when single. */
int pool_worker(const struct config *cfg, int listen_fd, struct metrics *m,
    int index);

#endif
