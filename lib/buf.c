/* buf.c: growable byte buffer. Appends cannot fail (see the out-of-memory
 * policy in buf.h); the data stays NUL-terminated so it can be handed to
 * functions that want a C string. */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

#define BUF_MIN_CAP 64	/* first allocation; a short log line fits */
#define REPLACEMENT "\xef\xbf\xbd"	/* U+FFFD in UTF-8 */

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Makes room for extra more bytes and the terminating NUL. */
static void
grow(struct buf *b, size_t extra)
{
	size_t need, cap;

	if (extra > SIZE_MAX - 1 - b->len)
		xoom();
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : BUF_MIN_CAP;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	grow(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap, again;
	int n, rc = -1;

	grow(b, 0);
	va_start(ap, fmt);
	va_copy(again, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	if (n < 0)
		goto out;
	if ((size_t)n >= b->cap - b->len) {
		grow(b, (size_t)n);
		if (vsnprintf(b->data + b->len, b->cap - b->len, fmt, again) != n)
			goto out;
	}
	b->len += (size_t)n;
	rc = 0;
out:
	b->data[b->len] = '\0';
	va_end(again);
	va_end(ap);
	return rc;
}

size_t
buf_utf8_seq_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;	/* allowed second byte */
	size_t len, i;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2)	/* continuation byte, or overlong C0/C1 */
		return 0;
	if (p[0] < 0xe0) {
		len = 2;
	} else if (p[0] < 0xf0) {
		len = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* surrogates D800..DFFF */
	} else if (p[0] < 0xf5) {
		len = 4;
		if (p[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

size_t
buf_utf8_len(const char *s, size_t n)
{
	size_t i = 0, k, count = 0;

	while (i < n) {
		k = buf_utf8_seq_len(s + i, n - i);
		if (k == 0)
			return SIZE_MAX;
		i += k;
		count++;
	}
	return count;
}

/* Bytes at p that JSON output can carry as they are. */
static size_t
plain_run(const char *p, size_t n)
{
	unsigned char c;
	size_t i = 0, k;

	while (i < n) {
		c = (unsigned char)p[i];
		if (c >= 0x80)
			k = buf_utf8_seq_len(p + i, n - i);
		else
			k = c >= 0x20 && c != 0x7f && c != '"' && c != '\\';
		if (k == 0)
			break;
		i += k;
	}
	return i;
}

/* The letter of JSON's two-character escape for c, or 0 if it has none. */
static char
short_escape(unsigned char c)
{
	switch (c) {
	case '"':
		return '"';
	case '\\':
		return '\\';
	case '\b':
		return 'b';
	case '\f':
		return 'f';
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	case '\t':
		return 't';
	default:
		return 0;
	}
}

/* Appends the escape for the one byte c that plain_run stopped at. */
static void
add_escaped(struct buf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char u[6] = { '\\', 'u', '0', '0', 0, 0 };

	if (short_escape(c) != 0) {
		u[1] = short_escape(c);
		buf_add(b, u, 2);
	} else if (c >= 0x80) {
		buf_add(b, REPLACEMENT, 3);
	} else {
		u[4] = hex[c >> 4];
		u[5] = hex[c & 0x0f];
		buf_add(b, u, sizeof u);
	}
}

void
buf_add_json_str(struct buf *b, const char *s, size_t n)
{
	size_t i = 0, k;

	buf_add(b, "\"", 1);
	while (i < n) {
		k = plain_run(s + i, n - i);
		buf_add(b, s + i, k);
		i += k;
		if (i < n)
			add_escaped(b, (unsigned char)s[i++]);
	}
	buf_add(b, "\"", 1);
}
