/* num.c: bounded integer parsing without strtol's surprises (leading
 * spaces, '+', locale, errno) and without signed overflow: the magnitude is
 * accumulated unsigned and checked against its limit before each step. */

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "num.h"

#define KIB ((int64_t)1024)
#define MIB ((int64_t)1024 * 1024)

static int
fail(char *err, size_t errlen, const char *why)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
	return -1;
}

static int
all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return len > 0;
}

/* Returns 0 and the magnitude, or -1 when it exceeds limit. */
static int
magnitude(const char *s, size_t len, uint64_t limit, uint64_t *mag)
{
	uint64_t m = 0, d;
	size_t i;

	for (i = 0; i < len; i++) {
		d = (uint64_t)(s[i] - '0');
		if (m > (limit - d) / 10)
			return -1;
		m = m * 10 + d;
	}
	*mag = m;
	return 0;
}

int
num_parse_i64(const char *s, size_t len, int64_t min, int64_t max,
    int64_t *out, char *err, size_t errlen)
{
	uint64_t mag, limit;
	int64_t v;
	int neg;

	assert(min <= max);
	if (s == NULL || len == 0)
		return fail(err, errlen, "is empty");
	neg = s[0] == '-';
	if (!all_digits(s + neg, len - neg))
		return fail(err, errlen, "is not a number");
	if (neg && min >= 0)
		return fail(err, errlen, "is negative");
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (magnitude(s + neg, len - neg, limit, &mag) < 0)
		return fail(err, errlen, neg ? "is too small" : "is too large");
	if (!neg)
		v = (int64_t)mag;
	else if (mag == limit)
		v = INT64_MIN;
	else
		v = -(int64_t)mag;
	if (v < min)
		return fail(err, errlen, "is too small");
	if (v > max)
		return fail(err, errlen, "is too large");
	*out = v;
	return 0;
}

static int64_t
suffix_factor(char c)
{
	switch (c) {
	case 'k':
	case 'K':
		return KIB;
	case 'm':
	case 'M':
		return MIB;
	default:
		return 1;
	}
}

int
num_parse_size(const char *s, int64_t min, int64_t max, int64_t *out,
    char *err, size_t errlen)
{
	int64_t v, f;
	size_t len;

	assert(min <= max);
	len = s != NULL ? strlen(s) : 0;
	if (len == 0)
		return fail(err, errlen, "is empty");
	f = suffix_factor(s[len - 1]);
	if (f > 1 && --len == 0)
		return fail(err, errlen, "is not a number");
	if (num_parse_i64(s, len, min < 0 ? INT64_MIN : 0, INT64_MAX, &v,
	    err, errlen) < 0)
		return -1;
	if (v > INT64_MAX / f)
		return fail(err, errlen, "is too large");
	if (v < INT64_MIN / f)
		return fail(err, errlen, "is too small");
	v *= f;
	if (v < min)
		return fail(err, errlen, "is too small");
	if (v > max)
		return fail(err, errlen, "is too large");
	*out = v;
	return 0;
}
