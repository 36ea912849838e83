/*
 * The pure part of the request path: the route from the path, and the
 * request's fields from its JSON body (operate-node-api.md §1, §2). No
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
 * Checks the body object against operate-node-api.md §2 and the path
 * route. gateway_auth: credentials in the body are ignored. Returns 0, or
 * -1 with a message for code 3540000.
 */
int fields_parse(struct json_object *body, const struct route *r,
    int gateway_auth, struct fields *f, char *msg, size_t msglen);
void fields_free(struct fields *f);

#endif
