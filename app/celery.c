/*
 * Celery protocol 2 message parts, byte for byte as Celery 5.2.7 makes them
 * (celery/app/amqp.py as_task_v2, celery/utils/saferepr.py) and as kombu's
 * JSON serializer writes them (json.dumps: ", " and ": ", ensure_ascii).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "celery.h"

#define KEYS_MAX 64		/* keys of one kwargs object we order */
#define REPR_LEVELS 3		/* saferepr's maxlevels */

/*
 * The key order of each object bamboo and bk-sops build: the kwargs of
 * bamboo's publisher (bamboo-pipeline eri/imp/task.py), the headers kwarg
 * it fills in _standardize_headers, and bk-sops' calls in
 * gcloud/taskflow3/signals/handlers.py. Keys not listed follow in the
 * stored order. ignore_result is the task's own (bamboo's tasks set it;
 * bk-sops' do not, and nothing sets task_ignore_result).
 */
static const struct key_order {
	const char *parent;		/* task name, or the key holding it */
	int ignore_result;
	const char *keys[8];
} orders[] = {
	{ "pipeline.eri.celery.tasks.execute", 1, { "process_id", "node_id",
	    "root_pipeline_id", "parent_pipeline_id", "recover_point",
	    "headers" } },
	{ "pipeline.eri.celery.tasks.schedule", 1, { "process_id", "node_id",
	    "schedule_id", "callback_data_id", "recover_point", "headers" } },
	{ "gcloud.taskflow3.celery.tasks.auto_retry_node", 0, { "taskflow_id",
	    "root_pipeline_id", "node_id", "retry_times", "engine_ver" } },
	{ "gcloud.taskflow3.celery.tasks.task_callback", 0, { "task_id",
	    "task_success", "task_outputs" } },
	{ "gcloud.taskflow3.celery.tasks.send_taskflow_message", 0, {
	    "task_id", "msg_type", "node_name" } },
	{ "headers", 0, { "route_info", "timestamp" } },
	{ "route_info", 0, { "queue", "priority" } },
	{ NULL, 0, { NULL } },
};

int
celery_ignore_result(const char *name)
{
	for (int i = 0; orders[i].parent; i++)
		if (strcmp(orders[i].parent, name) == 0)
			return orders[i].ignore_result;
	return 0;	/* Celery's default */
}

/* The keys of o in bamboo's order; returns how many (at most max). */
static int
ordered_keys(struct json_object *o, const char *parent, const char **out,
    int max)
{
	const struct key_order *ko = NULL;
	int n = 0;

	for (int i = 0; parent && orders[i].parent; i++)
		if (strcmp(orders[i].parent, parent) == 0)
			ko = &orders[i];
	for (int i = 0; ko && i < 8 && ko->keys[i] && n < max; i++)
		if (json_object_object_get_ex(o, ko->keys[i], NULL))
			out[n++] = ko->keys[i];
	json_object_object_foreach(o, k, v) {
		int seen = 0;
		(void)v;
		for (int i = 0; i < n; i++)
			seen |= strcmp(out[i], k) == 0;
		if (!seen && n < max)
			out[n++] = k;
	}
	return n;
}

/* bamboo's headers.timestamp is time.time(): always a float. */
static int
is_float_key(const char *parent, const char *key)
{
	return parent && key && strcmp(parent, "headers") == 0 &&
	    strcmp(key, "timestamp") == 0;
}

/* Python's repr(float): the shortest digits that read back the same,
 * fixed notation for exponents -4..15, else d.ddde+XX. */
void
celery_py_float(struct buf *b, double d)
{
	char tmp[40], digits[24];
	int nd = 0, exp10, decpt;

	if (isnan(d) || isinf(d)) {
		buf_adds(b, isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
		return;
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	char *s = tmp;
	if (*s == '-') {
		buf_adds(b, "-");
		s++;
	}
	for (; *s && *s != 'e'; s++)
		if (*s != '.')
			digits[nd++] = *s;
	exp10 = atoi(s + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	decpt = d == 0 ? 1 : exp10 + 1;
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			buf_adds(b, "0.");
			for (int i = 0; i < -decpt; i++)
				buf_adds(b, "0");
			buf_adds(b, digits);
		} else if (decpt >= nd) {
			buf_adds(b, digits);
			for (int i = 0; i < decpt - nd; i++)
				buf_adds(b, "0");
			buf_adds(b, ".0");
		} else
			buf_printf(b, "%.*s.%s", decpt, digits, digits + decpt);
		return;
	}
	buf_printf(b, "%c%s%s", digits[0], nd > 1 ? "." : "", digits + 1);
	buf_printf(b, "e%c%02d", decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
}

static unsigned
utf8_decode(const unsigned char *s, size_t len)
{
	if (len == 1)
		return s[0];
	if (len == 2)
		return (unsigned)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	if (len == 3)
		return (unsigned)(s[0] & 0x0f) << 12 | (unsigned)(s[1] & 0x3f) << 6 |
		    (s[2] & 0x3f);
	return (unsigned)(s[0] & 0x07) << 18 | (unsigned)(s[1] & 0x3f) << 12 |
	    (unsigned)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
}

/* json.dumps(s) with ensure_ascii: only ' '..'~' stay as they are. */
void
celery_py_json_str(struct buf *b, const char *s, size_t n)
{
	buf_adds(b, "\"");
	for (size_t i = 0; i < n;) {
		size_t l = buf_utf8_seq_len(s + i, n - i);
		unsigned c = l ? utf8_decode((const unsigned char *)s + i, l) :
		    0xfffd;
		i += l ? l : 1;
		switch (c) {
		case '"': buf_adds(b, "\\\""); continue;
		case '\\': buf_adds(b, "\\\\"); continue;
		case '\n': buf_adds(b, "\\n"); continue;
		case '\r': buf_adds(b, "\\r"); continue;
		case '\t': buf_adds(b, "\\t"); continue;
		case '\b': buf_adds(b, "\\b"); continue;
		case '\f': buf_adds(b, "\\f"); continue;
		}
		if (c >= 0x20 && c <= 0x7e) {
			char ch = (char)c;
			buf_add(b, &ch, 1);
		} else if (c < 0x10000)
			buf_printf(b, "\\u%04x", c);
		else {
			c -= 0x10000;
			buf_printf(b, "\\u%04x\\u%04x", 0xd800 | (c >> 10),
			    0xdc00 | (c & 0x3ff));
		}
	}
	buf_adds(b, "\"");
}

static void
json_value(struct buf *b, struct json_object *v, const char *parent,
    const char *key)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		buf_adds(b, "null");
		break;
	case json_type_boolean:
		buf_adds(b, json_object_get_boolean(v) ? "true" : "false");
		break;
	case json_type_int:
		if (is_float_key(parent, key))
			celery_py_float(b, (double)json_object_get_int64(v));
		else
			buf_printf(b, "%lld", (long long)json_object_get_int64(v));
		break;
	case json_type_double:
		celery_py_float(b, json_object_get_double(v));
		break;
	case json_type_string:
		celery_py_json_str(b, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
		break;
	case json_type_array:
		buf_adds(b, "[");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			buf_adds(b, i ? ", " : "");
			json_value(b, json_object_array_get_idx(v, i), NULL, NULL);
		}
		buf_adds(b, "]");
		break;
	case json_type_object: {
		const char *keys[KEYS_MAX];
		int n = ordered_keys(v, key ? key : parent, keys, KEYS_MAX);
		buf_adds(b, "{");
		for (int i = 0; i < n; i++) {
			buf_adds(b, i ? ", " : "");
			celery_py_json_str(b, keys[i], strlen(keys[i]));
			buf_adds(b, ": ");
			json_value(b, json_object_object_get(v, keys[i]),
			    key ? key : parent, keys[i]);
		}
		buf_adds(b, "}");
		break;
	}
	}
}

/*
 * saferepr's token stream with its length limit (celery/utils/saferepr.py
 * _saferepr): every token costs its length in characters; once the budget
 * is spent the next token is replaced by ", ..." and afterwards only the
 * closing brackets of what is open are written.
 */
enum tok { T_OPEN, T_CLOSE, T_SEP, T_QUOTED, T_PLAIN };

struct repr {
	struct buf *b;
	long left;
	int cut;
	int level;
};

/* celery.utils.text.truncate(s, maxlen): cut at maxlen characters, then
 * back to the last space, and add "...". */
static size_t
truncated_len(const char *s, size_t n, long maxlen, int *cut)
{
	size_t i = 0, last_space = (size_t)-1;
	long chars = 0;

	*cut = 0;
	if (maxlen <= 0 || (long)buf_utf8_len(s, n) < maxlen)
		return n;
	while (i < n && chars < maxlen) {
		size_t l = buf_utf8_seq_len(s + i, n - i);
		if (s[i] == ' ')
			last_space = i;
		i += l ? l : 1;
		chars++;
	}
	*cut = 1;
	return last_space != (size_t)-1 ? last_space : i;
}

static void
repr_tok(struct repr *r, enum tok t, const char *s, size_t n)
{
	size_t start = r->b->len, keep;
	int cut;

	if (r->cut) {
		if (t == T_CLOSE)
			buf_add(r->b, s, n);
		return;
	}
	if (r->left <= 0) {
		buf_adds(r->b, ", ...");
		r->cut = 1;
		return;
	}
	if (t == T_QUOTED) {
		keep = truncated_len(s, n, r->left, &cut);
		buf_adds(r->b, "'");
		for (size_t i = 0; i < keep; i++)
			buf_adds(r->b, s[i] == '\'' ? "\\'" : (char[]){ s[i], 0 });
		buf_adds(r->b, cut ? "...'" : "'");
	} else if (t == T_PLAIN) {
		keep = truncated_len(s, n, r->left, &cut);
		buf_add(r->b, s, keep);
		if (cut)
			buf_adds(r->b, "...");
	} else
		buf_add(r->b, s, n);
	r->left -= (long)buf_utf8_len(r->b->data + start, r->b->len - start);
}

static void repr_value(struct repr *r, struct json_object *v,
    const char *parent, const char *key);

static void
repr_container(struct repr *r, struct json_object *v, const char *parent,
    const char *key)
{
	int obj = json_object_is_type(v, json_type_object);

	if (r->cut)
		return;		/* not expanded before the cut: not written */
	if (r->level >= REPR_LEVELS) {
		repr_tok(r, T_PLAIN, obj ? "{...}" : "[...]", 5);
		return;
	}
	repr_tok(r, T_OPEN, obj ? "{" : "[", 1);
	r->level++;
	if (obj) {
		const char *keys[KEYS_MAX];
		const char *p = key ? key : parent;
		int n = ordered_keys(v, p, keys, KEYS_MAX);
		for (int i = 0; i < n; i++) {
			repr_tok(r, T_QUOTED, keys[i], strlen(keys[i]));
			repr_tok(r, T_SEP, ": ", 2);
			repr_value(r, json_object_object_get(v, keys[i]), p,
			    keys[i]);
			if (i < n - 1)
				repr_tok(r, T_SEP, ", ", 2);
		}
	} else {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++) {
			repr_value(r, json_object_array_get_idx(v, i), NULL, NULL);
			if (i + 1 < n)
				repr_tok(r, T_SEP, ", ", 2);
		}
	}
	r->level--;
	repr_tok(r, T_CLOSE, obj ? "}" : "]", 1);
}

static void
repr_value(struct repr *r, struct json_object *v, const char *parent,
    const char *key)
{
	struct buf t;

	switch (json_object_get_type(v)) {
	case json_type_object:
	case json_type_array:
		repr_container(r, v, parent, key);
		return;
	case json_type_string:
		repr_tok(r, T_QUOTED, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
		return;
	default:
		break;
	}
	buf_init(&t);
	if (json_object_is_type(v, json_type_null))
		buf_adds(&t, "None");
	else if (json_object_is_type(v, json_type_boolean))
		buf_adds(&t, json_object_get_boolean(v) ? "True" : "False");
	else if (json_object_is_type(v, json_type_double) ||
	    is_float_key(parent, key)) {
		double d = json_object_get_double(v);
		if (isnan(d) || isinf(d))
			buf_adds(&t, isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
		else
			celery_py_float(&t, d);
	} else
		buf_printf(&t, "%lld", (long long)json_object_get_int64(v));
	repr_tok(r, T_PLAIN, t.data, t.len);
	buf_free(&t);
}

/* A uuid4, as Celery's uuid() gives. */
void
celery_new_id(char out[CELERY_ID_LEN + 1])
{
	unsigned char r[16];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)random();
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(out, CELERY_ID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4],
	    r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
	    r[15]);
}

/* datetime.isoformat() of an aware local time: microseconds only when
 * non-zero, the offset as +HH:MM. */
static void
make_eta(char *out, size_t n, int64_t us)
{
	time_t t = (time_t)(us / 1000000);
	long frac = (long)(us % 1000000);
	char date[32], usec[16] = "";
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac)
		snprintf(usec, sizeof(usec), ".%06ld", frac);
	int off = (int)(labs(tm.tm_gmtoff) / 60 % (24 * 60));	/* minutes */
	snprintf(out, n, "%.26s%.7s%c%02d:%02d", date, usec,
	    tm.tm_gmtoff < 0 ? '-' : '+', off / 60, off % 60);
}

int
celery_build(struct celery_msg *m, const char *name, struct json_object *kwargs,
    int64_t eta_us, char *err, size_t errlen)
{
	struct repr r;

	if (!json_object_is_type(kwargs, json_type_object)) {
		snprintf(err, errlen, "body is not a JSON object of kwargs");
		return -1;
	}
	memset(m, 0, sizeof(*m));
	celery_new_id(m->id);
	buf_init(&m->body);
	buf_adds(&m->body, "[[], ");
	json_value(&m->body, kwargs, name, NULL);
	buf_adds(&m->body, ", {\"callbacks\": null, \"errbacks\": null, "
	    "\"chain\": null, \"chord\": null}]");
	buf_init(&m->kwargsrepr);
	r = (struct repr){ .b = &m->kwargsrepr, .left = CELERY_KWARGSREPR_MAX };
	repr_value(&r, kwargs, NULL, name);
	if (eta_us >= 0)
		make_eta(m->eta, sizeof(m->eta), eta_us);
	return 0;
}

void
celery_free(struct celery_msg *m)
{
	buf_free(&m->body);
	buf_free(&m->kwargsrepr);
}
