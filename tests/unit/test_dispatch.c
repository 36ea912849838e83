/* test_dispatch.c: the broker and redis URL parser, and the Python
 * spellings celery.c writes (repr of a float, json.dumps of a string); one
 * table row per case. tests/test_dispatch.py checks whole messages against
 * Celery and Python themselves. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "celery.h"
#include "dispatch.h"

struct url_case {
	const char *url, *scheme;
	int ok;
	const char *user, *password, *host;
	int port;
	const char *path;
};

static const struct url_case url_cases[] = {
	{ "amqp://guest:guest@127.0.0.1:5672/", "amqp", 1, "guest", "guest",
	    "127.0.0.1", 5672, "/" },
	{ "amqp://u:p@rabbit/sops", "amqp", 1, "u", "p", "rabbit", 5672, "sops" },
	{ "amqp://u@h:1", "amqp", 1, "u", "", "h", 1, "/" },
	{ "amqp://u:p%40ss%3Aw@h:5672/%2F", "amqp", 1, "u", "p@ss:w", "h", 5672,
	    "/" },
	{ "amqp://u:a@b@h/v", "amqp", 1, "u", "a@b", "h", 5672, "v" },
	{ "redis://:secret@127.0.0.1:6380/2", "redis", 1, "", "secret",
	    "127.0.0.1", 6380, "2" },
	{ "redis://localhost", "redis", 1, "", "", "localhost", 6379, "" },
	{ "http://h/", "amqp", 0, 0, 0, 0, 0, 0 },
	{ "amqp:/h/", "amqp", 0, 0, 0, 0, 0, 0 },
	{ "amqp://u:p@:5672/", "amqp", 0, 0, 0, 0, 0, 0 },
	{ "amqp://h:0/", "amqp", 0, 0, 0, 0, 0, 0 },
	{ "amqp://h:65536/", "amqp", 0, 0, 0, 0, 0, 0 },
	{ "amqp://h:x/", "amqp", 0, 0, 0, 0, 0, 0 },
	{ "amqp://u:p%4@h/", "amqp", 0, 0, 0, 0, 0, 0 },
	{ "amqp://u:p%00@h/", "amqp", 0, 0, 0, 0, 0, 0 },
	{ "redis://h/db", "redis", 0, 0, 0, 0, 0, 0 },
};

static void
test_urls(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(url_cases) / sizeof(*url_cases); i++) {
		const struct url_case *c = &url_cases[i];
		struct dispatch_url u;
		char err[256] = "";
		int rc = dispatch_parse_url(c->url, c->scheme, &u, err, sizeof(err));
		if (!c->ok) {
			if (rc != -1)
				fail_msg("accepted %s", c->url);
			assert_non_null(strstr(err, "_url"));
			continue;
		}
		if (rc != 0)
			fail_msg("refused %s: %s", c->url, err);
		assert_string_equal(u.user, c->user);
		assert_string_equal(u.password, c->password);
		assert_string_equal(u.host, c->host);
		assert_int_equal(u.port, c->port);
		assert_string_equal(u.path, c->path);
	}
}

/* repr(float) in CPython 3. */
static const struct { double d; const char *want; } floats[] = {
	{ 0.0, "0.0" }, { -0.0, "-0.0" }, { 1.0, "1.0" }, { 0.1, "0.1" },
	{ 1764655200.123456, "1764655200.123456" }, { 1e16, "1e+16" },
	{ 9999999999999998.0, "9999999999999998.0" }, { 1e-4, "0.0001" },
	{ 1e-5, "1e-05" }, { 1.5e-7, "1.5e-07" }, { 123.456, "123.456" },
	{ 5e-324, "5e-324" }, { 1.7976931348623157e308, "1.7976931348623157e+308" },
	{ 100.0, "100.0" }, { 0.30000000000000004, "0.30000000000000004" },
	{ -2.5, "-2.5" },
};

static void
test_py_float(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(floats) / sizeof(*floats); i++) {
		struct buf b;
		buf_init(&b);
		celery_py_float(&b, floats[i].d);
		assert_string_equal(b.data, floats[i].want);
		buf_free(&b);
	}
}

/* json.dumps(s) with ensure_ascii. */
static const struct { const char *s; const char *want; } strs[] = {
	{ "abc", "\"abc\"" }, { "", "\"\"" }, { "a\"b\\c/d", "\"a\\\"b\\\\c/d\"" },
	{ "\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"" }, { "\x01\x1f\x7f",
	    "\"\\u0001\\u001f\\u007f\"" }, { "\xc3\xa9", "\"\\u00e9\"" },
	{ "\xe8\x8a\x82", "\"\\u8282\"" },
	{ "\xf0\x9f\x98\x80", "\"\\ud83d\\ude00\"" },
	{ "\xff", "\"\\ufffd\"" },
};

static void
test_py_json_str(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++) {
		struct buf b;
		buf_init(&b);
		celery_py_json_str(&b, strs[i].s, strlen(strs[i].s));
		assert_string_equal(b.data, strs[i].want);
		buf_free(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_py_float),
		cmocka_unit_test(test_py_json_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
