/* strictjson.h: strict RFC 8259 JSON on top of json-c, which is lax (even
 * JSON_TOKENER_STRICT takes single-quoted keys, NaN, raw control characters
 * and lone surrogates, and keeps the last of duplicate keys): a request body
 * is either valid JSON that MySQL and
 * MariaDB will both take as it is, or refused with a one-line reason. */
#ifndef STRICTJSON_H
#define STRICTJSON_H

#include <stddef.h>

struct json_object;

#define SJ_DEPTH_MAX 4096	/* largest max_depth sj_parse takes */

/*
 * Parses buf[0..len) (need not be NUL-terminated) as exactly one JSON
 * object, optionally surrounded by space, tab, CR and LF. Refuses what
 * RFC 8259 does not allow (single quotes, NaN/Infinity, comments, '+',
 * leading zeros, trailing commas or data, raw control characters or NUL
 * bytes, bad escapes), invalid UTF-8 (RFC 3629), \u escapes that do not
 * pair into one code point, \u0000 in a key, duplicate keys in one object
 * (compared after unescaping), integers outside int64, numbers whose double
 * is not finite, an empty body, a top-level value that is not an object,
 * and nesting deeper than max_depth (1 to SJ_DEPTH_MAX; the top object is
 * level 1, arrays count). Doubles keep their text as sent.
 *
 * Returns a new object the caller releases with json_object_put(), or NULL
 * with a one-line reason in err such as
 * "invalid JSON at byte 13: duplicate key \"a\"" (the byte offset counts
 * from 0; at most 32 input bytes are quoted, non-printables as \xHH).
 */
struct json_object *sj_parse(const char *buf, size_t len, int max_depth,
    char *err, size_t errlen);

/*
 * The compact form of o for storage: no spaces, '/' not escaped, UTF-8 as
 * is, doubles parsed by sj_parse as they were sent. Returns a NUL-terminated
 * copy the caller frees, and its length in *len if len is not NULL; NULL
 * if o is NULL. Valid JSON for any tree sj_parse made; doubles set later
 * with json_object_new_double() print with 17 significant digits, and a
 * NaN or infinity set that way would print as invalid JSON.
 */
char *sj_to_text(struct json_object *o, size_t *len);

#endif
