/* test_num.c: num_parse_i64 and num_parse_size, one table row per case:
 * the accepted forms, every refusal and its message, and the int64 edges. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "num.h"

#define ERR_LEN 64

struct i64_case {
	const char *s;
	size_t len;		/* 0: strlen(s) */
	int64_t min, max;
	int64_t want;
	const char *err;	/* NULL: must be accepted */
};

static const struct i64_case i64_cases[] = {
	{ "0", 0, 0, 10, 0, NULL },
	{ "10", 0, 0, 10, 10, NULL },
	{ "7", 0, 1, INT64_MAX, 7, NULL },
	{ "007", 0, 0, 10, 7, NULL },
	{ "0000000000000000000000000000001", 0, 0, 10, 1, NULL },
	{ "-1", 0, -5, 5, -1, NULL },
	{ "-0", 0, -5, 5, 0, NULL },
	{ "9223372036854775807", 0, INT64_MIN, INT64_MAX, INT64_MAX, NULL },
	{ "-9223372036854775808", 0, INT64_MIN, INT64_MAX, INT64_MIN, NULL },
	{ "123", 2, 0, 1000, 12, NULL },
	{ "", 0, 0, 10, 0, "is empty" },
	{ "-", 0, -5, 5, 0, "is not a number" },
	{ "--1", 0, -5, 5, 0, "is not a number" },
	{ " 1", 0, 0, 10, 0, "is not a number" },
	{ "1 ", 0, 0, 10, 0, "is not a number" },
	{ "+1", 0, 0, 10, 0, "is not a number" },
	{ "1a", 0, 0, 10, 0, "is not a number" },
	{ "0x10", 0, 0, 100, 0, "is not a number" },
	{ "1.0", 0, 0, 10, 0, "is not a number" },
	{ "1e3", 0, 0, 10000, 0, "is not a number" },
	{ "1\0" "2", 3, 0, 1000, 0, "is not a number" },
	{ "1\0", 2, 0, 1000, 0, "is not a number" },
	{ "\xd9\xa1", 0, 0, 10, 0, "is not a number" },
	{ "-1", 0, 0, 10, 0, "is negative" },
	{ "-0", 0, 0, 10, 0, "is negative" },
	{ "0", 0, 1, 10, 0, "is too small" },
	{ "-6", 0, -5, 5, 0, "is too small" },
	{ "11", 0, 0, 10, 0, "is too large" },
	{ "9223372036854775808", 0, INT64_MIN, INT64_MAX, 0, "is too large" },
	{ "-9223372036854775809", 0, INT64_MIN, INT64_MAX, 0, "is too small" },
	{ "18446744073709551616", 0, 0, INT64_MAX, 0, "is too large" },
	{ "99999999999999999999999999", 0, 0, INT64_MAX, 0, "is too large" },
	{ "-99999999999999999999999999", 0, INT64_MIN, 0, 0, "is too small" },
	{ "99999999999999999999x", 0, 0, INT64_MAX, 0, "is not a number" },
};

static void
test_i64_table(void **state)
{
	const struct i64_case *c;
	char err[ERR_LEN];
	int64_t v;
	size_t i, len;
	int rc;

	(void)state;
	for (i = 0; i < sizeof i64_cases / sizeof i64_cases[0]; i++) {
		c = &i64_cases[i];
		len = c->len ? c->len : strlen(c->s);
		v = 4242;
		err[0] = '\0';
		rc = num_parse_i64(c->s, len, c->min, c->max, &v, err,
		    sizeof err);
		if (rc != (c->err ? -1 : 0))
			print_error("row %zu: \"%s\" -> %d %s\n", i, c->s, rc,
			    err);
		if (c->err == NULL) {
			assert_int_equal(rc, 0);
			assert_true(v == c->want);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(err, c->err);
			assert_true(v == 4242);
		}
	}
}

static void
test_i64_null_and_no_err(void **state)
{
	int64_t v = 0;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(num_parse_i64(NULL, 0, 0, 1, &v, err, sizeof err), -1);
	assert_string_equal(err, "is empty");
	assert_int_equal(num_parse_i64("x", 1, 0, 1, &v, NULL, 0), -1);
	assert_int_equal(num_parse_i64("1", 1, 0, 1, &v, NULL, 0), 0);
	assert_true(v == 1);
}

static void
test_i64_short_err_buffer(void **state)
{
	char err[4] = "zzz";
	int64_t v;

	(void)state;
	assert_int_equal(num_parse_i64("x", 1, 0, 1, &v, err, sizeof err), -1);
	assert_string_equal(err, "is ");
}

struct size_case {
	const char *s;
	int64_t min, max;
	int64_t want;
	const char *err;
};

static const struct size_case size_cases[] = {
	{ "0", 0, INT64_MAX, 0, NULL },
	{ "512", 0, INT64_MAX, 512, NULL },
	{ "1k", 0, INT64_MAX, 1024, NULL },
	{ "1K", 0, INT64_MAX, 1024, NULL },
	{ "64k", 0, INT64_MAX, 65536, NULL },
	{ "2m", 0, INT64_MAX, 2097152, NULL },
	{ "1M", 0, INT64_MAX, 1048576, NULL },
	{ "1m", 1, 1048576, 1048576, NULL },
	{ "0k", 0, 10, 0, NULL },
	{ "-1k", -2048, 0, -1024, NULL },
	{ "8796093022207m", 0, INT64_MAX, INT64_C(9223372036853727232), NULL },
	{ "", 0, 10, 0, "is empty" },
	{ "k", 0, 10, 0, "is not a number" },
	{ "1kk", 0, INT64_MAX, 0, "is not a number" },
	{ "1km", 0, INT64_MAX, 0, "is not a number" },
	{ "1g", 0, INT64_MAX, 0, "is not a number" },
	{ "1 k", 0, INT64_MAX, 0, "is not a number" },
	{ " 1k", 0, INT64_MAX, 0, "is not a number" },
	{ "1.5m", 0, INT64_MAX, 0, "is not a number" },
	{ "+1k", 0, INT64_MAX, 0, "is not a number" },
	{ "-1k", 0, INT64_MAX, 0, "is negative" },
	{ "1025k", 0, 1048576, 0, "is too large" },
	{ "1k", 2048, 4096, 0, "is too small" },
	{ "-3k", -2048, 0, 0, "is too small" },
	{ "8796093022208m", 0, INT64_MAX, 0, "is too large" },
	{ "9007199254740992k", 0, INT64_MAX, 0, "is too large" },
	{ "-9007199254740993k", INT64_MIN, 0, 0, "is too small" },
	{ "9223372036854775808", 0, INT64_MAX, 0, "is too large" },
};

static void
test_size_table(void **state)
{
	const struct size_case *c;
	char err[ERR_LEN];
	int64_t v;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof size_cases / sizeof size_cases[0]; i++) {
		c = &size_cases[i];
		v = 4242;
		err[0] = '\0';
		rc = num_parse_size(c->s, c->min, c->max, &v, err, sizeof err);
		if (rc != (c->err ? -1 : 0))
			print_error("row %zu: \"%s\" -> %d %s\n", i, c->s, rc,
			    err);
		if (c->err == NULL) {
			assert_int_equal(rc, 0);
			assert_true(v == c->want);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(err, c->err);
			assert_true(v == 4242);
		}
	}
}

static void
test_size_null(void **state)
{
	char err[ERR_LEN];
	int64_t v;

	(void)state;
	assert_int_equal(num_parse_size(NULL, 0, 1, &v, err, sizeof err), -1);
	assert_string_equal(err, "is empty");
	assert_int_equal(num_parse_size("2k", 0, 4096, &v, NULL, 0), 0);
	assert_true(v == 2048);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_i64_table),
		cmocka_unit_test(test_i64_null_and_no_err),
		cmocka_unit_test(test_i64_short_err_buffer),
		cmocka_unit_test(test_size_table),
		cmocka_unit_test(test_size_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
