/*
 * One MySQL/MariaDB connection with its prepared statements, through the
 * MySQL C API (MariaDB Connector/C). No auto-reconnect: a caller that sees
 * db_lost() reconnects with db_connect(), which prepares everything again.
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

struct db_params {
	const char *host;	/* used only when socket is NULL or "" */
	unsigned port;
	const char *socket;
	const char *user;
	const char *password;
	const char *name;
	unsigned connect_timeout, read_timeout, write_timeout;	/* seconds */
};

enum db_type { DB_NULL, DB_INT, DB_STR };

/*
 * A parameter or a result column. For results, str points at a caller
 * buffer of cap bytes; len and is_null are filled in, and str is always
 * NUL-terminated (a longer value is an error, not truncated).
 */
struct db_val {
	enum db_type type;
	int64_t i;
	char *str;
	size_t len, cap;
	int is_null;
};

#define DB_STMT_MAX 16

struct db;

/* The params' strings must outlive the db. Statements are added before
 * the first db_connect and prepared on every connect. */
struct db *db_new(const struct db_params *p);
int db_add_stmt(struct db *db, const char *sql);	/* returns its index */
int db_connect(struct db *db);
void db_close(struct db *db);	/* accepts NULL */
int db_connected(const struct db *db);

/*
 * Runs statement i. With ncols > 0 it reads at most one row into cols and
 * sets *found; other rows are discarded. With ncols == 0 it is a CALL or
 * a write: every result of it is consumed. Returns 0 or -1 (db_errno).
 */
int db_exec(struct db *db, int i, const struct db_val *params, int nparams,
    struct db_val *cols, int ncols, int *found);
/*
 * Runs statement i and calls row() for every row of its result, with cols
 * filled as db_exec does for one. row() returns 0 to go on, -1 to stop
 * (then db_exec_rows returns -1 with the error row() left, if any).
 */
int db_exec_rows(struct db *db, int i, const struct db_val *params,
    int nparams, struct db_val *cols, int ncols,
    int (*row)(void *arg, const struct db_val *cols), void *arg);
/* Runs plain SQL text without parameters (session settings, ROLLBACK). */
int db_query(struct db *db, const char *sql);

unsigned db_errno(const struct db *db);
const char *db_errmsg(const struct db *db);	/* valid until the next call */
/* The last error means the connection is gone (2006, 2013, ...). */
int db_lost(const struct db *db);
/* The last error is a deadlock or lock wait timeout: retry the whole
 * transaction. */
int db_retryable(const struct db *db);

#endif
