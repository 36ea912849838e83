/*
 * The pure part of the request path: the route from the path, and the
 * request's fields from its JSON body (README "The API"). No
 * I/O, so that unit tests and the fuzzer reach it.
 */
#ifndef FIELDS_H
#define FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "vocab.h"

enum route_kind {
	ROUTE_NONE,
	ROUTE_OPERATE,		/* .../operate_node/ */
	ROUTE_OPERATE_PATH,	/* .../operate_node/{bk_biz_id}/{task_id}/ */
	ROUTE_HEALTHZ,
	ROUTE_METRICS,
	ROUTE_STATUS,		/* the pool at a glance, as php-fpm's status */
};

struct route {
	enum route_kind kind;
	const char *biz, *task;		/* path segments, not terminated */
	size_t biz_len, task_len;
};

/* Matches the end of a path, so any mount prefix works. */
int route_parse(const char *path, size_t len, struct route *r);

enum scope { SCOPE_CMDB_BIZ, SCOPE_PROJECT };

/* A validated request. Strings point into the json-c body object; the
 * *_text members are malloc'd canonical JSON for the database. */
struct fields {
	int64_t biz_id, task_id;
	enum scope scope;
	int action;			/* index into the action table */
	const char *node_id, *flow_id, *converge_gateway_id;
	const char *app_code, *app_secret, *username, *token;
	int bad_app, bad_user;		/* a credential present but malformed */
	char *data_text, *inputs_text, *flow_ids_text;
};

/*
 * Checks the body object against README "The API"'s fields and the path
 * route. gateway_auth: credentials in the body are ignored. Returns 0, or
 * -1 with a message for code 3540000.
 */
int fields_parse(struct json_object *body, const struct route *r,
    int gateway_auth, struct fields *f, char *msg, size_t msglen);
void fields_free(struct fields *f);

/* X-Bkapi-Authorization: at most this many bytes. The largest header of
 * valid fields (two CRED_MAX credentials, a token and a USERNAME_MAX
 * username of 4-byte characters) is about 1.3 KB; 4 KB leaves room for
 * \u escapes and keys the service ignores, within nginx's default
 * large_client_header_buffers (8 KB). */
#define AUTH_HEADER_MAX 4096

/*
 * Auth mode app: the credentials of an X-Bkapi-Authorization header, as
 * BlueKing's API gateway reads them: a strict JSON object (lib/strictjson.h,
 * depth 1) of bk_app_code and bk_app_secret, and bk_username, bk_token or
 * access_token (taken as bk_token; not both), each a string by the rule of
 * its body field; other keys are ignored. On 0, f's app_code, app_secret,
 * username and token point into *obj, which the caller releases with
 * json_object_put(). Returns -1 for anything else (3540100 "app
 * authentication failed"); why says what was wrong and quotes no value.
 */
int fields_auth_header(const char *hdr, size_t len, struct fields *f,
    struct json_object **obj, char *why, size_t whylen);

#endif
