/* test_auth.c: the pure parts of authentication: auth_decide over modes and
 * rows, the trusted-app list, and the caller read from gateway claims. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "auth.h"
#include "config.h"

struct tcase {
	const char *app, *whitelist;
	int want;
};

static const struct tcase tcases[] = {
	{ "bk_sops", "", 1 },
	{ "bk_fta", NULL, 1 },
	{ "bk_monitorv3", "x", 1 },
	{ "bk_monitor", "", 0 },
	{ "BK_SOPS", "", 0 },
	{ "wl_app", "wl_app", 1 },
	{ "wl_app", " wl_app , other", 1 },
	{ "other", " wl_app , other", 1 },
	{ "other", "wl_app,other,", 1 },
	{ "wl", "wl_app", 0 },
	{ "wl_app", "wl", 0 },
	{ "wl app", "wl,app", 0 },
	{ "a", ",,a,,", 1 },
	{ "", ",,", 0 },
	{ "wl_app", "WL_APP", 0 },
	{ "wl_app", "wl_app\t", 0 },	/* only spaces are trimmed */
};

static void
test_trusted(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(tcases) / sizeof(*tcases); i++)
		if (auth_app_trusted(tcases[i].app, tcases[i].whitelist) !=
		    tcases[i].want)
			fail_msg("app \"%s\" in \"%s\": want %d", tcases[i].app,
			    tcases[i].whitelist ? tcases[i].whitelist : "(null)",
			    tcases[i].want);
}

static struct auth_row
row_with(int permitted, const char *whitelist)
{
	struct auth_row r;

	memset(&r, 0, sizeof(r));
	r.project_found = 1;
	r.project_id = 1;
	r.permitted = permitted;
	snprintf(r.app_whitelist, sizeof(r.app_whitelist), "%s", whitelist);
	return r;
}

static void
test_decide_jwt(void **state)
{
	struct auth_caller c = { "some_app", NULL, "bob", NULL };
	struct auth_row r = row_with(0, "wl_app");

	(void)state;
	assert_int_equal(auth_decide(AUTH_JWT, &c, &r), AUTH_DENIED);
	r.permitted = 1;
	assert_int_equal(auth_decide(AUTH_JWT, &c, &r), AUTH_OK);
	r = row_with(0, "wl_app");
	c.app_code = "wl_app";
	assert_int_equal(auth_decide(AUTH_JWT, &c, &r), AUTH_OK);
	c.app_code = "bk_paas";
	assert_int_equal(auth_decide(AUTH_JWT, &c, &r), AUTH_OK);
	/* The service's own trusted flag does not count in jwt mode ... */
	c.app_code = "trusted_app";
	r.app_found = r.app_enabled = r.app_trusted = 1;
	assert_int_equal(auth_decide(AUTH_JWT, &c, &r), AUTH_DENIED);
	/* ... and does in gateway mode. */
	assert_int_equal(auth_decide(AUTH_GATEWAY, &c, &r), AUTH_OK);
	/* Scope comes before permission. */
	r.project_disabled = 1;
	assert_int_equal(auth_decide(AUTH_JWT, &c, &r), AUTH_PROJECT_DISABLED);
	r.project_found = 0;
	assert_int_equal(auth_decide(AUTH_JWT, &c, &r), AUTH_NO_PROJECT);
}

static void
test_decide_app(void **state)
{
	char hash[AUTH_HASH_LEN + 1];
	struct auth_caller c = { "demo_app", "s3cret", "admin", NULL };
	struct auth_row r = row_with(1, "");

	(void)state;
	auth_hash("s3cret", 6, hash);
	r.app_found = r.app_enabled = 1;
	snprintf(r.secret_hash, sizeof(r.secret_hash), "%s", hash);
	assert_int_equal(auth_decide(AUTH_APP, &c, &r), AUTH_OK);
	c.app_secret = "s3cret ";
	assert_int_equal(auth_decide(AUTH_APP, &c, &r), AUTH_BAD_APP);
	c.app_secret = NULL;
	assert_int_equal(auth_decide(AUTH_APP, &c, &r), AUTH_BAD_APP);
	c.app_secret = "s3cret";
	r.app_enabled = 0;
	assert_int_equal(auth_decide(AUTH_APP, &c, &r), AUTH_BAD_APP);
	r.app_enabled = 1;
	c.token = "tok";
	r.token_found = r.token_live = 1;
	snprintf(r.token_user, sizeof(r.token_user), "alice");
	assert_int_equal(auth_decide(AUTH_APP, &c, &r), AUTH_BAD_USER);
	c.username = NULL;
	assert_int_equal(auth_decide(AUTH_APP, &c, &r), AUTH_OK);
	r.token_live = 0;
	assert_int_equal(auth_decide(AUTH_APP, &c, &r), AUTH_BAD_USER);
	/* A whitelist row does not make an app trusted outside jwt mode. */
	c.token = NULL;
	c.username = "bob";
	r = row_with(0, "demo_app");
	r.app_found = r.app_enabled = 1;
	snprintf(r.secret_hash, sizeof(r.secret_hash), "%s", hash);
	assert_int_equal(auth_decide(AUTH_APP, &c, &r), AUTH_DENIED);
}

struct ccase {
	const char *claims;
	int want;
	const char *app, *user, *why;
};

static const struct ccase ccases[] = {
	{ "{\"app\":{\"app_code\":\"a\",\"verified\":true},"
	  "\"user\":{\"username\":\"u\",\"verified\":true}}", AUTH_OK, "a", "u", NULL },
	{ "{\"app\":{\"bk_app_code\":\"b\",\"app_code\":\"a\",\"verified\":true},"
	  "\"user\":{\"bk_username\":\"v\",\"username\":\"u\",\"verified\":true}}",
	  AUTH_OK, "b", "v", NULL },
	{ "{\"user\":{\"username\":\"u\",\"verified\":true}}", AUTH_BAD_APP, NULL, NULL,
	  "claims have no app object" },
	{ "{\"app\":\"a\"}", AUTH_BAD_APP, NULL, NULL, "claims have no app object" },
	{ "{\"app\":{\"app_code\":\"a\",\"verified\":false}}", AUTH_BAD_APP, NULL, NULL,
	  "app.verified is not true" },
	{ "{\"app\":{\"app_code\":\"a\",\"verified\":1}}", AUTH_BAD_APP, NULL, NULL,
	  "app.verified is not true" },
	{ "{\"app\":{\"app_code\":7,\"verified\":true}}", AUTH_BAD_APP, NULL, NULL,
	  "app code missing or malformed" },
	{ "{\"app\":{\"bk_app_code\":null,\"app_code\":\"a\",\"verified\":true}}",
	  AUTH_BAD_APP, NULL, NULL, "app code missing or malformed" },
	{ "{\"app\":{\"app_code\":\"a\",\"verified\":true}}", AUTH_BAD_USER, NULL, NULL,
	  "claims have no user object" },
	{ "{\"app\":{\"app_code\":\"a\",\"verified\":true},"
	  "\"user\":{\"username\":\"u\"}}", AUTH_BAD_USER, NULL, NULL,
	  "user.verified is not true" },
	{ "{\"app\":{\"app_code\":\"a\",\"verified\":true},"
	  "\"user\":{\"username\":\"u \",\"verified\":true}}", AUTH_BAD_USER, NULL, NULL,
	  "username missing or malformed" },
	{ "{\"app\":{\"app_code\":\"a\",\"verified\":true},"
	  "\"user\":{\"username\":\"\",\"verified\":true}}", AUTH_BAD_USER, NULL, NULL,
	  "username missing or malformed" },
	{ "{\"app\":{\"app_code\":\"a\",\"verified\":true},"
	  "\"user\":{\"username\":\"bo\\u009bb\",\"verified\":true}}", AUTH_BAD_USER,
	  NULL, NULL, "username missing or malformed" },
	{ "{\"app\":{\"app_code\":\"a\\u0000\",\"verified\":true}}", AUTH_BAD_APP,
	  NULL, NULL, "app code missing or malformed" },
};

static void
test_jwt_caller(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ccases) / sizeof(*ccases); i++) {
		const struct ccase *c = &ccases[i];
		struct json_object *o = json_tokener_parse(c->claims);
		const char *app = NULL, *user = NULL;
		char why[128] = "";
		int v;

		assert_non_null(o);
		v = auth_jwt_caller(o, &app, &user, why, sizeof(why));
		if (v != c->want)
			fail_msg("case %zu: verdict %d, want %d (%s)", i, v,
			    c->want, why);
		if (v == AUTH_OK) {
			assert_string_equal(app, c->app);
			assert_string_equal(user, c->user);
		} else
			assert_string_equal(why, c->why);
		json_object_put(o);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trusted),
		cmocka_unit_test(test_decide_jwt),
		cmocka_unit_test(test_decide_app),
		cmocka_unit_test(test_jwt_caller),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
