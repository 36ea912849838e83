/*
 * Logging for the service: one line per event on stderr or a file, as JSON
 * or plain text. The only place in lib/ that writes to a log; other lib/
 * files hand errors back to their callers.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_TEXT, LOG_JSON };

/* A key/value pair for log_kv; a NULL key ends the list. */
struct log_field {
	const char *key;
	const char *str;	/* string value, or NULL to use num */
	long long num;
};

/* path NULL means stderr. Returns -1 with err filled if the file fails. */
int log_open(const char *path, enum log_level level, enum log_format fmt,
    char *err, size_t errlen);
/* Reopens the file (after logrotate moved it). Safe to call on stderr. */
void log_reopen(void);
int log_enabled(enum log_level level);
/* A plain message; the current request ids (log_set_ids) are added. */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A structured event: msg plus fields, ended by a {NULL} field. */
void log_kv(enum log_level level, const char *msg, const struct log_field *f);
/* The ids of the request being served, added to every line; NULL clears. */
void log_set_ids(const char *request_id, const char *trace_id);
int log_parse_level(const char *s, enum log_level *out);

/*
 * At most one line per interval for an event a peer can repeat at will
 * (timeouts, crashes): log_limit returns 1 when this one may be logged,
 * and sets *held to how many were held back since the last one.
 */
struct log_limit {
	long long last;		/* CLOCK_MONOTONIC seconds; 0: never */
	unsigned long held;
};
int log_limit(struct log_limit *l, int seconds, unsigned long *held);

#endif
