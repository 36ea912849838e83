/*
 * Authentication and the task_operate permission (README "Authentication"):
 * secrets and tokens are compared as SHA-256 hashes, in constant time; in
 * jwt mode the caller comes from the gateway's verified claims. The
 * decision itself is a pure function of the caller and one database row.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stddef.h>

struct json_object;

#define AUTH_HASH_LEN 71	/* "sha256:" and 64 hex digits */

/* What the database said about the caller and the project (one row). */
struct auth_row {
	int app_found, app_enabled, app_trusted;
	char secret_hash[AUTH_HASH_LEN + 57];	/* the column is varchar(128) */
	int token_found, token_live;
	char token_user[129 * 4];
	int project_found, project_disabled;
	long long project_id;
	int project_count;		/* cmdb_biz: projects of that business */
	int permitted;
	/* core_environmentvariables APP_WHITELIST (jwt mode): varchar(1000),
	 * up to 4 bytes a character in utf8mb4. Empty when there is no row. */
	char app_whitelist[1000 * 4 + 1];
};

enum auth_verdict {
	AUTH_OK,
	AUTH_BAD_APP,		/* 3540100 "app authentication failed" */
	AUTH_BAD_USER,		/* 3540100 "user authentication failed" */
	AUTH_NO_PROJECT,	/* 3540400 */
	AUTH_PROJECT_DISABLED,	/* 3545000 */
	AUTH_DENIED,		/* 3540100, no task_operate on the project */
};

/* Who the caller says it is: the body (app), the gateway's headers
 * (gateway) or its verified claims (jwt). Any member may be NULL. */
struct auth_caller {
	const char *app_code, *app_secret, *username, *token;
};

/*
 * §4 order after the fields: app, user, project, disabled, permission.
 * mode is a config.h enum auth_mode. Trusted apps: opn$app.is_trusted
 * (app, gateway); bk-sops' default whitelist and APP_WHITELIST (jwt).
 */
enum auth_verdict auth_decide(int mode, const struct auth_caller *c,
    const struct auth_row *row);

/*
 * The app and user of verified gateway claims, as apigw-manager reads
 * them: app.bk_app_code (else app.app_code) and app.verified, user.bk_username
 * (else user.username) and user.verified, both flags JSON true. On AUTH_OK
 * the names point into claims; otherwise why says what was wrong (for the
 * log; it holds no claim value).
 */
enum auth_verdict auth_jwt_caller(struct json_object *claims,
    const char **app, const char **user, char *why, size_t whylen);

/*
 * The gateway's own claims, checked as bk-sops' gateway client does
 * (apigw-manager's DefaultJWTProvider: PyJWT's decode, with no audience
 * expected) and against what the gateway signs (bk-jwt: iss "APIGW" or
 * BK_APIGW_JWT_ISSUER, no aud, exp 1500 s after signing):
 *   issuer        "iss" must be this string ("" or NULL: not checked);
 *   audience      "" or NULL: a token naming any "aud" is refused, as
 *                 PyJWT refuses it; else "aud" must be it, or a list
 *                 holding it;
 *   max_lifetime  "exp" no more than this many seconds (and the clock
 *                 skew jwt.h allows) after now; 0: not checked.
 * Returns 0, or -1 with why set (for the log; it holds no claim value).
 */
int auth_jwt_claims(struct json_object *claims, const char *issuer,
    const char *audience, long long max_lifetime, long long now, char *why,
    size_t whylen);

/* bk-sops' DEFAULT_APP_WHITELIST, or an item of the comma-separated
 * whitelist (spaces around items do not count). */
int auth_app_trusted(const char *app, const char *whitelist);

/* Writes "sha256:<hex>" of s into out[AUTH_HASH_LEN + 1]. */
void auth_hash(const char *s, size_t n, char *out);
/* 1 when the secret's hash equals the stored one, in constant time. */
int auth_secret_ok(const char *secret, const char *stored_hash);

#endif
