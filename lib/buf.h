/* buf.h: a growable byte buffer for building replies and log lines.
 *
 * Out-of-memory policy, for the whole process: allocation failure aborts
 * the process. Every allocation goes through xmalloc.h's wrappers, which
 * print "out of memory" to stderr and call abort(); the pool's master sees
 * the worker die and starts another. So nothing here reports OOM. */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>
#include <stdint.h>	/* SIZE_MAX */

/* data is NULL until the first append, then always NUL-terminated at len
 * (the NUL is not counted in len). The buffer owns data. */
struct buf {
	char *data;
	size_t len, cap;
};

void buf_init(struct buf *b);

/* Frees data and zeroes b. b may be NULL, zeroed or already freed. */
void buf_free(struct buf *b);

/* Empties b but keeps its memory for reuse. */
void buf_reset(struct buf *b);

/* Appends n bytes from p (which may hold NULs); p may be NULL if n is 0. */
void buf_add(struct buf *b, const void *p, size_t n);

/* Appends the NUL-terminated string s. */
void buf_adds(struct buf *b, const char *s);

/* Appends printf-style output, never truncated. Returns 0, or -1 if
 * vsnprintf reports an error, in which case b is unchanged. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Appends s[0..n) as a quoted JSON string: '"', '\\' and control
 * characters are escaped (\n, \t, ..., else \u00XX; also DEL as \u007f),
 * valid UTF-8 passes through unchanged, '/' is not escaped, and each byte
 * that is not part of a valid UTF-8 sequence becomes U+FFFD, so the output
 * is always valid JSON whatever s holds.
 */
void buf_add_json_str(struct buf *b, const char *s, size_t n);

/* Length (1 to 4) of the well-formed UTF-8 sequence (RFC 3629) at the
 * start of s[0..n), or 0 if there is none: n == 0, a truncated sequence,
 * an overlong form, a UTF-16 surrogate, above U+10FFFF, or a stray byte. */
size_t buf_utf8_seq_len(const char *s, size_t n);

/* Number of characters (code points) in s[0..n), or SIZE_MAX if s[0..n)
 * is not well-formed UTF-8. */
size_t buf_utf8_len(const char *s, size_t n);

#endif
