/*
 * The prefork master: forks and supervises the workers, the status process
 * and the outbox dispatcher.
 */
#ifndef POOL_H
#define POOL_H

#include "config.h"

/* Forks and supervises workers on listen_fd (and the status process when
 * status_fd is not -1) until SIGTERM; SIGHUP reloads cfg. Exit status. */
int pool_run(struct config *cfg, int listen_fd, int status_fd);

#endif
