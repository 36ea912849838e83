/* test_ids.c: request id validation, traceparent parsing (W3C Trace
 * Context, version 00) and fresh random ids. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ids.h"

#define TP_OK "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define TRACE_OK "4bf92f3577b34da6a3ce929d0e0e4736"
#define X64 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

struct req_case {
	const char *s;
	int valid;
};

static const struct req_case req_cases[] = {
	{ "a", 1 },
	{ "0af7651916cd43dd8448eb211c80319c", 1 },
	{ "req-1_2.3~!#$%&'()*+,/:;<=>?@[]^`{|}", 1 },
	{ X64, 1 },
	{ X64 "x", 0 },
	{ "", 0 },
	{ "a b", 0 },
	{ " a", 0 },
	{ "a\"b", 0 },
	{ "a\\b", 0 },
	{ "a\tb", 0 },
	{ "a\nb", 0 },
	{ "a\x7f", 0 },
	{ "caf\xc3\xa9", 0 },
	{ "\x80", 0 },
};

static void
test_request_table(void **state)
{
	size_t i;
	int got;

	(void)state;
	for (i = 0; i < sizeof req_cases / sizeof req_cases[0]; i++) {
		got = id_request_valid(req_cases[i].s);
		if (got != req_cases[i].valid)
			print_error("row %zu: \"%s\" -> %d\n", i,
			    req_cases[i].s, got);
		assert_int_equal(got, req_cases[i].valid);
	}
	assert_int_equal(id_request_valid(NULL), 0);
}

static const char *const bad_traceparents[] = {
	"",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
	"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
	"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
	"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
	"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
	"00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01",
	" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\n",
	"00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
};

static void
test_traceparent_ok(void **state)
{
	char out[ID_HEX_LEN + 1];

	(void)state;
	memset(out, 'z', sizeof out);
	assert_int_equal(id_traceparent(TP_OK, out), 0);
	assert_string_equal(out, TRACE_OK);
	/* Flags are not interpreted: any two lower-case hex digits. */
	assert_int_equal(id_traceparent(
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", out), 0);
	assert_int_equal(id_traceparent(
	    "00-00000000000000000000000000000001-0000000000000001-00", out), 0);
	assert_string_equal(out, "00000000000000000000000000000001");
}

static void
test_traceparent_bad(void **state)
{
	char out[ID_HEX_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad_traceparents / sizeof bad_traceparents[0];
	    i++) {
		memset(out, 'z', sizeof out);
		if (id_traceparent(bad_traceparents[i], out) != -1)
			print_error("row %zu accepted: %s\n", i,
			    bad_traceparents[i]);
		assert_int_equal(id_traceparent(bad_traceparents[i], out), -1);
		assert_int_equal(out[0], 'z');
	}
	assert_int_equal(id_traceparent(NULL, out), -1);
}

static int
is_lower_hex32(const char *s)
{
	size_t i;

	for (i = 0; i < ID_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[ID_HEX_LEN] == '\0';
}

static void
test_random_hex(void **state)
{
	char a[ID_HEX_LEN + 1], b[ID_HEX_LEN + 1], t[ID_HEX_LEN + 1];
	char tp[64];

	(void)state;
	memset(a, 'z', sizeof a);
	memset(b, 'z', sizeof b);
	id_random_hex(a);
	id_random_hex(b);
	assert_true(is_lower_hex32(a));
	assert_true(is_lower_hex32(b));
	assert_string_not_equal(a, b);
	/* A fresh id is a valid request id and a valid trace id. */
	assert_int_equal(id_request_valid(a), 1);
	snprintf(tp, sizeof tp, "00-%s-00f067aa0ba902b7-01", a);
	assert_int_equal(id_traceparent(tp, t), 0);
	assert_string_equal(t, a);
}

static void
test_random_hex_spread(void **state)
{
	char id[ID_HEX_LEN + 1];
	int seen[16] = { 0 };
	int i, j, digits = 0;

	(void)state;
	for (i = 0; i < 64; i++) {
		id_random_hex(id);
		for (j = 0; j < ID_HEX_LEN; j++)
			seen[id[j] <= '9' ? id[j] - '0' : id[j] - 'a' + 10]++;
	}
	for (i = 0; i < 16; i++)
		digits += seen[i] > 0;
	/* 2048 digits drawn: every one of the 16 shows up. */
	assert_int_equal(digits, 16);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_table),
		cmocka_unit_test(test_traceparent_ok),
		cmocka_unit_test(test_traceparent_bad),
		cmocka_unit_test(test_random_hex),
		cmocka_unit_test(test_random_hex_spread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
