/* test_url.c: the broker and redis URL parser (lib/url.c), one table row
 * per case; tests/test_dispatch.py checks the config's use of it. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "url.h"

#define X16 "xxxxxxxxxxxxxxxx"
#define X256 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16

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
	{ "amqps://u@mq.example.org/v", "amqps", 1, "u", "", "mq.example.org",
	    5671, "v" },
	{ "amqps://u@h/v", "amqp", 0, 0, 0, 0, 0, 0 },
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
	{ "amqp://u:secret@h:99999/", "amqp", 0, 0, 0, 0, 0, 0 },
	{ "redis://:secret@h/notadb", "redis", 0, 0, 0, 0, 0, 0 },
	{ "amqp://u:p%00@h/", "amqp", 0, 0, 0, 0, 0, 0 },
	{ "redis://h/db", "redis", 0, 0, 0, 0, 0, 0 },
	{ "redis://h/65535", "redis", 1, "", "", "h", 6379, "65535" },
	{ "redis://h/65536", "redis", 0, 0, 0, 0, 0, 0 },
	{ "redis://h:6379/", "redis", 1, "", "", "h", 6379, "" },
	{ "amqp://h/v%20h", "amqp", 1, "", "", "h", 5672, "v h" },
	{ "amqp://u:%4a%4B@h/", "amqp", 1, "u", "JK", "h", 5672, "/" },
	{ "amqp://u:%g0@h/", "amqp", 0, 0, 0, 0, 0, 0 },
	{ "amqp://u:%\xc3\xa9@h/", "amqp", 0, 0, 0, 0, 0, 0 },
	{ "amqp://" X256 "/", "amqp", 0, 0, 0, 0, 0, 0 },	/* host too long */
	{ "amqp://h/", "redis", 0, 0, 0, 0, 0, 0 },		/* other scheme */
	{ "ftp://h/", "ftp", 0, 0, 0, 0, 0, 0 },		/* not known */
};

static void
test_urls(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(url_cases) / sizeof(*url_cases); i++) {
		const struct url_case *c = &url_cases[i];
		struct url u;
		char err[256] = "";
		int rc = url_parse(c->url, c->scheme, &u, err, sizeof(err));
		if (!c->ok) {
			if (rc != -1)
				fail_msg("accepted %s", c->url);
			assert_non_null(strstr(err, " is not "));
			/* never the URL: it may hold a password */
			assert_null(strstr(err, "secret"));
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
