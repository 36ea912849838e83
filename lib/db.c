/*
 * The MySQL C API behind a small handle: connect with timeouts and session
 * settings, prepare a fixed list of statements, run one with bound values.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "db.h"
#include "xmalloc.h"

#define DB_COLS_MAX 16
#define DB_ERR_LEN 512

struct db {
	const struct db_params *p;
	MYSQL *my;
	const char *sql[DB_STMT_MAX];
	MYSQL_STMT *stmt[DB_STMT_MAX];
	int nstmt;
	unsigned err;
	char errmsg[DB_ERR_LEN];
};

struct db *
db_new(const struct db_params *p)
{
	struct db *db = xmalloc(sizeof(*db));
	memset(db, 0, sizeof(*db));
	db->p = p;
	return db;
}

int
db_add_stmt(struct db *db, const char *sql)
{
	if (db->nstmt == DB_STMT_MAX)
		abort();	/* a programming error, caught by any test */
	db->sql[db->nstmt] = sql;
	return db->nstmt++;
}

static void
set_err(struct db *db, unsigned no, const char *msg)
{
	db->err = no;
	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg);
}

static void
stmt_err(struct db *db, MYSQL_STMT *st)
{
	set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
}

static void
disconnect(struct db *db)
{
	for (int i = 0; i < db->nstmt; i++)
		if (db->stmt[i]) {
			mysql_stmt_close(db->stmt[i]);
			db->stmt[i] = NULL;
		}
	if (db->my) {
		mysql_close(db->my);
		db->my = NULL;
	}
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	disconnect(db);
	free(db);
}

int
db_connected(const struct db *db)
{
	return db->my != NULL;
}

int
db_connect(struct db *db)
{
	const struct db_params *p = db->p;
	unsigned ct = p->connect_timeout, rt = p->read_timeout,
	    wt = p->write_timeout;

	disconnect(db);
	db->my = mysql_init(NULL);
	if (db->my == NULL) {
		set_err(db, CR_OUT_OF_MEMORY, "mysql_init failed");
		return -1;
	}
	mysql_options(db->my, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(db->my, MYSQL_OPT_READ_TIMEOUT, &rt);
	mysql_options(db->my, MYSQL_OPT_WRITE_TIMEOUT, &wt);
	mysql_options(db->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* Our procedures take their own locks; READ COMMITTED keeps InnoDB
	 * from taking gap locks that would make concurrent actions wait. */
	mysql_options(db->my, MYSQL_INIT_COMMAND,
	    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
	/* The socket wins when both are set, as the sample config says;
	 * Connector/C itself would use TCP to the host. */
	const char *sock = p->socket && *p->socket ? p->socket : NULL;
	const char *host = !sock && p->host && *p->host ? p->host : NULL;
	if (mysql_real_connect(db->my, host, p->user, p->password, p->name,
	    p->port, sock, 0) == NULL) {
		set_err(db, mysql_errno(db->my), mysql_error(db->my));
		goto fail;
	}
	for (int i = 0; i < db->nstmt; i++) {
		db->stmt[i] = mysql_stmt_init(db->my);
		if (db->stmt[i] == NULL) {
			set_err(db, mysql_errno(db->my), mysql_error(db->my));
			goto fail;
		}
		if (mysql_stmt_prepare(db->stmt[i], db->sql[i],
		    strlen(db->sql[i])) != 0) {
			stmt_err(db, db->stmt[i]);
			goto fail;
		}
	}
	db->err = 0;
	db->errmsg[0] = '\0';
	return 0;
fail:
	disconnect(db);
	return -1;
}

static void
bind_params(MYSQL_BIND *b, const struct db_val *v, int n, unsigned long *lens)
{
	memset(b, 0, sizeof(*b) * (size_t)n);
	for (int i = 0; i < n; i++) {
		switch (v[i].type) {
		case DB_NULL:
			b[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		case DB_INT:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)&v[i].i;
			break;
		case DB_STR:
			if (v[i].str == NULL) {
				b[i].buffer_type = MYSQL_TYPE_NULL;
				break;
			}
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = v[i].str;
			lens[i] = v[i].len;
			b[i].length = &lens[i];
			b[i].buffer_length = v[i].len;
			break;
		}
	}
}

struct row_bind {
	MYSQL_BIND b[DB_COLS_MAX];
	unsigned long lens[DB_COLS_MAX];
	my_bool nulls[DB_COLS_MAX], errs[DB_COLS_MAX];
};

static int
bind_cols(struct db *db, MYSQL_STMT *st, struct row_bind *rb,
    struct db_val *cols, int ncols)
{
	MYSQL_BIND *b = rb->b;

	if (ncols > DB_COLS_MAX || mysql_stmt_field_count(st) != (unsigned)ncols) {
		set_err(db, CR_UNKNOWN_ERROR, "result has an unexpected shape");
		return -1;
	}
	memset(b, 0, sizeof(rb->b));
	for (int i = 0; i < ncols; i++) {
		if (cols[i].type == DB_INT) {
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &cols[i].i;
		} else {
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = cols[i].str;
			b[i].buffer_length = cols[i].cap ? cols[i].cap - 1 : 0;
		}
		b[i].length = &rb->lens[i];
		b[i].is_null = &rb->nulls[i];
		b[i].error = &rb->errs[i];
	}
	if (mysql_stmt_bind_result(st, b) != 0) {
		stmt_err(db, st);
		return -1;
	}
	return 0;
}

static void
copy_row(struct row_bind *rb, struct db_val *cols, int ncols)
{
	for (int i = 0; i < ncols; i++) {
		cols[i].is_null = rb->nulls[i];
		cols[i].len = rb->lens[i];
		if (cols[i].type == DB_STR && cols[i].cap)
			cols[i].str[rb->nulls[i] ? 0 : rb->lens[i]] = '\0';
	}
}

int
db_exec_rows(struct db *db, int i, const struct db_val *params, int nparams,
    struct db_val *cols, int ncols,
    int (*row)(void *arg, const struct db_val *cols), void *arg)
{
	MYSQL_BIND b[DB_COLS_MAX];
	unsigned long lens[DB_COLS_MAX];
	struct row_bind rb;
	MYSQL_STMT *st;
	int rc = -1, r;

	if (db->my == NULL) {
		set_err(db, CR_SERVER_GONE_ERROR, "not connected");
		return -1;
	}
	st = db->stmt[i];
	if (nparams > DB_COLS_MAX ||
	    mysql_stmt_param_count(st) != (unsigned long)nparams) {
		set_err(db, CR_UNKNOWN_ERROR, "parameter count mismatch");
		return -1;
	}
	bind_params(b, params, nparams, lens);
	if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0) {
		stmt_err(db, st);
		goto out;
	}
	if (bind_cols(db, st, &rb, cols, ncols) == -1)
		goto out;
	while ((r = mysql_stmt_fetch(st)) == 0) {
		copy_row(&rb, cols, ncols);
		if (row(arg, cols) == -1)
			goto out;
	}
	if (r == 1) {
		stmt_err(db, st);
		goto out;
	}
	if (r == MYSQL_DATA_TRUNCATED) {
		set_err(db, CR_UNKNOWN_ERROR, "a result column is too long");
		goto out;
	}
	rc = 0;
out:
	mysql_stmt_free_result(st);
	if (rc == -1 && db_lost(db))
		disconnect(db);
	return rc;
}

/* Fetches the first row into cols, then drains the rest. */
static int
fetch_row(struct db *db, MYSQL_STMT *st, struct db_val *cols, int ncols,
    int *found)
{
	MYSQL_BIND b[DB_COLS_MAX];
	unsigned long lens[DB_COLS_MAX];
	my_bool nulls[DB_COLS_MAX], errs[DB_COLS_MAX];
	int rc = -1;

	if (ncols > DB_COLS_MAX || mysql_stmt_field_count(st) != (unsigned)ncols) {
		set_err(db, CR_UNKNOWN_ERROR, "result has an unexpected shape");
		return -1;
	}
	memset(b, 0, sizeof(b));
	for (int i = 0; i < ncols; i++) {
		if (cols[i].type == DB_INT) {
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &cols[i].i;
		} else {
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = cols[i].str;
			b[i].buffer_length = cols[i].cap ? cols[i].cap - 1 : 0;
		}
		b[i].length = &lens[i];
		b[i].is_null = &nulls[i];
		b[i].error = &errs[i];
	}
	if (mysql_stmt_bind_result(st, b) != 0) {
		stmt_err(db, st);
		goto out;
	}
	*found = 0;
	int r = mysql_stmt_fetch(st);
	if (r == 1) {
		stmt_err(db, st);
		goto out;
	}
	if (r == MYSQL_DATA_TRUNCATED) {
		set_err(db, CR_UNKNOWN_ERROR, "a result column is too long");
		goto out;
	}
	if (r == 0) {
		*found = 1;
		for (int i = 0; i < ncols; i++) {
			cols[i].is_null = nulls[i];
			cols[i].len = lens[i];
			if (cols[i].type == DB_STR && cols[i].cap)
				cols[i].str[nulls[i] ? 0 : lens[i]] = '\0';
		}
	}
	rc = 0;
out:
	mysql_stmt_free_result(st);
	return rc;
}

int
db_exec(struct db *db, int i, const struct db_val *params, int nparams,
    struct db_val *cols, int ncols, int *found)
{
	MYSQL_BIND b[DB_COLS_MAX];
	unsigned long lens[DB_COLS_MAX];
	MYSQL_STMT *st;

	if (db->my == NULL) {
		set_err(db, CR_SERVER_GONE_ERROR, "not connected");
		return -1;
	}
	st = db->stmt[i];
	if (nparams > DB_COLS_MAX ||
	    mysql_stmt_param_count(st) != (unsigned long)nparams) {
		set_err(db, CR_UNKNOWN_ERROR, "parameter count mismatch");
		return -1;
	}
	bind_params(b, params, nparams, lens);
	if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0) {
		stmt_err(db, st);
		goto fail;
	}
	if (ncols > 0) {
		if (fetch_row(db, st, cols, ncols, found) == -1)
			goto fail;
		return 0;
	}
	/* A CALL: consume every result, or the connection is out of sync. */
	for (;;) {
		if (mysql_stmt_field_count(st) > 0)
			mysql_stmt_free_result(st);
		int r = mysql_stmt_next_result(st);
		if (r == -1)
			break;
		if (r > 0) {
			stmt_err(db, st);
			goto fail;
		}
	}
	return 0;
fail:
	/* A dead connection is dropped here; the next db_connect starts over
	 * (never MYSQL_OPT_RECONNECT: it leaves prepared statements broken). */
	if (db_lost(db))
		disconnect(db);
	return -1;
}

int
db_query(struct db *db, const char *sql)
{
	if (db->my == NULL) {
		set_err(db, CR_SERVER_GONE_ERROR, "not connected");
		return -1;
	}
	if (mysql_query(db->my, sql) != 0) {
		set_err(db, mysql_errno(db->my), mysql_error(db->my));
		if (db_lost(db))
			disconnect(db);
		return -1;
	}
	do {
		MYSQL_RES *r = mysql_store_result(db->my);
		if (r)
			mysql_free_result(r);
	} while (mysql_next_result(db->my) == 0);
	return 0;
}

unsigned
db_errno(const struct db *db)
{
	return db->err;
}

const char *
db_errmsg(const struct db *db)
{
	return db->errmsg;
}

int
db_lost(const struct db *db)
{
	switch (db->err) {
	case CR_SERVER_GONE_ERROR:	/* 2006 */
	case CR_SERVER_LOST:		/* 2013 */
	case CR_CONNECTION_ERROR:	/* 2002 */
	case CR_CONN_HOST_ERROR:	/* 2003 */
	case ER_CONNECTION_KILLED:	/* 1927, MariaDB: KILL CONNECTION */
	case ER_SERVER_SHUTDOWN:	/* 1053 */
	case 4031:	/* ER_CLIENT_INTERACTION_TIMEOUT, MySQL 8.0.24+ */
		return 1;
	}
	return 0;
}

int
db_retryable(const struct db *db)
{
	return db->err == ER_LOCK_DEADLOCK || db->err == ER_LOCK_WAIT_TIMEOUT;
}
