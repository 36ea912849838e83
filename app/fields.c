/*
 * Routes and request fields: everything between the raw FastCGI params and
 * a validated request, with no I/O, so unit tests and the fuzzer reach it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "fields.h"
#include "num.h"
#include "strictjson.h"
#include "text.h"

/* Messages quote request values: keep them one printable line. */
static void
sanitize(char *msg)
{
	for (; *msg; msg++)
		if ((unsigned char)*msg < 0x20 || *msg == 0x7f)
			*msg = '?';
}

/* The last n segments of path, split on '/', ignoring one trailing '/'. */
static int
last_segments(const char *path, size_t len, const char **seg, size_t *seglen,
    int n)
{
	if (len > 0 && path[len - 1] == '/')
		len--;
	for (int i = n - 1; i >= 0; i--) {
		size_t end = len;
		while (len > 0 && path[len - 1] != '/')
			len--;
		if (len == 0 || end == len)
			return -1;	/* no '/' before it, or an empty segment */
		seg[i] = path + len;
		seglen[i] = end - len;
		len--;			/* the '/' */
	}
	return 0;
}

static int
seg_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

int
route_parse(const char *path, size_t len, struct route *r)
{
	const char *seg[3];
	size_t sl[3];

	memset(r, 0, sizeof(*r));
	r->kind = ROUTE_NONE;
	if (last_segments(path, len, seg, sl, 1) == 0) {
		if (seg_is(seg[0], sl[0], "operate_node"))
			r->kind = ROUTE_OPERATE;
		else if (seg_is(seg[0], sl[0], "healthz"))
			r->kind = ROUTE_HEALTHZ;
		else if (seg_is(seg[0], sl[0], "metrics"))
			r->kind = ROUTE_METRICS;
		else if (seg_is(seg[0], sl[0], "status"))
			r->kind = ROUTE_STATUS;
		if (r->kind != ROUTE_NONE)
			return 0;
	}
	if (last_segments(path, len, seg, sl, 3) == 0 &&
	    seg_is(seg[0], sl[0], "operate_node")) {
		r->kind = ROUTE_OPERATE_PATH;
		r->biz = seg[1];
		r->biz_len = sl[1];
		r->task = seg[2];
		r->task_len = sl[2];
		return 0;
	}
	return -1;
}

void
fields_free(struct fields *f)
{
	free(f->data_text);
	free(f->inputs_text);
	free(f->flow_ids_text);
	f->data_text = f->inputs_text = f->flow_ids_text = NULL;
}

/* A positive id from the path, the body, or both (which must agree). */
static int
id_field(struct json_object *body, const char *name, const char *pv,
    size_t plen, int64_t *out, char *msg, size_t msglen)
{
	struct json_object *v;
	int64_t bodyval = 0, pathval = 0;
	int inbody = json_object_object_get_ex(body, name, &v);
	char why[64];

	if (pv != NULL && num_parse_i64(pv, plen, 1, INT64_MAX, &pathval, why,
	    sizeof(why)) == -1) {
		snprintf(msg, msglen, "%s in the path must be a positive "
		    "integer, got \"%.*s\"", name, (int)(plen > 32 ? 32 : plen), pv);
		sanitize(msg);
		return -1;
	}
	if (inbody) {
		enum json_type t = json_object_get_type(v);
		if (t == json_type_int) {
			bodyval = json_object_get_int64(v);
			if (bodyval < 1)
				goto type;
		} else if (t == json_type_string) {
			if (num_parse_i64(json_object_get_string(v),
			    (size_t)json_object_get_string_len(v), 1, INT64_MAX,
			    &bodyval, why, sizeof(why)) == -1)
				goto type;
		} else
			goto type;
	}
	if (!inbody && pv == NULL) {
		snprintf(msg, msglen, "%s is required", name);
		return -1;
	}
	if (inbody && pv != NULL && bodyval != pathval) {
		snprintf(msg, msglen, "%s in the path (%lld) and in the body "
		    "(%lld) disagree", name, (long long)pathval,
		    (long long)bodyval);
		return -1;
	}
	*out = inbody ? bodyval : pathval;
	return 0;
type:
	snprintf(msg, msglen, "%s must be a positive integer or a string of "
	    "digits, at most 9223372036854775807", name);
	return -1;
}

/*
 * An optional string: absent leaves *out NULL; present must be text
 * (lib/text.h) of 1 to max characters, or bytes with TEXT_BYTES.
 */
static int
str_field(struct json_object *body, const char *name, size_t max,
    unsigned flags, const char **out, char *msg, size_t msglen)
{
	struct json_object *v;
	enum text_fault fault;

	*out = NULL;
	if (!json_object_object_get_ex(body, name, &v))
		return 0;
	if (json_object_get_type(v) != json_type_string)
		goto bad;
	fault = text_check(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), max, flags);
	if (fault == TEXT_OK) {
		*out = json_object_get_string(v);
		return 0;
	}
	if (fault == TEXT_SPACE) {
		snprintf(msg, msglen, "%s must not end with a space", name);
		return -1;
	}
bad:
	snprintf(msg, msglen, "%s must be a string of 1 to %zu %s without "
	    "control characters", name, max,
	    flags & TEXT_BYTES ? "bytes" : "characters");
	return -1;
}

/* An optional object, stored as canonical JSON text. */
static int
object_field(struct json_object *body, const char *name, char **out,
    struct json_object **obj, char *msg, size_t msglen)
{
	struct json_object *v;
	size_t n;

	*out = NULL;
	if (obj)
		*obj = NULL;
	if (!json_object_object_get_ex(body, name, &v))
		return 0;
	if (json_object_get_type(v) != json_type_object) {
		snprintf(msg, msglen, "%s must be an object", name);
		return -1;
	}
	if (obj)
		*obj = v;
	*out = sj_to_text(v, &n);
	return 0;
}

/* inputs._escape_render_keys, if present, is an array of strings. */
static int
check_escape_keys(struct json_object *inputs, char *msg, size_t msglen)
{
	struct json_object *v;

	if (inputs == NULL ||
	    !json_object_object_get_ex(inputs, "_escape_render_keys", &v))
		return 0;
	if (json_object_get_type(v) == json_type_array) {
		size_t n = json_object_array_length(v), i;
		for (i = 0; i < n; i++)
			if (json_object_get_type(json_object_array_get_idx(v, i))
			    != json_type_string)
				break;
		if (i == n)
			return 0;
	}
	snprintf(msg, msglen, "inputs._escape_render_keys must be an array of "
	    "strings");
	return -1;
}

/* skip_cpg's flow_ids: a non-empty array of distinct flow id strings. */
static int
flow_ids_field(struct json_object *body, char **out, char *msg, size_t msglen)
{
	struct json_object *v;
	size_t n;

	*out = NULL;
	if (!json_object_object_get_ex(body, "flow_ids", &v)) {
		snprintf(msg, msglen, "flow_ids is required for skip_cpg");
		return -1;
	}
	if (json_object_get_type(v) != json_type_array ||
	    (n = json_object_array_length(v)) == 0 || n > FLOW_IDS_MAX)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		if (json_object_get_type(e) != json_type_string)
			goto bad;
		if (text_check(json_object_get_string(e),
		    (size_t)json_object_get_string_len(e), FLOW_ID_MAX,
		    TEXT_BYTES) != TEXT_OK)
			goto bad;
		for (size_t j = 0; j < i; j++)
			if (strcmp(json_object_get_string(e), json_object_get_string(
			    json_object_array_get_idx(v, j))) == 0) {
				snprintf(msg, msglen, "flow_ids lists flow(%.64s) "
				    "twice", json_object_get_string(e));
				sanitize(msg);
				return -1;
			}
	}
	*out = sj_to_text(v, &n);
	return 0;
bad:
	snprintf(msg, msglen, "flow_ids must be a non-empty array of at most %d "
	    "flow id strings of 1 to %d bytes", FLOW_IDS_MAX, FLOW_ID_MAX);
	return -1;
}

static int
scope_field(struct json_object *body, enum scope *out, char *msg, size_t msglen)
{
	const char *s;

	*out = SCOPE_CMDB_BIZ;
	if (str_field(body, "scope", 64, TEXT_BYTES, &s, msg, msglen) == -1 ||
	    (s && strcmp(s, "cmdb_biz") != 0 && strcmp(s, "project") != 0)) {
		snprintf(msg, msglen, "scope must be \"cmdb_biz\" or \"project\"");
		return -1;
	}
	if (s && strcmp(s, "project") == 0)
		*out = SCOPE_PROJECT;
	return 0;
}

static int
action_field(struct json_object *body, int *out, char *msg, size_t msglen)
{
	struct json_object *v;

	if (!json_object_object_get_ex(body, "action", &v)) {
		snprintf(msg, msglen, "action is required");
		return -1;
	}
	if (json_object_get_type(v) != json_type_string) {
		snprintf(msg, msglen, "action must be a string");
		return -1;
	}
	*out = action_find(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v));
	if (*out == -1) {
		snprintf(msg, msglen, "action(%.32s) is not supported",
		    json_object_get_string(v));
		sanitize(msg);
		return -1;
	}
	return 0;
}

/*
 * A credential: absent leaves *out NULL, and anything but a string is a
 * field error. A string of the wrong shape (not text of 1 to CRED_MAX
 * bytes, lib/text.h) is a credential that is present but wrong:
 * *bad is set, for 3540100 after the fields, and the reply does not say
 * how a secret is shaped (README "Authentication").
 */
static int
secret_field(struct json_object *body, const char *name, const char **out,
    int *bad, char *msg, size_t msglen)
{
	struct json_object *v;
	char ignored[8];

	*out = NULL;
	if (!json_object_object_get_ex(body, name, &v))
		return 0;
	if (json_object_get_type(v) != json_type_string) {
		snprintf(msg, msglen, "%s must be a string", name);
		return -1;
	}
	if (str_field(body, name, CRED_MAX, TEXT_BYTES, out, ignored,
	    sizeof(ignored)) == -1) {
		*bad = 1;
		*out = "";
	}
	return 0;
}

/* Auth mode app: app code and secret, and a user or a token. */
static int
credential_fields(struct json_object *body, struct fields *f, char *msg,
    size_t msglen)
{
	if (secret_field(body, "bk_app_code", &f->app_code, &f->bad_app, msg,
	    msglen) == -1 ||
	    secret_field(body, "bk_app_secret", &f->app_secret, &f->bad_app,
	    msg, msglen) == -1 ||
	    str_field(body, "bk_username", USERNAME_MAX, 0, &f->username,
	    msg, msglen) == -1 ||
	    secret_field(body, "bk_token", &f->token, &f->bad_user, msg,
	    msglen) == -1)
		return -1;
	if (f->app_code == NULL || f->app_secret == NULL) {
		snprintf(msg, msglen, "%s is required",
		    f->app_code == NULL ? "bk_app_code" : "bk_app_secret");
		return -1;
	}
	if (f->username == NULL && f->token == NULL) {
		snprintf(msg, msglen, "bk_username or bk_token is required");
		return -1;
	}
	return 0;
}

/* A credential of the header: absent is NULL; present, a string by the
 * rule of its body field, else -1. */
static int
header_cred(struct json_object *o, const char *name, size_t max,
    unsigned flags, const char **out, char *why, size_t whylen)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (json_object_get_type(v) != json_type_string ||
	    text_check(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), max, flags) != TEXT_OK) {
		snprintf(why, whylen, "%s is not a string of 1 to %zu %s "
		    "without control characters", name, max,
		    flags & TEXT_BYTES ? "bytes" : "characters");
		return -1;
	}
	*out = json_object_get_string(v);
	return 0;
}

int
fields_auth_header(const char *hdr, size_t len, struct fields *f,
    struct json_object **obj, char *why, size_t whylen)
{
	const char *access = NULL;
	char err[128];

	*obj = NULL;
	f->app_code = f->app_secret = f->username = f->token = NULL;
	f->bad_app = f->bad_user = 0;
	if (len > AUTH_HEADER_MAX) {
		snprintf(why, whylen, "larger than %d bytes", AUTH_HEADER_MAX);
		goto fail;
	}
	/* Depth 1: every credential is a string. The parser's reason may
	 * quote the header: only that it is not JSON is said. */
	if ((*obj = sj_parse(hdr, len, 1, err, sizeof(err))) == NULL) {
		snprintf(why, whylen, "not a flat, strict JSON object");
		goto fail;
	}
	if (header_cred(*obj, "bk_app_code", CRED_MAX, TEXT_BYTES,
	    &f->app_code, why, whylen) == -1 ||
	    header_cred(*obj, "bk_app_secret", CRED_MAX, TEXT_BYTES,
	    &f->app_secret, why, whylen) == -1 ||
	    header_cred(*obj, "bk_username", USERNAME_MAX, 0, &f->username,
	    why, whylen) == -1 ||
	    header_cred(*obj, "bk_token", CRED_MAX, TEXT_BYTES, &f->token, why,
	    whylen) == -1 ||
	    header_cred(*obj, "access_token", CRED_MAX, TEXT_BYTES, &access,
	    why, whylen) == -1)
		goto fail;
	if (f->app_code == NULL || f->app_secret == NULL) {
		snprintf(why, whylen, "no %s", f->app_code == NULL ?
		    "bk_app_code" : "bk_app_secret");
		goto fail;
	}
	if (access && f->token) {
		snprintf(why, whylen, "both bk_token and access_token");
		goto fail;
	}
	if (access)
		f->token = access;
	if (f->username == NULL && f->token == NULL) {
		snprintf(why, whylen, "no bk_username, bk_token or "
		    "access_token");
		goto fail;
	}
	return 0;
fail:
	if (*obj)
		json_object_put(*obj);
	*obj = NULL;
	f->app_code = f->app_secret = f->username = f->token = NULL;
	return -1;
}

int
fields_parse(struct json_object *body, const struct route *r,
    int gateway_auth, struct fields *f, char *msg, size_t msglen)
{
	struct json_object *inputs;
	int fl;

	memset(f, 0, sizeof(*f));
	if (id_field(body, "bk_biz_id", r->biz, r->biz_len, &f->biz_id, msg,
	    msglen) == -1 ||
	    id_field(body, "task_id", r->task, r->task_len, &f->task_id, msg,
	    msglen) == -1 ||
	    scope_field(body, &f->scope, msg, msglen) == -1 ||
	    action_field(body, &f->action, msg, msglen) == -1)
		goto fail;
	if (str_field(body, "node_id", NODE_ID_MAX, TEXT_BYTES, &f->node_id, msg,
	    msglen) == -1)
		goto fail;
	if (f->node_id == NULL) {
		snprintf(msg, msglen, "node_id is required");
		goto fail;
	}
	if (object_field(body, "data", &f->data_text, NULL, msg, msglen) == -1 ||
	    object_field(body, "inputs", &f->inputs_text, &inputs, msg,
	    msglen) == -1 ||
	    check_escape_keys(inputs, msg, msglen) == -1 ||
	    str_field(body, "flow_id", FLOW_ID_MAX, TEXT_BYTES, &f->flow_id, msg,
	    msglen) == -1)
		goto fail;
	fl = action_at(f->action)->fields;
	if ((fl & AF_FLOW_ID) && f->flow_id == NULL) {
		snprintf(msg, msglen, "flow_id is required for %s",
		    action_at(f->action)->name);
		goto fail;
	}
	if (fl & AF_FLOW_IDS) {
		if (flow_ids_field(body, &f->flow_ids_text, msg, msglen) == -1 ||
		    str_field(body, "converge_gateway_id", NODE_ID_MAX,
		    TEXT_BYTES, &f->converge_gateway_id, msg, msglen) == -1)
			goto fail;
		if (f->converge_gateway_id == NULL) {
			snprintf(msg, msglen, "converge_gateway_id is required "
			    "for %s", action_at(f->action)->name);
			goto fail;
		}
	}
	if (!gateway_auth && credential_fields(body, f, msg, msglen) == -1)
		goto fail;
	return 0;
fail:
	fields_free(f);
	return -1;
}
