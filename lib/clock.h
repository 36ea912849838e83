/*
 * Monotonic time for deadlines, backoffs and durations: the one place that
 * reads CLOCK_MONOTONIC and does timespec arithmetic.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>
#include <sys/time.h>
#include <time.h>

/* Now, on CLOCK_MONOTONIC. */
void clock_now(struct timespec *t);
/* Now in whole monotonic seconds. */
time_t clock_sec(void);
/* b - a in ms (negative when b is earlier). */
long clock_ms_between(const struct timespec *a, const struct timespec *b);
/* ms until deadline; 0 or less once it has passed. */
long clock_ms_left(const struct timespec *deadline);
/* µs from t0 to now. */
int64_t clock_us_since(const struct timespec *t0);
/* Moves t ms (0 or more) later. */
void clock_add_ms(struct timespec *t, long ms);
/* A duration of ms (0 or more) for ppoll, sigtimedwait, setitimer, select. */
struct timespec clock_ms_ts(long ms);
struct timeval clock_ms_tv(long ms);

#endif
