/* num.h: the one bounded integer parser (strtonum-style) for every number
 * that comes from a request, a FastCGI param or the config file. */
#ifndef NUM_H
#define NUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses s[0..len) as a decimal integer in [min, max] into *out.
 * Only ASCII digits, with one leading '-' when min < 0; no spaces, no '+',
 * no NUL. Leading zeros are allowed ("007" is 7). On failure returns -1,
 * leaves *out alone and puts a short phrase meant to follow a name in err:
 * "is empty", "is not a number", "is negative", "is too small",
 * "is too large". err may be NULL.
 */
int num_parse_i64(const char *s, size_t len, int64_t min, int64_t max,
    int64_t *out, char *err, size_t errlen);

/*
 * Parses a NUL-terminated byte size from the config: digits with an
 * optional suffix k/K (x 1024) or m/M (x 1048576), e.g. "1m", "64k", "512".
 * Same rules and messages as num_parse_i64; the bounds apply to the value
 * after the suffix is applied.
 */
int num_parse_size(const char *s, int64_t min, int64_t max, int64_t *out,
    char *err, size_t errlen);

#endif
