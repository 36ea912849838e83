/*
 * The service's database work: at most two round trips per request, one
 * SELECT for credentials, project and permission, and one CALL of the
 * operate_node procedure that applies the action in one transaction.
 */
#ifndef STORE_H
#define STORE_H

#include <stdio.h>

#include "auth.h"
#include "config.h"
#include "fields.h"
#include "vocab.h"

struct store;

struct store *store_new(const struct config *cfg);
void store_free(struct store *s);	/* accepts NULL */
/* Caps the database's connect, read and write timeouts at secs (the
 * status process: /healthz answers within a short deadline). Before the
 * first connect. */
void store_limit_timeouts(struct store *s, unsigned secs);
/* Connects if not connected (at most every few hundred ms while the
 * database is down). Returns 0, or -1 with o set to 503 / 3555000. */
int store_ready(struct store *s, struct outcome *o);
/* 0 when the database answers and has the service's objects, -1 when it
 * cannot be reached, -2 when its schema is wrong. The schema is checked
 * again (what --check-db checks) every SCHEMA_RECHECK_S, wrong or not. */
int store_ping(struct store *s);

/*
 * Reads the caller's credentials, the project the scope names and the
 * permission in one statement. app_code, token and username may be NULL.
 */
int store_resolve(struct store *s, enum scope scope, long long biz_id,
    const char *app_code, const char *token, const char *username,
    struct auth_row *row, struct outcome *o);

/*
 * jwt mode with jwt_gateway_name: the gateway's PEM public key from bk-sops'
 * apigw_manager_context into pem[cap]. Returns 0, or -1 with o set (503 if
 * the database is down, 3599999 if there is no such row).
 */
int store_gateway_key(struct store *s, char *pem, size_t cap,
    struct outcome *o);

/* details of store_operate: sql/actions.sql cuts them to 8000 bytes. */
#define STORE_DETAILS_LEN 8192

/* Applies the action; on refusal o has the procedure's code and message.
 * app and request_id key the replay record. details[cap] gets what the
 * action did (a JSON object, for the log line), or "" (refusal, replay,
 * nothing to say). */
int store_operate(struct store *s, long long project_id, const struct fields *f,
    const char *operator, const char *app, const char *request_id,
    char *details, size_t details_cap, struct outcome *o);

/* Lists what the service needs and the database lacks; returns the
 * number of problems, or -1 when it cannot connect. */
int store_check(struct store *s, FILE *out);

/* Work between requests: now and then, purge old replay records. */
void store_housekeeping(struct store *s);

#endif
