/*
 * Credential hashing with OpenSSL's libcrypto, and the decision of who may
 * operate on a project. App secrets and tokens are random and long
 * (operate-node-admin makes them), so a single SHA-256 is the right hash:
 * nothing to stretch, and it keeps lookups by hash cheap.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"
#include "config.h"
#include "jwt.h"
#include "text.h"
#include "vocab.h"

/* bk-sops gcloud/apigw/decorators.py DEFAULT_APP_WHITELIST. */
static const char *const default_whitelist[] = { "bk_fta", "bk_bcs",
	"bk_datainstaller", "bk_dataadmin", "bk_sops", "bk_paas",
	"bk_monitorv3", NULL };

void
auth_hash(const char *s, size_t n, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";

	if (EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		mdlen = 0, memset(md, 0, 32);	/* never matches a stored hash */
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[AUTH_HASH_LEN] = '\0';
	if (mdlen == 0)
		out[0] = '!';
}

int
auth_secret_ok(const char *secret, const char *stored_hash)
{
	char h[AUTH_HASH_LEN + 1];

	auth_hash(secret, strlen(secret), h);
	if (strlen(stored_hash) != AUTH_HASH_LEN)
		return 0;
	return CRYPTO_memcmp(h, stored_hash, AUTH_HASH_LEN) == 0;
}

int
auth_app_trusted(const char *app, const char *whitelist)
{
	size_t n = app ? strlen(app) : 0;
	const char *p = whitelist;

	if (n == 0)
		return 0;
	for (int i = 0; default_whitelist[i]; i++)
		if (strcmp(app, default_whitelist[i]) == 0)
			return 1;
	while (p && *p) {
		const char *end = strchr(p, ',');
		const char *e = end ? end : p + strlen(p);
		while (p < e && *p == ' ')
			p++;
		while (e > p && e[-1] == ' ')
			e--;
		if ((size_t)(e - p) == n && memcmp(p, app, n) == 0)
			return 1;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* claims.<obj>.<name>, else claims.<obj>.<alt>, as a string and its
 * length (a JSON string may hold a NUL), or NULL. */
static const char *
claim_name(struct json_object *who, const char *name, const char *alt,
    size_t *len)
{
	struct json_object *v;

	if ((!json_object_object_get_ex(who, name, &v) &&
	    !json_object_object_get_ex(who, alt, &v)) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static int
claim_verified(struct json_object *who)
{
	struct json_object *v;

	return json_object_object_get_ex(who, "verified", &v) &&
	    json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v);
}

/* The two parties of verified claims, in the order they are checked. */
static const struct party {
	const char *obj, *name, *alt;	/* claims.<obj>.<name>, else .<alt> */
	const char *what;		/* for why */
	size_t max;
	unsigned flags;			/* text_check's */
	enum auth_verdict bad;
} parties[] = {
	{ "app", "bk_app_code", "app_code", "app code", CRED_MAX, TEXT_BYTES,
	    AUTH_BAD_APP },
	{ "user", "bk_username", "username", "username", USERNAME_MAX, 0,
	    AUTH_BAD_USER },
};

enum auth_verdict
auth_jwt_caller(struct json_object *claims, const char **app,
    const char **user, char *why, size_t whylen)
{
	const char **out[] = { app, user };

	for (size_t i = 0; i < sizeof(parties) / sizeof(*parties); i++) {
		const struct party *p = &parties[i];
		struct json_object *o = NULL;
		const char *name;
		size_t len = 0;

		if (!json_object_object_get_ex(claims, p->obj, &o) ||
		    !json_object_is_type(o, json_type_object)) {
			snprintf(why, whylen, "claims have no %s object",
			    p->obj);
			return p->bad;
		}
		if (!claim_verified(o)) {
			snprintf(why, whylen, "%s.verified is not true", p->obj);
			return p->bad;
		}
		name = claim_name(o, p->name, p->alt, &len);
		if (name == NULL ||
		    text_check(name, len, p->max, p->flags) != TEXT_OK) {
			snprintf(why, whylen, "%s missing or malformed",
			    p->what);
			return p->bad;
		}
		*out[i] = name;
	}
	return AUTH_OK;
}

/* "aud" names audience: the string itself, or a list holding it. */
static int
aud_names(struct json_object *aud, const char *audience)
{
	if (json_object_is_type(aud, json_type_string))
		return strcmp(json_object_get_string(aud), audience) == 0;
	if (!json_object_is_type(aud, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(aud); i++) {
		struct json_object *a = json_object_array_get_idx(aud, i);
		if (json_object_is_type(a, json_type_string) &&
		    strcmp(json_object_get_string(a), audience) == 0)
			return 1;
	}
	return 0;
}

/* PyJWT takes an empty "aud" ("", [], null) as none. */
static int
aud_empty(struct json_object *aud)
{
	return aud == NULL ||
	    (json_object_is_type(aud, json_type_string) &&
	    json_object_get_string_len(aud) == 0) ||
	    (json_object_is_type(aud, json_type_array) &&
	    json_object_array_length(aud) == 0);
}

int
auth_jwt_claims(struct json_object *claims, const char *issuer,
    const char *audience, long long max_lifetime, long long now, char *why,
    size_t whylen)
{
	struct json_object *iss = NULL, *aud = NULL, *exp = NULL;

	if (issuer && *issuer && (!json_object_object_get_ex(claims, "iss",
	    &iss) || !json_object_is_type(iss, json_type_string) ||
	    strcmp(json_object_get_string(iss), issuer) != 0)) {
		snprintf(why, whylen, "iss is not the gateway's issuer");
		return -1;
	}
	json_object_object_get_ex(claims, "aud", &aud);
	if (audience == NULL || *audience == '\0') {
		if (!aud_empty(aud)) {
			snprintf(why, whylen, "aud is set and no audience is "
			    "expected (jwt_audience)");
			return -1;
		}
	} else if (aud == NULL || !aud_names(aud, audience)) {
		snprintf(why, whylen, "aud does not name jwt_audience");
		return -1;
	}
	/* jwt_verify has checked that exp is a number. */
	if (max_lifetime > 0 && json_object_object_get_ex(claims, "exp", &exp) &&
	    json_object_get_double(exp) > (double)(now + max_lifetime +
	    JWT_LEEWAY)) {
		snprintf(why, whylen, "exp is more than jwt_max_lifetime (%llds) "
		    "away", max_lifetime);
		return -1;
	}
	return 0;
}

static enum auth_verdict
check_app(int mode, const struct auth_caller *c, const struct auth_row *row)
{
	if (mode == AUTH_APP) {
		/* Hash even when the app is unknown: no timing difference. */
		int ok = auth_secret_ok(c->app_secret ? c->app_secret : "",
		    row->secret_hash);
		if (!row->app_found || !row->app_enabled || !ok)
			return AUTH_BAD_APP;
	} else if (mode == AUTH_GATEWAY && row->app_found && !row->app_enabled)
		return AUTH_BAD_APP;
	return AUTH_OK;
}

enum auth_verdict
auth_decide(int mode, const struct auth_caller *c, const struct auth_row *row)
{
	enum auth_verdict v;
	int trusted;

	if ((v = check_app(mode, c, row)) != AUTH_OK)
		return v;
	if (c->token && (!row->token_live || (c->username &&
	    strcmp(c->username, row->token_user) != 0)))
		return AUTH_BAD_USER;
	if (!row->project_found)
		return AUTH_NO_PROJECT;
	if (row->project_disabled)
		return AUTH_PROJECT_DISABLED;
	/* jwt: the app is the gateway's word, so trust is bk-sops' own list,
	 * not the service's app table. */
	trusted = mode == AUTH_JWT ? auth_app_trusted(c->app_code,
	    row->app_whitelist) : row->app_trusted;
	if (!trusted && !row->permitted)
		return AUTH_DENIED;
	return AUTH_OK;
}
