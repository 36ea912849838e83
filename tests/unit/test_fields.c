/*
 * Routes and request fields (app/fields.c): every rule of
 * README "The API" that needs no database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fields.h"
#include "strictjson.h"

static void
test_routes(void **state)
{
	static const struct {
		const char *path;
		enum route_kind kind;
		const char *biz, *task;
	} cases[] = {
		{ "/operate_node/", ROUTE_OPERATE, NULL, NULL },
		{ "/operate_node", ROUTE_OPERATE, NULL, NULL },
		{ "/api/c/compapi/v2/sops/operate_node/", ROUTE_OPERATE, NULL, NULL },
		{ "/operate_node/2/12/", ROUTE_OPERATE_PATH, "2", "12" },
		{ "/operate_node/2/12", ROUTE_OPERATE_PATH, "2", "12" },
		{ "/prod/operate_node/2/12/", ROUTE_OPERATE_PATH, "2", "12" },
		{ "/operate_node/abc/12/", ROUTE_OPERATE_PATH, "abc", "12" },
		{ "/x/healthz", ROUTE_HEALTHZ, NULL, NULL },
		{ "/metrics", ROUTE_METRICS, NULL, NULL },
		{ "/pool/status/", ROUTE_STATUS, NULL, NULL },
		{ "/operate_node/2/", ROUTE_NONE, NULL, NULL },
		{ "/operate_node/2/12/x/", ROUTE_NONE, NULL, NULL },
		{ "/operate_node//12/", ROUTE_NONE, NULL, NULL },
		{ "/operate_nodes/", ROUTE_NONE, NULL, NULL },
		{ "operate_node", ROUTE_NONE, NULL, NULL },
		{ "", ROUTE_NONE, NULL, NULL },
		{ "/", ROUTE_NONE, NULL, NULL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct route r;
		int rc = route_parse(cases[i].path, strlen(cases[i].path), &r);
		if (cases[i].kind == ROUTE_NONE) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(r.kind, cases[i].kind);
		if (cases[i].biz) {
			assert_int_equal(r.biz_len, strlen(cases[i].biz));
			assert_memory_equal(r.biz, cases[i].biz, r.biz_len);
			assert_int_equal(r.task_len, strlen(cases[i].task));
			assert_memory_equal(r.task, cases[i].task, r.task_len);
		}
	}
}

#define CRED "\"bk_app_code\":\"a\",\"bk_app_secret\":\"s\",\"bk_username\":\"u\","

/* Parses body with the route of path; returns fields_parse's result. */
static int
parse(const char *path, const char *body, int gateway, struct fields *f,
    char *msg)
{
	struct route r;
	char err[256];
	struct json_object *o;
	int rc;

	assert_int_equal(route_parse(path, strlen(path), &r), 0);
	o = sj_parse(body, strlen(body), 32, err, sizeof(err));
	assert_non_null(o);
	rc = fields_parse(o, &r, gateway, f, msg, MSG_LEN);
	if (rc == 0)
		fields_free(f);
	json_object_put(o);
	return rc;
}

static void
test_valid(void **state)
{
	struct fields f;
	char msg[MSG_LEN];
	(void)state;

	assert_int_equal(parse("/operate_node/", "{" CRED "\"bk_biz_id\":\"2\","
	    "\"task_id\":\"12\",\"node_id\":\"n1\",\"action\":\"skip\"}", 0, &f,
	    msg), 0);
	assert_int_equal(f.biz_id, 2);
	assert_int_equal(f.task_id, 12);
	assert_int_equal(f.scope, SCOPE_CMDB_BIZ);
	assert_int_equal(parse("/operate_node/7/9/", "{" CRED "\"bk_biz_id\":7,"
	    "\"node_id\":\"n1\",\"action\":\"retry\",\"scope\":\"project\","
	    "\"inputs\":{\"a\":1,\"_escape_render_keys\":[\"a\"]}}", 0, &f,
	    msg), 0);
	assert_int_equal(f.biz_id, 7);
	assert_int_equal(f.task_id, 9);
	assert_int_equal(f.scope, SCOPE_PROJECT);
	/* gateway mode: no credentials needed in the body */
	assert_int_equal(parse("/operate_node/1/1/", "{\"node_id\":\"n\","
	    "\"action\":\"skip_exg\",\"flow_id\":\"f\"}", 1, &f, msg), 0);
	/* the largest id */
	assert_int_equal(parse("/operate_node/", "{" CRED "\"bk_biz_id\":"
	    "9223372036854775807,\"task_id\":\"9223372036854775807\","
	    "\"node_id\":\"n\",\"action\":\"skip\"}", 0, &f, msg), 0);
	assert_int_equal(f.task_id, INT64_MAX);
}

static void
test_refused(void **state)
{
	static const struct {
		const char *path, *body, *msg;
	} cases[] = {
		{ "/operate_node/", "{" CRED "\"task_id\":1,\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_biz_id is required" },
		{ "/operate_node/", "{" CRED "\"bk_biz_id\":1,\"node_id\":\"n\",\"action\":\"skip\"}",
		  "task_id is required" },
		{ "/operate_node/", "{" CRED "\"bk_biz_id\":0,\"task_id\":1,\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_biz_id must be a positive integer" },
		{ "/operate_node/", "{" CRED "\"bk_biz_id\":-2,\"task_id\":1,\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_biz_id must be a positive integer" },
		{ "/operate_node/", "{" CRED "\"bk_biz_id\":1.5,\"task_id\":1,\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_biz_id must be a positive integer" },
		{ "/operate_node/", "{" CRED "\"bk_biz_id\":\"1x\",\"task_id\":1,\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_biz_id must be a positive integer" },
		{ "/operate_node/", "{" CRED "\"bk_biz_id\":\" 1\",\"task_id\":1,\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_biz_id must be a positive integer" },
		{ "/operate_node/", "{" CRED "\"bk_biz_id\":true,\"task_id\":1,\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_biz_id must be a positive integer" },
		{ "/operate_node/", "{" CRED "\"bk_biz_id\":\"9223372036854775808\",\"task_id\":1,\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_biz_id must be a positive integer" },
		{ "/operate_node/", "{" CRED "\"bk_biz_id\":1,\"task_id\":null,\"node_id\":\"n\",\"action\":\"skip\"}",
		  "task_id must be a positive integer" },
		{ "/operate_node/x/1/", "{" CRED "\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_biz_id in the path must be a positive integer, got \"x\"" },
		{ "/operate_node/1/0/", "{" CRED "\"node_id\":\"n\",\"action\":\"skip\"}",
		  "task_id in the path must be a positive integer, got \"0\"" },
		{ "/operate_node/1/2/", "{" CRED "\"bk_biz_id\":\"3\",\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_biz_id in the path (1) and in the body (3) disagree" },
		{ "/operate_node/1/2/", "{" CRED "\"task_id\":5,\"node_id\":\"n\",\"action\":\"skip\"}",
		  "task_id in the path (2) and in the body (5) disagree" },
		{ "/operate_node/1/2/", "{" CRED "\"scope\":\"biz\",\"node_id\":\"n\",\"action\":\"skip\"}",
		  "scope must be \"cmdb_biz\" or \"project\"" },
		{ "/operate_node/1/2/", "{" CRED "\"scope\":null,\"node_id\":\"n\",\"action\":\"skip\"}",
		  "scope must be \"cmdb_biz\" or \"project\"" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"n\"}", "action is required" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"n\",\"action\":1}", "action must be a string" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"n\",\"action\":\"Retry\"}",
		  "action(Retry) is not supported" },
		{ "/operate_node/1/2/", "{" CRED "\"action\":\"skip\"}", "node_id is required" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"\",\"action\":\"skip\"}",
		  "node_id must be a string of 1 to 64 bytes" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"a\\nb\",\"action\":\"skip\"}",
		  "node_id must be a string of 1 to 64 bytes" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"12345678901234567890123456789012345678901234567890123456789012345\",\"action\":\"skip\"}",
		  "node_id must be a string of 1 to 64 bytes" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"n1 \",\"action\":\"skip\"}",
		  "node_id must not end with a space" },
		{ "/operate_node/1/2/", "{\"bk_app_code\":\"a\",\"bk_app_secret\":\"s\",\"bk_username\":\"alice \",\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_username must not end with a space" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":7,\"action\":\"skip\"}",
		  "node_id must be a string of 1 to 64 bytes" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"n\",\"action\":\"callback\",\"data\":[]}",
		  "data must be an object" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"n\",\"action\":\"skip\",\"data\":null}",
		  "data must be an object" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"n\",\"action\":\"retry\",\"inputs\":\"x\"}",
		  "inputs must be an object" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"n\",\"action\":\"retry\",\"inputs\":{\"_escape_render_keys\":\"a\"}}",
		  "inputs._escape_render_keys must be an array of strings" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"n\",\"action\":\"retry\",\"inputs\":{\"_escape_render_keys\":[1]}}",
		  "inputs._escape_render_keys must be an array of strings" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"n\",\"action\":\"skip_exg\"}",
		  "flow_id is required for skip_exg" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"n\",\"action\":\"skip_exg\",\"flow_id\":\"\"}",
		  "flow_id must be a string of 1 to 64 bytes" },
		{ "/operate_node/1/2/", "{\"bk_app_secret\":\"s\",\"bk_username\":\"u\",\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_app_code is required" },
		{ "/operate_node/1/2/", "{\"bk_app_code\":\"a\",\"bk_username\":\"u\",\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_app_secret is required" },
		{ "/operate_node/1/2/", "{\"bk_app_code\":1,\"bk_app_secret\":\"s\",\"bk_username\":\"u\",\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_app_code must be a string" },
		{ "/operate_node/1/2/", "{\"bk_app_code\":\"a\",\"bk_app_secret\":\"s\",\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_username or bk_token is required" },
		{ "/operate_node/1/2/", "{\"bk_app_code\":\"a\",\"bk_app_secret\":\"s\",\"bk_username\":\"\",\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_username must be a string of 1 to 128 characters" },
		/* C1 controls are control characters too (lib/text.h) */
		{ "/operate_node/1/2/", "{\"bk_app_code\":\"a\",\"bk_app_secret\":\"s\",\"bk_username\":\"bo\\u009bb\",\"node_id\":\"n\",\"action\":\"skip\"}",
		  "bk_username must be a string of 1 to 128 characters without control characters" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"n\\u0085\",\"action\":\"skip\"}",
		  "node_id must be a string of 1 to 64 bytes without control characters" },
		{ "/operate_node/1/2/", "{" CRED "\"node_id\":\"n\",\"action\":\"skip_cpg\",\"flow_ids\":[\"f\\u0001\"],\"converge_gateway_id\":\"c\"}",
		  "flow_ids must be a non-empty array of at most 64 flow id strings of 1 to 64 bytes" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct fields f;
		char msg[MSG_LEN] = "";
		int rc = parse(cases[i].path, cases[i].body, 0, &f, msg);
		if (rc != -1 || strncmp(msg, cases[i].msg, strlen(cases[i].msg)))
			fail_msg("case %zu %s: rc %d, message \"%s\", want \"%s\"",
			    i, cases[i].body, rc, msg, cases[i].msg);
	}
}

/* 128 characters, not bytes: a CJK name of 128 characters is 384 bytes. */
static void
test_username_chars(void **state)
{
	char body[2048], name[1024] = "";
	struct fields f;
	char msg[MSG_LEN];
	(void)state;

	for (int i = 0; i < 128; i++)
		strcat(name, "\xe7\x8e\x8b");	/* 王 */
	snprintf(body, sizeof(body), "{\"bk_app_code\":\"a\",\"bk_app_secret\":"
	    "\"s\",\"bk_username\":\"%s\",\"node_id\":\"n\",\"action\":\"skip\"}",
	    name);
	assert_int_equal(parse("/operate_node/1/2/", body, 0, &f, msg), 0);
	strcat(name, "\xe7\x8e\x8b");
	snprintf(body, sizeof(body), "{\"bk_app_code\":\"a\",\"bk_app_secret\":"
	    "\"s\",\"bk_username\":\"%s\",\"node_id\":\"n\",\"action\":\"skip\"}",
	    name);
	assert_int_equal(parse("/operate_node/1/2/", body, 0, &f, msg), -1);
}

/* X-Bkapi-Authorization: the credentials, or -1 with a reason that
 * quotes nothing of the header. */
static void
test_auth_header(void **state)
{
	static const struct {
		const char *hdr;
		int rc;
		const char *user, *token;
	} cases[] = {
		{ "{\"bk_app_code\":\"a\",\"bk_app_secret\":\"s\","
		    "\"bk_username\":\"u\"}", 0, "u", NULL },
		{ "{\"bk_app_code\":\"a\",\"bk_app_secret\":\"s\","
		    "\"access_token\":\"t\",\"other\":1}", 0, NULL, "t" },
		{ "{\"bk_app_code\":\"a\",\"bk_app_secret\":\"s\","
		    "\"bk_token\":\"t\",\"access_token\":\"t\"}", -1, NULL, NULL },
		{ "{\"bk_app_code\":\"a\",\"bk_app_secret\":\"s\"}", -1, NULL,
		    NULL },
		{ "{\"bk_app_code\":\"a\",\"bk_app_code\":\"a\","
		    "\"bk_app_secret\":\"SECRET\",\"bk_username\":\"u\"}", -1,
		    NULL, NULL },
		{ "{\"bk_app_code\":\"a\",\"bk_app_secret\":[\"SECRET\"],"
		    "\"bk_username\":\"u\"}", -1, NULL, NULL },
		{ "[]", -1, NULL, NULL },
		{ "SECRET", -1, NULL, NULL },
	};
	char why[160], big[AUTH_HEADER_MAX + 2];
	struct json_object *o;
	struct fields f;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		memset(&f, 0, sizeof(f));
		assert_int_equal(fields_auth_header(cases[i].hdr,
		    strlen(cases[i].hdr), &f, &o, why, sizeof(why)), cases[i].rc);
		if (cases[i].rc == 0) {
			assert_string_equal(f.app_code, "a");
			assert_string_equal(f.app_secret, "s");
			if (cases[i].user)
				assert_string_equal(f.username, cases[i].user);
			if (cases[i].token)
				assert_string_equal(f.token, cases[i].token);
			json_object_put(o);
		} else {
			assert_null(o);
			assert_null(f.app_secret);
			assert_null(strstr(why, "SECRET"));
		}
	}
	/* AUTH_HEADER_MAX bytes are read; one more is refused unread. */
	snprintf(big, sizeof(big), "{\"bk_app_code\":\"a\",\"bk_app_secret\""
	    ":\"s\",\"bk_username\":\"u\",\"pad\":\"%*s\"}",
	    AUTH_HEADER_MAX - 66, "");
	assert_int_equal(strlen(big), AUTH_HEADER_MAX);
	assert_int_equal(fields_auth_header(big, strlen(big), &f, &o, why,
	    sizeof(why)), 0);
	json_object_put(o);
	memmove(big + 1, big, AUTH_HEADER_MAX + 1);
	big[0] = ' ';
	assert_int_equal(fields_auth_header(big, strlen(big), &f, &o, why,
	    sizeof(why)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_username_chars),
		cmocka_unit_test(test_auth_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
