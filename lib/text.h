/* text.h: the one rule for short text taken from outside (ids, names,
 * credentials, command-line arguments): well-formed UTF-8, 1 to max
 * characters (or bytes), no control character, no trailing space. */
#ifndef TEXT_H
#define TEXT_H

#include <stddef.h>

/* flags of text_check */
#define TEXT_BYTES 0x1	/* max counts bytes, not characters (code points) */

/* What is wrong with a text; when several are, the first in this order. */
enum text_fault {
	TEXT_OK,
	TEXT_UTF8,	/* not well-formed UTF-8 (RFC 3629): stray, truncated or
			 * overlong sequences, surrogates, above U+10FFFF */
	TEXT_EMPTY,
	TEXT_LONG,	/* more than max characters (bytes with TEXT_BYTES) */
	TEXT_CONTROL,	/* a C0 or C1 control or DEL: U+0000..U+001F,
			 * U+007F..U+009F (NUL and tab included) */
	TEXT_SPACE,	/* ends with U+0020: MySQL's PAD SPACE collations
			 * would make "alice " match "alice" */
};

/* Checks s[0..n) against the rule; s may be NULL when n is 0. A leading
 * space is allowed, and so is any other Unicode space at the end. */
enum text_fault text_check(const char *s, size_t n, size_t max,
    unsigned flags);

#endif
