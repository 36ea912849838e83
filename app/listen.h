/*
 * The listening sockets: the FastCGI one (unix:path, host:port, or fd 0
 * inherited from spawn-fcgi or mod_fcgid) and the status one.
 */
#ifndef LISTEN_H
#define LISTEN_H

#include <stddef.h>

#include "config.h"

/* Opens the configured socket (0 for fd0). Returns the fd or -1. */
int listen_open(const struct config *cfg, char *err, size_t errlen);
/* Opens status_listen. Returns the fd, or -1 (with err if it is set). */
int listen_open_status(const struct config *cfg, char *err, size_t errlen);
/* 1 when fd 0 is a listening socket (spawn-fcgi, mod_fcgid). */
int listen_inherited(void);
/* Removes a unix: address's socket file, so that new connections fail at
 * once; an address that is not unix: is left alone. */
void listen_remove(const char *addr);

#endif
