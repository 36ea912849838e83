/*
 * The outbox dispatcher: a process beside the workers that sends the rows
 * of `opn$outbox` to the engine (Celery over RabbitMQ, Redis commands), at
 * least once, and the wake-up pipe workers poke after a committed action.
 */
#ifndef DISPATCH_H
#define DISPATCH_H

#include <stddef.h>

#include "config.h"
#include "metrics.h"

/* The master, before any fork: makes the wake-up pipe. */
int dispatch_wake_init(char *err, size_t errlen);
/* A worker, after a committed action: one byte, never blocks. */
void dispatch_wake(void);

/* The dispatcher process: runs until SIGTERM; returns the exit status. */
int dispatch_run(const struct config *cfg, struct metrics *m);

#endif
