/*
 * The text of the service's two round trips per request, for app/store.c
 * and for the bench's database-only driver (tests/bench/dbdriver.c), which
 * must run exactly what the service runs. Macros only: it needs no header.
 */
#ifndef STORE_SQL_H
#define STORE_SQL_H

/*
 * Credentials, project and permission in one statement: const lookups on
 * primary or unique keys only. The permission's user is bk_username, else
 * the token's. bk-sops' schema allows several cmdb projects for one
 * business; the count lets the service refuse rather than guess.
 * Parameters: user, id, app, token hash, id.
 */
#define RESOLVE_SQL(match) \
	"SELECT a.secret_hash, a.is_enabled, a.is_trusted, t.username, " \
	"t.expires_at > UTC_TIMESTAMP(6), p.id, p.is_disable, " \
	"(SELECT COUNT(*) FROM `opn$grant` g WHERE g.project_id = p.id " \
	"AND g.username = COALESCE(?, t.username) " \
	"AND g.action = 'task_operate'), " \
	"(SELECT COUNT(*) FROM core_project c WHERE " match "), " \
	"(SELECT e.value FROM core_environmentvariables e " \
	"WHERE e.`key` = 'APP_WHITELIST') " \
	"FROM (SELECT 1 AS one) AS d " \
	"LEFT JOIN `opn$app` a ON a.app_code = ? " \
	"LEFT JOIN `opn$token` t ON t.token_hash = ? " \
	"LEFT JOIN core_project p ON p.id = " \
	"(SELECT MIN(c.id) FROM core_project c WHERE " match ")"

/* The id is a cmdb business (bk_biz_id) or a project id. */
#define RESOLVE_CMDB_SQL RESOLVE_SQL("c.bk_biz_id = ? AND c.from_cmdb = 1")
#define RESOLVE_PROJECT_SQL RESOLVE_SQL("c.id = ?")

/*
 * The schema version this build runs on: sql/load.sh installs the routines
 * of sql/actions.sql (whose opn_schema_version() returns it) as
 * opn_<name>_v<N>, beside those of the version before, so that a load never
 * takes away the routines a running binary calls (README, Upgrading).
 */
#ifndef SCHEMA_VERSION
#define SCHEMA_VERSION 3
#endif
#define SCHEMA_STR_(n) #n
#define SCHEMA_STR(n) SCHEMA_STR_(n)
#define SCHEMA_SUFFIX "_v" SCHEMA_STR(SCHEMA_VERSION)

/* The action, its checks and its writes in one transaction (sql/). */
#define OPERATE_SQL "CALL opn_operate_node" SCHEMA_SUFFIX \
	"(?,?,?,?,?,?,?,?,?,?,?,?)"
/* What the service needs and the database lacks, one row each. */
#define CHECK_SQL "CALL opn_check" SCHEMA_SUFFIX "()"
#define PURGE_SQL "CALL opn_purge_replay" SCHEMA_SUFFIX "(?, ?)"

#endif
