/* text.c: the shape every short text from outside must have (text.h), in
 * one place, so that the service, the gateway and jwt callers and the admin
 * command agree on what a name or an id may hold. */

#include "buf.h"
#include "text.h"

/* U+0080..U+009F are C2 80..C2 9F in UTF-8. */
#define C1_LEAD 0xc2
#define C1_END 0xa0

enum text_fault
text_check(const char *s, size_t n, size_t max, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k, chars = 0;
	int control = 0;

	while (i < n) {
		if ((k = buf_utf8_seq_len(s + i, n - i)) == 0)
			return TEXT_UTF8;
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (k == 2 && p[i] == C1_LEAD && p[i + 1] < C1_END))
			control = 1;
		i += k;
		chars++;
	}
	if (n == 0)
		return TEXT_EMPTY;
	if ((flags & TEXT_BYTES ? n : chars) > max)
		return TEXT_LONG;
	if (control)
		return TEXT_CONTROL;
	if (p[n - 1] == ' ')
		return TEXT_SPACE;
	return TEXT_OK;
}
