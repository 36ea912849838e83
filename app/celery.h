/*
 * A Celery message protocol 2 task message, built the way Celery 5.2 with
 * kombu's JSON serializer builds it for apply_async(kwargs=...): the body
 * bytes, the kwargsrepr header and the eta. The AMQP side is dispatch.c's.
 */
#ifndef CELERY_H
#define CELERY_H

#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"

#define CELERY_ID_LEN 36		/* a uuid4 in its 8-4-4-4-12 form */
#define CELERY_KWARGSREPR_MAX 1024	/* celery's kwargsrepr_maxsize */
#define CELERY_ETA_LEN 40

struct celery_msg {
	char id[CELERY_ID_LEN + 1];
	struct buf body;		/* [[], {kwargs}, {embed}] as json.dumps */
	struct buf kwargsrepr;		/* celery.utils.saferepr(kwargs, 1024) */
	char eta[CELERY_ETA_LEN];	/* "" for none */
};

/*
 * Builds the message for task name from kwargs (a JSON object as stored).
 * The keys are put in the order bamboo's publisher passes them; json.dumps
 * keeps insertion order, and the stored text does not (MySQL sorts keys).
 * eta_us: the eta in microseconds since the epoch, or -1 for none; it is
 * written in the local time zone of the process (TZ). Returns 0 or -1.
 */
int celery_build(struct celery_msg *m, const char *name,
    struct json_object *kwargs, int64_t eta_us, char *err, size_t errlen);
void celery_free(struct celery_msg *m);	/* accepts a zeroed one */
/* The task's ignore_result (the header of that name): 1 for bamboo's
 * execute and schedule, 0 for others, as Celery's default. */
int celery_ignore_result(const char *name);
/* A fresh uuid4, as Celery's uuid() makes task ids. */
void celery_new_id(char out[CELERY_ID_LEN + 1]);

/* Python's repr(float) and json.dumps(str) (ensure_ascii), for tests. */
void celery_py_float(struct buf *b, double d);
void celery_py_json_str(struct buf *b, const char *s, size_t n);

#endif
