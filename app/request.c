/*
 * One request, from FastCGI params and body to the reply: ids, route,
 * method, body limit, strict JSON, fields, auth, scope, permission, the
 * action's CALL, and the JSON reply with its headers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions.h"
#include "auth.h"
#include "buf.h"
#include "clock.h"
#include "conn.h"
#include "dispatch.h"
#include "fields.h"
#include "gwkey.h"
#include "ids.h"
#include "jwt.h"
#include "log.h"
#include "num.h"
#include "request.h"
#include "strictjson.h"
#include "text.h"
#include "xmalloc.h"

#define PATH_MAX_LEN 4096
#define READ_CHUNK 16384
#define LOG_LIMIT_S 10		/* read timeouts: one line per this long */
/* The read deadline of a peer's connection beyond peer_reading_max: a web
 * server has written the whole request before the worker accepts it (1
 * MiB over loopback takes about 1 ms to read), so only a peer that stalls
 * needs longer, and each of those then holds a worker this long. */
#define PEER_EXCESS_MS 50

struct ctx {
	FCGX_Request *req;
	struct request_env *w;
	char request_id[ID_REQUEST_MAX + 1];
	char trace_id[ID_HEX_LEN + 1];
	int caller_id;			/* request_id came from the caller */
	int action;			/* for metrics and the log: -1 if none */
	const char *operator;
	const char *app;		/* the authenticated app: keys replays */
	long long task_id;		/* of a parsed body, for the log: or 0 */
	char node_id[72];		/* of a parsed body, for the log: or "" */
	struct outcome out;
	char details[STORE_DETAILS_LEN];	/* what the action did, or "" */
};

static const char *
param(struct ctx *c, const char *name)
{
	return FCGX_GetParam(name, c->req->envp);
}

/* README "The API": the first valid caller id, else a fresh one. */
static void
pick_ids(struct ctx *c)
{
	static const char *const names[] = { "HTTP_X_BKAPI_REQUEST_ID",
		"HTTP_X_REQUEST_ID", "REQUEST_ID" };
	const char *tp = param(c, "HTTP_TRACEPARENT");

	c->caller_id = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		const char *v = param(c, names[i]);
		if (v && id_request_valid(v)) {
			snprintf(c->request_id, sizeof(c->request_id), "%s", v);
			c->caller_id = 1;
			break;
		}
	}
	if (!c->caller_id)
		id_random_hex(c->request_id);
	if (tp == NULL || id_traceparent(tp, c->trace_id) == -1)
		id_random_hex(c->trace_id);
}

static const char *
status_text(int http)
{
	switch (http) {
	case 200: return "OK";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 499: return "Client Closed Request";	/* nginx's, for the log */
	case 503: return "Service Unavailable";
	}
	return "Internal Server Error";
}

static void
put(struct ctx *c, const struct buf *b)
{
	/* A write to a client that left fails with EPIPE (ignored); what
	 * was applied stays applied. */
	FCGX_PutStr(b->data, (int)b->len, c->req->out);
}

static void
reply_json(struct ctx *c, const char *allow)
{
	struct buf b;
	const struct outcome *o = &c->out;

	buf_init(&b);
	buf_printf(&b, "Status: %d %s\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Request-Id: %s\r\nX-Trace-Id: %s\r\n",
	    o->http, status_text(o->http), c->request_id, c->trace_id);
	if (allow)
		buf_printf(&b, "Allow: %s\r\n", allow);
	buf_adds(&b, "\r\n");
	if (o->code == CODE_OK)
		buf_adds(&b, "{\"result\":true,\"data\":\"success\",\"code\":0,"
		    "\"message\":\"success\"");
	else {
		buf_printf(&b, "{\"result\":false,\"data\":null,\"code\":%d,"
		    "\"message\":", o->code);
		buf_add_json_str(&b, o->msg, strlen(o->msg));
	}
	/* Both ids are printable ASCII without '"' or '\\' (ids.h). */
	buf_printf(&b, ",\"request_id\":\"%s\",\"trace_id\":\"%s\"}\n",
	    c->request_id, c->trace_id);
	put(c, &b);
	buf_free(&b);
}

static void
fail(struct ctx *c, int http, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
fail(struct ctx *c, int http, int code, const char *fmt, ...)
{
	va_list ap;

	c->out.http = http;
	c->out.code = code;
	va_start(ap, fmt);
	vsnprintf(c->out.msg, sizeof(c->out.msg), fmt, ap);
	va_end(ap);
}

/* The path the web server was asked for, without the query string. */
static int
request_path(struct ctx *c, char *out, size_t outlen)
{
	const char *p = param(c, "DOCUMENT_URI");	/* nginx, decoded */
	size_t n;

	if (p == NULL || *p == '\0') {
		p = param(c, "REQUEST_URI");		/* Apache, raw */
		if (p == NULL || *p == '\0') {
			const char *sn = param(c, "SCRIPT_NAME");
			const char *pi = param(c, "PATH_INFO");
			if (snprintf(out, outlen, "%s%s", sn ? sn : "",
			    pi ? pi : "") >= (int)outlen)
				return -1;
			return 0;
		}
	}
	n = strcspn(p, "?");
	if (n >= outlen)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/*
 * Reads the body, refusing one over the limit before reading it. Returns
 * a malloc'd buffer (NUL-terminated for convenience) or NULL with c->out.
 */
static char *
read_body(struct ctx *c, size_t *len)
{
	int64_t limit = c->w->cfg->max_body_bytes, want = -1;
	const char *cl = param(c, "CONTENT_LENGTH");
	char why[64];
	size_t cap, n = 0;
	char *body;

	if (cl && *cl && num_parse_i64(cl, strlen(cl), 0, INT64_MAX, &want,
	    why, sizeof(why)) == -1) {
		fail(c, 200, CODE_PARAM, "Content-Length is not a number");
		return NULL;
	}
	if (want > limit) {
		fail(c, 413, CODE_PARAM, "body is larger than max_body_bytes "
		    "(%lld bytes)", (long long)limit);
		return NULL;
	}
	/* Without a Content-Length, read to the end, but never past limit. */
	cap = want >= 0 ? (size_t)want : READ_CHUNK;
	body = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (want >= 0 || (int64_t)cap > limit)
				break;
			cap *= 2;
			body = xrealloc(body, cap + 1);
		}
		size_t chunk = cap - n > READ_CHUNK ? READ_CHUNK : cap - n;
		int r = FCGX_GetStr(body + n, (int)chunk, c->req->in);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (want < 0 && (int64_t)n > limit) {
		free(body);
		fail(c, 413, CODE_PARAM, "body is larger than max_body_bytes "
		    "(%lld bytes)", (long long)limit);
		return NULL;
	}
	if (want >= 0 && (int64_t)n != want) {
		free(body);
		fail(c, 200, CODE_PARAM, "body is shorter than its Content-Length");
		return NULL;
	}
	/* Up to the end of stdin, within the read deadline: what follows it
	 * can only be an abort (conn_gone). Bytes past Content-Length are
	 * ignored, as they always were. */
	while (want >= 0 && FCGX_GetChar(c->req->in) != EOF)
		;
	body[n] = '\0';
	*len = n;
	return body;
}

/* gateway mode: the app and user a gateway in front passes as headers,
 * with the limits of the body's bk_app_code and bk_username. */
static int
gateway_caller(struct ctx *c, struct auth_caller *who)
{
	const char *app = param(c, "HTTP_X_BKAPI_APP_CODE");
	const char *user = param(c, "HTTP_X_BKAPI_USERNAME");

	if (app == NULL || text_check(app, strlen(app), CRED_MAX,
	    TEXT_BYTES) != TEXT_OK) {
		fail(c, 200, CODE_FORBIDDEN, "app authentication failed");
		return -1;
	}
	if (user == NULL || text_check(user, strlen(user), USERNAME_MAX,
	    0) != TEXT_OK) {
		fail(c, 200, CODE_FORBIDDEN, "user authentication failed");
		return -1;
	}
	who->app_code = app;
	who->username = user;
	return 0;
}

/*
 * jwt mode: the app and user of the gateway's signed X-Bkapi-JWT header.
 * Why a token was refused goes to the log, never the token itself; the
 * reply says only "app" or "user" (README "Authentication").
 */
static int
jwt_caller(struct ctx *c, struct json_object **claims, struct auth_caller *who)
{
	const char *token = param(c, "HTTP_X_BKAPI_JWT");
	const struct jwt_key *key;
	enum auth_verdict v = AUTH_BAD_APP;
	char why[128];

	if (token == NULL || *token == '\0') {
		snprintf(why, sizeof(why), "no X-Bkapi-JWT header");
		goto refused;
	}
	if ((key = gwkey_get(c->w->gwkey, c->w->store, &c->out)) == NULL)
		return -1;
	*claims = jwt_verify(token, key, time(NULL), why, sizeof(why));
	if (*claims == NULL)
		goto refused;
	if (auth_jwt_claims(*claims, c->w->cfg->jwt_issuer,
	    c->w->cfg->jwt_audience, (long long)c->w->cfg->jwt_max_lifetime,
	    (long long)time(NULL), why, sizeof(why)) == -1)
		goto refused;
	v = auth_jwt_caller(*claims, &who->app_code, &who->username, why,
	    sizeof(why));
	if (v == AUTH_OK)
		return 0;
refused:
	log_msg(LOG_WARN, "X-Bkapi-JWT refused: %s", why);
	fail(c, 200, CODE_FORBIDDEN, v == AUTH_BAD_USER ?
	    "user authentication failed" : "app authentication failed");
	return -1;
}

/*
 * Auth mode app: the X-Bkapi-Authorization header, when it is sent and
 * not empty, is the caller's credentials, as BlueKing's API gateway takes
 * it (bk-auth-verify); the body's are then ignored. Returns 0 without
 * one, 1 with *h set, and -1 when it was sent twice: nginx before 1.23
 * passes each of repeated header lines, and two are ambiguous.
 */
static int
auth_header(struct ctx *c, const char **h)
{
	static const char name[] = "HTTP_X_BKAPI_AUTHORIZATION=";
	int n = 0;

	*h = NULL;
	if (c->w->cfg->auth_mode != AUTH_APP)
		return 0;
	for (char **e = c->req->envp; e && *e; e++)
		if (strncmp(*e, name, sizeof(name) - 1) == 0 && n++ == 0)
			*h = *e + sizeof(name) - 1;
	if (n > 1)
		return -1;
	return *h && **h ? 1 : 0;
}

/* The header's credentials, or 3540100. Why it was refused goes to the
 * log; never the header, nor any part of it. */
static int
header_caller(struct ctx *c, int present, const char *h,
    struct json_object **obj, struct auth_caller *who)
{
	struct fields hf;
	char why[160];

	memset(&hf, 0, sizeof(hf));
	if (present == -1)
		snprintf(why, sizeof(why), "sent more than once");
	if (present == -1 || fields_auth_header(h, strlen(h), &hf, obj, why,
	    sizeof(why)) == -1) {
		log_msg(LOG_WARN, "X-Bkapi-Authorization refused: %s", why);
		fail(c, 200, CODE_FORBIDDEN, "app authentication failed");
		return -1;
	}
	who->app_code = hf.app_code;
	who->app_secret = hf.app_secret;
	who->username = hf.username;
	who->token = hf.token;
	return 0;
}

static void
refuse(struct ctx *c, enum auth_verdict v, const struct fields *f,
    const struct auth_row *row)
{
	switch (v) {
	case AUTH_BAD_APP:
		fail(c, 200, CODE_FORBIDDEN, "app authentication failed");
		break;
	case AUTH_BAD_USER:
		fail(c, 200, CODE_FORBIDDEN, "user authentication failed");
		break;
	case AUTH_NO_PROJECT:
		fail(c, 200, CODE_NOT_EXIST, "project(%lld) with scope(%s) does "
		    "not exist", (long long)f->biz_id,
		    f->scope == SCOPE_PROJECT ? "project" : "cmdb_biz");
		break;
	case AUTH_PROJECT_DISABLED:
		fail(c, 200, CODE_INVALID_OP, "project(%lld) is disabled",
		    row->project_id);
		break;
	default:
		fail(c, 200, CODE_FORBIDDEN, "permission denied: task_operate "
		    "on project(%lld)", row->project_id);
	}
}

#define AUTH_LOG_S 10	/* app-mode refusals: one line per worker this often */

/*
 * An app-mode authentication failure: counted per app in /metrics, and
 * logged at warn level at most every AUTH_LOG_S per worker (a caller can
 * repeat it at will), with the app code when opn$app knows it: anything
 * else a caller sends is not repeated into the log.
 */
static void
auth_failed(struct ctx *c, const char *app, int known_app, int user)
{
	static struct log_limit lim;
	unsigned long held;

	metrics_auth_failed(c->w->metrics, app, known_app, user);
	if (!log_limit(&lim, AUTH_LOG_S, &held))
		return;
	const char *label = metrics_app_label(app, known_app);
	int other = strcmp(label, "_other") == 0;

	log_msg(LOG_WARN, "app authentication refused the %s of %s%s%s "
	    "(%lu more refusals since the last such line)", user ? "user" :
	    "secret", other ? "an app code not in opn$app" : "app \"",
	    other ? "" : label, other ? "" : "\"", held);
}

/*
 * §4 order after the fields: authentication, scope (exists, enabled),
 * permission. Sets *project_id and c->operator, or c->out.
 */
static int
authorize(struct ctx *c, const struct fields *f, long long *project_id)
{
	int mode = c->w->cfg->auth_mode;
	struct auth_caller who = { f->app_code, f->app_secret, f->username,
	    f->token };
	struct json_object *claims = NULL, *hdr_obj = NULL;
	const char *h;
	int hdr = auth_header(c, &h);
	enum auth_verdict v;
	struct auth_row row;
	int rc = -1;

	if (mode != AUTH_APP || hdr)	/* body credentials are ignored */
		memset(&who, 0, sizeof(who));
	if (hdr && header_caller(c, hdr, h, &hdr_obj, &who) == -1)
		goto out;
	if (mode == AUTH_GATEWAY && gateway_caller(c, &who) == -1)
		goto out;
	if (mode == AUTH_JWT && jwt_caller(c, &claims, &who) == -1)
		goto out;
	if (!hdr && (f->bad_app || f->bad_user)) {	/* a malformed credential */
		fail(c, 200, CODE_FORBIDDEN, "%s authentication failed",
		    f->bad_app ? "app" : "user");
		if (mode == AUTH_APP)
			auth_failed(c, who.app_code, 0, f->bad_user);
		goto out;
	}
	/* jwt: the gateway vouches for the app; the service's own app table
	 * is not asked. */
	if (store_resolve(c->w->store, f->scope, f->biz_id, mode == AUTH_JWT ?
	    NULL : who.app_code, who.token, who.username, &row, &c->out) == -1)
		goto out;
	v = auth_decide(mode, &who, &row);
	if (v != AUTH_BAD_APP && v != AUTH_BAD_USER && row.project_count > 1) {
		/* bk-sops' schema allows it; acting on either would be a guess */
		log_msg(LOG_ERROR, "bk_biz_id %lld has %d cmdb projects "
		    "(core_project.from_cmdb = 1): keep one", (long long)f->biz_id,
		    row.project_count);
		fail(c, 500, CODE_UNKNOWN, "bk_biz_id(%lld) has more than one "
		    "cmdb project", (long long)f->biz_id);
		goto out;
	}
	if (v != AUTH_OK) {
		refuse(c, v, f, &row);
		if (mode == AUTH_APP && (v == AUTH_BAD_APP || v == AUTH_BAD_USER))
			auth_failed(c, who.app_code, row.app_found,
			    v == AUTH_BAD_USER);
		goto out;
	}
	*project_id = row.project_id;
	c->operator = xstrdup(who.token ? row.token_user : who.username);
	c->app = xstrdup(who.app_code);
	rc = 0;
out:
	if (claims)
		json_object_put(claims);
	if (hdr_obj)
		json_object_put(hdr_obj);
	return rc;
}

/*
 * The web server gave up (its timeout, or its client left) while the
 * request waited for a worker: applying the action now would do work
 * nobody is told about. 499 is for the log only; nothing is sent.
 */
static void
abandoned(struct ctx *c)
{
	if (c->w->slot)
		__atomic_fetch_add(&c->w->slot->abandoned, 1, __ATOMIC_RELAXED);
	fail(c, 499, CODE_ENV, "the client closed the connection before the "
	    "action was applied: nothing was applied");
}

static void
operate(struct ctx *c, const struct route *r)
{
	const char *method = param(c, "REQUEST_METHOD");
	struct json_object *body = NULL;
	struct fields f = { 0 };
	long long project_id;
	char msg[MSG_LEN];
	char *raw = NULL;
	size_t len = 0;

	if (method == NULL || strcmp(method, "POST") != 0) {
		if (request_read_done(c->w) == -1) {
			request_read_timeout(c->w, "params");
			return;
		}
		fail(c, 405, CODE_PARAM, "method %.16s is not allowed, use POST",
		    method ? method : "(none)");
		reply_json(c, "POST");
		return;
	}
	raw = read_body(c, &len);
	if (request_read_done(c->w) == -1)
		goto expired;
	if (raw == NULL)
		goto out;
	body = sj_parse(raw, len, (int)c->w->cfg->max_json_depth, msg,
	    sizeof(msg));
	if (body == NULL) {
		fail(c, 200, CODE_PARAM, "%s", msg);
		goto out;
	}
	const char *h;
	if (fields_parse(body, r, c->w->cfg->auth_mode != AUTH_APP ||
	    auth_header(c, &h) != 0, &f,
	    msg, sizeof(msg)) == -1) {
		fail(c, 200, CODE_PARAM, "%s", msg);
		goto out;
	}
	c->action = f.action;
	c->task_id = f.task_id;
	snprintf(c->node_id, sizeof(c->node_id), "%s",
	    f.node_id ? f.node_id : "");
	if (authorize(c, &f, &project_id) == -1)
		goto out;
	if (conn_gone(c->req->ipcFd)) {
		abandoned(c);
		goto done;
	}
	store_operate(c->w->store, project_id, &f, c->operator, c->app,
	    c->request_id, c->details, sizeof(c->details), &c->out);
	if (c->out.code == CODE_OK)
		dispatch_wake();	/* the action's outbox rows are committed */
out:
	reply_json(c, NULL);
	goto done;
expired:
	request_read_timeout(c->w, "body");	/* no reply: the socket is shut */
done:
	fields_free(&f);
	if (body)
		json_object_put(body);
	free(raw);
}

#define CT_JSON "application/json; charset=utf-8"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"

/* The GET routes: headers (with both ids), then what fill() writes. */
static void
reply_get(struct ctx *c, int http, const char *ctype,
    void (*fill)(struct ctx *, struct buf *))
{
	struct buf b;

	c->out.http = http;
	buf_init(&b);
	buf_printf(&b, "Status: %d %s\r\nContent-Type: %s\r\n"
	    "Cache-Control: no-store\r\nX-Request-Id: %s\r\nX-Trace-Id: %s"
	    "\r\n\r\n", http, status_text(http), ctype, c->request_id,
	    c->trace_id);
	fill(c, &b);
	put(c, &b);
	buf_free(&b);
}

static void
fill_health(struct ctx *c, struct buf *b)
{
	buf_printf(b, "{\"status\":\"%s\"}\n", c->out.http == 200 ? "ok" :
	    c->out.code == CODE_UNKNOWN ? "schema" : "unavailable");
}

static void
fill_metrics(struct ctx *c, struct buf *b)
{
	if (c->w->metrics) {
		metrics_sample_queue(c->w->metrics);
		metrics_render(c->w->metrics, b);
	}
}

static void
fill_status(struct ctx *c, struct buf *b)
{
	if (c->w->metrics) {
		metrics_sample_queue(c->w->metrics);
		metrics_status(c->w->metrics, c->w->cfg->status_detail ==
		    STATUS_FULL, b);
	}
}

static void
healthz(struct ctx *c)
{
	int r = store_ping(c->w->store);

	/* -2: the database answers but lacks the service's objects */
	c->out.code = r == 0 ? CODE_OK : r == -2 ? CODE_UNKNOWN : CODE_ENV;
	reply_get(c, r == 0 ? 200 : r == -2 ? 500 : 503, CT_JSON, fill_health);
}

/*
 * The request's line: info (warn for 5xx, error for 3599999; debug for
 * the status routes' scrapes), and a warning of its own when it took
 * longer than slow_request_ms.
 */
static void
access_log(struct ctx *c, const char *path, int scrape, uint64_t us,
    uint64_t db_us)
{
	enum log_level lvl = c->out.code == CODE_UNKNOWN ? LOG_ERROR :
	    c->out.http >= 500 ? LOG_WARN : scrape ? LOG_DEBUG : LOG_INFO;
	const char *client = param(c, "REMOTE_ADDR");
	int64_t slow_ms = c->w->cfg->slow_request_ms;
	int slow = slow_ms > 0 && us >= (uint64_t)slow_ms * 1000;
	struct log_field f[] = {
		{ "path", path, 0 },
		{ "action", c->action >= 0 ? action_at(c->action)->name : "", 0 },
		{ "app", c->app ? c->app : "", 0 },
		{ "operator", c->operator ? c->operator : "", 0 },
		{ "task_id", NULL, c->task_id },
		{ "node_id", c->node_id, 0 },
		{ "client", client ? client : "", 0 },
		{ "status", NULL, c->out.http },
		{ "code", NULL, c->out.code },
		{ "message", c->out.code ? c->out.msg : "success", 0 },
		{ "duration_us", NULL, (long long)us },
		{ "db_us", NULL, (long long)db_us },
		{ "details", c->details, 0 },	/* ends the list when empty */
		{ NULL, NULL, 0 },
	};
	size_t details = sizeof(f) / sizeof(*f) - 2;

	if (c->details[0] == '\0')
		f[details].key = NULL;
	log_kv(lvl, "request", f);
	if (slow) {
		f[details] = (struct log_field){ "slow_request_ms", NULL, slow_ms };
		f[details + 1].key = NULL;
		log_kv(LOG_WARN, "slow request", f);
	}
}

static struct log_limit timeout_log;	/* read timeouts */

void
request_state(struct request_env *e, int state)
{
	if (e->slot && e->slot->pid == e->pid)
		__atomic_store_n(&e->slot->state, state, __ATOMIC_RELAXED);
}

/* More connections of one peer in the read phase than peer_reading_max
 * are read with PEER_EXCESS_MS; 0 (the default) is no cap. Off by default:
 * behind nginx on a unix socket every request comes from one of nginx's
 * few workers, and under load a legitimate request that met the cap and
 * lost the CPU for 50 ms mid-read was cut (a reload under load in the
 * ASan pass did: nginx's "outcome unknown" 502). */

void
request_read_begin(struct request_env *e, const struct conn *c)
{
	int64_t ms = e->read_ms;

	e->peer = c->peer;
	e->read_expired = 0;
	/* Other workers reading this peer's connections: the slots' states
	 * and keys are read racily, which at worst lets one more in. */
	if (e->cfg->peer_reading_max > 0 && e->slot && e->metrics &&
	    c->key[0]) {
		int n = e->metrics->workers < METRICS_WORKERS_MAX ?
		    e->metrics->workers : METRICS_WORKERS_MAX, same = 0;
		snprintf(e->slot->peer_key, sizeof(e->slot->peer_key), "%s",
		    c->key);
		for (int i = 0; i < n; i++) {
			const struct metrics_worker *o = &e->metrics->w[i];
			same += o != e->slot && __atomic_load_n(&o->state,
			    __ATOMIC_RELAXED) == W_READING &&
			    strncmp(o->peer_key, c->key, sizeof(o->peer_key)) == 0;
		}
		if (same >= e->cfg->peer_reading_max) {
			ms = PEER_EXCESS_MS;
			__atomic_fetch_add(&e->slot->peer_limited, 1,
			    __ATOMIC_RELAXED);
		}
	}
	request_state(e, W_READING);
	e->reading = 1;
	conn_deadline_arm(c->fd, ms);
}

int
request_read_done(struct request_env *e)
{
	if (e->reading) {
		e->reading = 0;
		e->read_expired = conn_deadline_disarm();
		request_state(e, W_BUSY);
	}
	return e->read_expired ? -1 : 0;
}

void
request_read_timeout(struct request_env *e, const char *what)
{
	unsigned long held;

	if (e->slot)
		__atomic_fetch_add(&e->slot->read_timeouts, 1, __ATOMIC_RELAXED);
	if (!log_limit(&timeout_log, LOG_LIMIT_S, &held))
		return;
	struct log_field f[] = {
		{ "peer", e->peer && *e->peer ? e->peer : "unknown", 0 },
		{ "reading", what, 0 },
		{ "request_read_timeout", NULL, e->cfg->request_read_timeout },
		{ "not_logged", NULL, (long long)held },
		{ NULL, NULL, 0 },
	};
	log_kv(LOG_WARN, "read timeout: connection closed", f);
}

static struct log_limit refusal_log;	/* connections refused */

void
request_refused(struct request_env *e, const char *peer, int why)
{
	unsigned long held;

	if (e->slot)
		__atomic_fetch_add(why == REFUSED_PARAMS ?
		    &e->slot->params_too_large : &e->slot->refused_clients, 1,
		    __ATOMIC_RELAXED);
	if (!log_limit(&refusal_log, LOG_LIMIT_S, &held))
		return;
	struct log_field f[] = {
		{ "peer", peer && *peer ? peer : "unknown", 0 },
		{ "max_params_bytes", NULL, why == REFUSED_PARAMS ?
		    e->cfg->max_params_bytes : 0 },
		{ "not_logged", NULL, (long long)held },
		{ NULL, NULL, 0 },
	};
	log_kv(LOG_WARN, why == REFUSED_PARAMS ?
	    "params larger than max_params_bytes: connection closed" :
	    "peer not in listen_allowed_clients: connection closed", f);
}

void
request_handle(FCGX_Request *req, struct request_env *w)
{
	struct timespec t0;
	uint64_t db0 = store_db_us(w->store);
	struct route r;
	char path[PATH_MAX_LEN];
	const char *method;
	struct ctx c;

	clock_now(&t0);
	memset(&c, 0, sizeof(c));
	memset(&r, 0, sizeof(r));
	path[0] = '\0';
	c.req = req;
	c.w = w;
	c.action = ACTION_NONE;
	pick_ids(&c);
	log_set_ids(c.request_id, c.trace_id);
	if (w->slot)
		snprintf(w->slot->request_id, sizeof(w->slot->request_id), "%s",
		    c.request_id);

	int routed = request_path(&c, path, sizeof(path)) == 0 &&
	    route_parse(path, strlen(path), &r) == 0;
	int is_get = r.kind == ROUTE_HEALTHZ || r.kind == ROUTE_METRICS ||
	    r.kind == ROUTE_STATUS;
	/* The status routes live on status_listen only, and nothing else
	 * does: a spelling on the public socket cannot reach them. */
	if (!routed || is_get != w->status_only) {
		if (request_read_done(w) == -1)
			goto expired;
		fail(&c, 404, CODE_NOT_EXIST, "no such route: %.128s", path);
		reply_json(&c, NULL);
		goto out;
	}
	method = param(&c, "REQUEST_METHOD");
	if (is_get && request_read_done(w) == -1)
		goto expired;
	if (is_get && (method ==
	    NULL || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))) {
		fail(&c, 405, CODE_PARAM, "method %.16s is not allowed, use GET",
		    method ? method : "(none)");
		reply_json(&c, "GET, HEAD");
		goto out;
	}
	if (r.kind == ROUTE_HEALTHZ)
		healthz(&c);
	else if (r.kind == ROUTE_METRICS)
		reply_get(&c, 200, CT_PROM, fill_metrics);
	else if (r.kind == ROUTE_STATUS)
		reply_get(&c, 200, CT_JSON, fill_status);
	else
		operate(&c, &r);
	goto out;
expired:
	request_read_timeout(w, "params");
out:;
	uint64_t us = (uint64_t)clock_us_since(&t0);
	uint64_t db_us = store_db_us(w->store) - db0;
	if (w->read_expired)
		goto done;	/* counted and logged where it was found */
	if (!is_get && c.out.http != 499)
		metrics_count(w->slot, c.action, c.out.code, c.out.http, us,
		    db_us);
	access_log(&c, path, is_get && w->status_only, us, db_us);
done:
	free((char *)c.operator);
	free((char *)c.app);
	log_set_ids(NULL, NULL);
	if (w->slot)
		w->slot->request_id[0] = '\0';
}
