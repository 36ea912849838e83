/*
 * The operate_node request path: routes, fields, ids and replies. The pure
 * parts (route_parse, fields_parse) are separate from the FastCGI I/O so
 * that unit tests and the fuzzer can reach them.
 */
#ifndef REQUEST_H
#define REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define CODE_OK		0
#define CODE_PARAM	3540000		/* gcloud/err_code.py REQUEST_PARAM_INVALID */
#define CODE_FORBIDDEN	3540100		/* REQUEST_FORBIDDEN_INVALID */
#define CODE_NOT_EXIST	3540400		/* CONTENT_NOT_EXIST */
#define CODE_INVALID_OP	3545000		/* INVALID_OPERATION */
#define CODE_ENV	3555000		/* ENV_ERROR */
#define CODE_UNKNOWN	3599999		/* UNKNOWN_ERROR */

#define MSG_LEN 512
#define NODE_ID_MAX 64		/* operate-node-api.md §2 */
#define FLOW_ID_MAX 64
#define USERNAME_MAX 128	/* characters */
#define CRED_MAX 256		/* app code, secret, token: bytes */
#define FLOW_IDS_MAX 64		/* skip_cpg: flows of one gateway */

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
