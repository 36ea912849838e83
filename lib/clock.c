/*
 * Monotonic time: now, differences in ms and µs, a deadline moved later,
 * a duration in ms as the timespec or timeval a system call takes.
 */
#include <time.h>

#include "clock.h"

#define NS_PER_S 1000000000L
#define NS_PER_MS 1000000L

void
clock_now(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

time_t
clock_sec(void)
{
	struct timespec t;

	clock_now(&t);
	return t.tv_sec;
}

long
clock_ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / NS_PER_MS;
}

long
clock_ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_now(&now);
	return clock_ms_between(&now, deadline);
}

int64_t
clock_us_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_now(&t1);
	return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000;
}

void
clock_add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * NS_PER_MS;
	if (t->tv_nsec >= NS_PER_S) {
		t->tv_sec++;
		t->tv_nsec -= NS_PER_S;
	}
}

struct timespec
clock_ms_ts(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * NS_PER_MS };

	return t;
}

struct timeval
clock_ms_tv(long ms)
{
	struct timeval t = { ms / 1000, (ms % 1000) * 1000 };

	return t;
}
