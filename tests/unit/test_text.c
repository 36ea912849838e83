/* test_text.c: the one text rule (lib/text.c), one row per case: the bytes,
 * the limit, the flags and the fault expected. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "text.h"

/* The bytes of a string literal, embedded NULs included. */
#define B(s) s, sizeof(s) - 1

struct text_case {
	const char *s;
	size_t n;
	size_t max;
	unsigned flags;
	enum text_fault want;
};

static const struct text_case cases[] = {
	/* ASCII, and the limits */
	{ B("alice"), 128, 0, TEXT_OK },
	{ B("a"), 1, 0, TEXT_OK },
	{ B(""), 128, 0, TEXT_EMPTY },
	{ NULL, 0, 128, 0, TEXT_EMPTY },
	{ B("abcd"), 4, 0, TEXT_OK },			/* exactly N */
	{ B("abcde"), 4, 0, TEXT_LONG },		/* N + 1 */
	{ B("abcd"), 4, TEXT_BYTES, TEXT_OK },
	{ B("abcde"), 4, TEXT_BYTES, TEXT_LONG },
	/* characters, not bytes: 4-byte and 3-byte characters count 1 */
	{ B("\xf0\x9f\x98\x80\xf0\x9f\x98\x80"), 2, 0, TEXT_OK },
	{ B("\xf0\x9f\x98\x80\xf0\x9f\x98\x80!"), 2, 0, TEXT_LONG },
	{ B("\xf0\x9f\x98\x80\xf0\x9f\x98\x80"), 2, TEXT_BYTES, TEXT_LONG },
	{ B("\xf0\x9f\x98\x80\xf0\x9f\x98\x80"), 8, TEXT_BYTES, TEXT_OK },
	{ B("\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b"), 3, 0, TEXT_OK },
	{ B("\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b"), 3, 0, TEXT_LONG },
	{ B("caf\xc3\xa9"), 4, 0, TEXT_OK },
	{ B("\xc2\xa0nbsp"), 8, 0, TEXT_OK },		/* U+00A0: first after C1 */
	/* C0 controls, DEL, C1 controls */
	{ B("\x00"), 8, 0, TEXT_CONTROL },
	{ B("a\x00" "b"), 8, 0, TEXT_CONTROL },
	{ B("a\tb"), 8, 0, TEXT_CONTROL },
	{ B("a\nb"), 8, 0, TEXT_CONTROL },
	{ B("a\rb"), 8, TEXT_BYTES, TEXT_CONTROL },
	{ B("a\x1f"), 8, 0, TEXT_CONTROL },
	{ B("a\x7f" "b"), 8, 0, TEXT_CONTROL },
	{ B("a\xc2\x80" "b"), 8, 0, TEXT_CONTROL },	/* U+0080 */
	{ B("bo\xc2\x9b" "b"), 8, 0, TEXT_CONTROL },	/* U+009B CSI */
	{ B("a\xc2\x9f"), 8, TEXT_BYTES, TEXT_CONTROL },	/* U+009F */
	/* spaces */
	{ B("alice "), 128, 0, TEXT_SPACE },
	{ B(" "), 128, 0, TEXT_SPACE },
	{ B(" alice"), 128, 0, TEXT_OK },		/* leading: allowed */
	{ B("al ice"), 128, 0, TEXT_OK },
	{ B("alice\t"), 128, 0, TEXT_CONTROL },	/* a tab is a control */
	{ B("alice\xc2\xa0"), 128, 0, TEXT_OK },	/* only U+0020 pads */
	/* not UTF-8 */
	{ B("\x80"), 8, 0, TEXT_UTF8 },			/* stray continuation */
	{ B("\xff"), 8, 0, TEXT_UTF8 },
	{ B("\xc0\xaf"), 8, 0, TEXT_UTF8 },		/* overlong '/' */
	{ B("\xc1\xbf"), 8, 0, TEXT_UTF8 },		/* overlong */
	{ B("\xe0\x80\xaf"), 8, 0, TEXT_UTF8 },	/* overlong, 3 bytes */
	{ B("\xf0\x80\x80\xaf"), 8, 0, TEXT_UTF8 },	/* overlong, 4 bytes */
	{ B("\xed\xa0\x80"), 8, 0, TEXT_UTF8 },	/* surrogate U+D800 */
	{ B("\xed\xbf\xbf"), 8, 0, TEXT_UTF8 },	/* surrogate U+DFFF */
	{ B("\xf4\x90\x80\x80"), 8, 0, TEXT_UTF8 },	/* U+110000 */
	{ B("\xf5\x80\x80\x80"), 8, 0, TEXT_UTF8 },
	{ B("\xf4\x8f\xbf\xbf"), 8, 0, TEXT_OK },	/* U+10FFFF */
	{ B("caf\xc3"), 8, 0, TEXT_UTF8 },		/* truncated, 2 bytes */
	{ B("\xe7\x8e"), 8, 0, TEXT_UTF8 },		/* truncated, 3 bytes */
	{ B("\xf0\x9f\x98"), 8, 0, TEXT_UTF8 },	/* truncated, 4 bytes */
	{ B("\xe7" "a" "\x8b"), 8, 0, TEXT_UTF8 },	/* interrupted */
	{ B("\xc2\x9b"), 8, TEXT_BYTES, TEXT_CONTROL },
	{ B("\xc2"), 8, TEXT_BYTES, TEXT_UTF8 },	/* bytes: still UTF-8 */
	/* which fault when there are several: the first of text.h's order */
	{ B("abcde\xff"), 4, 0, TEXT_UTF8 },
	{ B("abcd\x01"), 4, 0, TEXT_LONG },
	{ B("a\x01 "), 4, 0, TEXT_CONTROL },
};

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct text_case *c = &cases[i];
		enum text_fault got = text_check(c->s, c->n, c->max, c->flags);
		if (got != c->want)
			fail_msg("row %zu (%zu bytes, max %zu, flags %u): fault "
			    "%d, want %d", i, c->n, c->max, c->flags, (int)got,
			    (int)c->want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
