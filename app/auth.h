/*
 * Authentication and the task_operate permission (operate-node-api.md §6):
 * secrets and tokens are compared as SHA-256 hashes, in constant time.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stddef.h>

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
	char app_whitelist[1001 * 4];	/* core_environmentvariables APP_WHITELIST */
};

/* Writes "sha256:<hex>" of s into out[AUTH_HASH_LEN + 1]. */
void auth_hash(const char *s, size_t n, char *out);
/* 1 when the secret's hash equals the stored one, in constant time. */
int auth_secret_ok(const char *secret, const char *stored_hash);

#endif
