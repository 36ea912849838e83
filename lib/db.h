/*
 * One MySQL/MariaDB connection with its prepared statements, through the
 * MySQL C API (MariaDB Connector/C). No auto-reconnect: a caller that sees
 * db_lost() reconnects with db_connect(), which prepares everything again.
 * Over TCP it takes an ordered list of hosts (a Galera cluster) and uses
 * the first one that answers and is a synced node.
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

#define DB_HOSTS_MAX 16
#define DB_HOST_LEN 256		/* "host:port", as db_host() shows it */

/*
 * hosts: "host:port, host:port, ..." in order of preference (an IPv6
 * address in brackets), checked by db_hosts_parse; used only when socket
 * is NULL or "". NULL or "": the client library's default.
 * failback_interval: seconds between looks for an earlier host in the
 * list while connected to a later one (db_failback); 0: never.
 */
struct db_params {
	const char *hosts;
	const char *socket;
	const char *user;
	const char *password;
	const char *name;
	unsigned connect_timeout, read_timeout, write_timeout;	/* seconds */
	/* A statement that does not prepare (a missing table, say) leaves
	 * the connection up; db_exec prepares it again and reports the
	 * server's error. Otherwise db_connect fails with that error. */
	int lazy_prepare;
	/* Session settings, applied on every connect: the client character
	 * set and one SQL statement (NULL: the library's defaults). */
	const char *charset, *init_command;
	/* A second session statement, also on every connect (NULL: none):
	 * the server-side time limits (config.c). */
	const char *session_sql;
	unsigned failback_interval;				/* seconds */
	/* TLS: ssl on enforces it (a server without TLS is refused); the
	 * files may be NULL or "" (no CA: the system's store); ssl_verify
	 * checks the server's certificate chain and its host name, and
	 * without it ssl_ca is not used. */
	int ssl, ssl_verify;
	const char *ssl_ca, *ssl_cert, *ssl_key;
};

struct db_host {
	char name[DB_HOST_LEN];	/* without brackets */
	unsigned port;
};

/*
 * Splits a host list into at most DB_HOSTS_MAX entries. Returns their
 * number, or -1 with err saying which entry is wrong.
 */
int db_hosts_parse(const char *list, struct db_host *out, char *err,
    size_t errlen);

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

/* Parameters: a string (NULL binds SQL NULL; s must outlive the call) and
 * an integer. */
struct db_val db_str(const char *s);
struct db_val db_int(int64_t i);

#define DB_STMT_MAX 16

struct db;

/* The params' strings must outlive the db. Statements are added before
 * the first db_connect and prepared on every connect. */
struct db *db_new(const struct db_params *p);
int db_add_stmt(struct db *db, const char *sql);	/* returns its index */
/*
 * Connects to the first host that answers and is a synced Galera node
 * (wsrep_ready ON, wsrep_local_state 4) or no Galera node at all (wsrep
 * variables absent or wsrep_on OFF). After a lost connection it starts
 * with the host after the lost one, then goes round the list once. On
 * failure db_errmsg() names every host and why it was passed over.
 */
int db_connect(struct db *db);
void db_close(struct db *db);	/* accepts NULL */
int db_connected(const struct db *db);
/* "host:port" of the connection, the socket path, or "" (not connected). */
const char *db_host(const struct db *db);
/*
 * Between requests: while connected to a host later in the list than the
 * first, at most every failback_interval seconds, moves to the earliest
 * host before it that is up and synced again. Returns 1 when it moved, 0
 * when it stayed, -1 when the move failed half-way and left the db
 * disconnected (the next db_connect starts over).
 */
int db_failback(struct db *db);

/*
 * Runs statement i. With ncols > 0 it reads at most one row of the first
 * result into cols and sets *found; other rows and results (a CALL's) are
 * consumed. Returns 0 or -1 (db_errno).
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
/*
 * After a statement lost its connection (db_lost()), it may still run on
 * the server: a server does not notice that its client went away while
 * the statement waits for a row lock, and then commits it. From a new
 * connection to the same host this kills the lost connection by its
 * thread id and waits, at most wait_ms, until the thread is gone from
 * information_schema.PROCESSLIST (a user sees and may kill its own
 * threads). Returns 0 when the statement has ended for good (killed,
 * ended by itself, or the server restarted since: its uncommitted work is
 * rolled back), then the next db_connect starts with that host; -1 when
 * that is not known (the host cannot be reached, the thread outlived
 * wait_ms), with the error set.
 */
int db_end_lost(struct db *db, unsigned wait_ms);

/* Runs plain SQL text without parameters (session settings, ROLLBACK). */
int db_query(struct db *db, const char *sql);

/* Runs plain SQL text and calls fn for each row of its first result
 * (values as text, NULL for SQL NULL; fn may be NULL). Returns the number
 * of rows or -1. */
typedef void (*db_row_fn)(void *arg, char **row, int ncols);
int db_query_each(struct db *db, const char *sql, db_row_fn fn, void *arg);

/* Rows changed by statement i's last run (an UPDATE or DELETE); -1 if it
 * has not run on this connection. */
/* Microseconds spent in calls that talk to the server (connect, failback,
 * statements, queries) since db_new: a caller takes the difference. */
uint64_t db_busy_us(const struct db *db);
int64_t db_affected(const struct db *db, int i);
unsigned db_errno(const struct db *db);
const char *db_errmsg(const struct db *db);	/* valid until the next call */
/* The last error means the connection is gone (2006, 2013, ...) or the
 * server is no longer a usable Galera node (1047): try another host. */
int db_lost(const struct db *db);
/* The last error means the server answered but lacks an object, a column
 * or a privilege the statement needs: a schema or grant problem. */
int db_schema_error(const struct db *db);
/* Among those: the server refused the statement as a whole (a Galera
 * node that is not synced, 1047), so nothing of it was applied. */
int db_refused(const struct db *db);
/* The last error rolled the transaction back and may pass: a deadlock, a
 * lock wait timeout, or a commit that failed (1180; on Galera, "Got error
 * 6 during COMMIT": the node left the primary component while it
 * replicated, so nothing was applied anywhere). Retry the transaction. */
int db_retryable(const struct db *db);

#endif
