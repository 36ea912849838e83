/*
 * operate-node-admin: the operators' command for the tables behind
 * authentication (operate-node-api.md §6): app accounts, bk_token logins and
 * task_operate grants. It reads the service's own config file.
 */
#include <assert.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "auth.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "ids.h"
#include "num.h"
#include "vocab.h"

#define PROG "operate-node-admin"
#define DEFAULT_CONF "/etc/operate-node/operate-node.conf"	/* as app/main.c */

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

#define APP_CODE_MAX 64		/* opn$app.app_code varchar(64) */
#define DAYS_DEFAULT 7
#define DAYS_MAX 3650		/* ten years */
#define SECRET_HEX (2 * ID_HEX_LEN)	/* 32 random bytes in hex */
#define PERM_ACTION "task_operate"	/* opn$grant.action */
#define SHOW_MAX 80		/* bytes of an argument echoed in an error */

/* Result buffers: varchar(n) in utf8mb4 is at most 4n bytes. */
#define COL_CODE (APP_CODE_MAX * 4 + 1)
#define COL_USER (USERNAME_MAX * 4 + 1)
#define COL_ACTION (64 * 4 + 1)
/* Escaped output: at most "\xNN" for each byte, and "...". */
#define ESC_LEN(n) (4 * (n) + 4)

enum { FL_TRUSTED, FL_DAYS, FL_PROJECT, FL_USER, NFLAGS };

static const struct flag {
	const char *name;
	int takes_value;
} flag_table[NFLAGS] = {
	[FL_TRUSTED] = { "--trusted", 0 },
	[FL_DAYS] = { "--days", 1 },
	[FL_PROJECT] = { "--project", 1 },
	[FL_USER] = { "--user", 1 },
};

#define BIT(f) (1u << (f))
#define STR_(x) #x
#define STR(x) STR_(x)

/* The command line after the command's words. */
struct args {
	const char *pos[2];
	int npos;
	unsigned seen;			/* BIT(FL_*) of the flags given */
	const char *val[NFLAGS];	/* their values */
};

struct admin {
	const char *conf_path;
	struct config cfg;
	struct db_params params;
	struct db *db;
};

struct cmd {
	const char *word, *sub;	/* "app" "add"; sub NULL for "grant" */
	int npos;		/* positional arguments */
	unsigned flags;		/* BIT(FL_*) it accepts */
	int (*run)(struct admin *, const struct args *);
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [-c file] COMMAND [ARGS]\n"
	    "  app add CODE [--trusted]   create an enabled app; prints its new secret once\n"
	    "                             (--trusted: may act for any user on any project)\n"
	    "  app disable CODE           refuse the app's requests\n"
	    "  app enable CODE            accept them again\n"
	    "  app list                   code, trusted and enabled of every app\n"
	    "  app rotate CODE            give the app a new secret; prints it once\n"
	    "  token issue USERNAME [--days N]\n"
	    "                             a new bk_token for the user, valid N days\n"
	    "                             (1..%d, default %d); prints it once\n"
	    "  token revoke TOKEN         delete the token\n"
	    "  grant USERNAME PROJECT_ID  " PERM_ACTION " on the project (it must exist)\n"
	    "  revoke USERNAME PROJECT_ID take " PERM_ACTION " on the project away\n"
	    "  grants [--project N | --user NAME]\n"
	    "                             list the grants, of one project or one user\n"
	    "options:\n"
	    "  -c file     the service's config file, whose db_* keys and\n"
	    "              db_password_file name the database\n"
	    "              (default " DEFAULT_CONF ")\n"
	    "  -h, --help  this help\n"
	    "CODE is 1..%d characters of [A-Za-z0-9_-]; USERNAME 1..%d characters, no\n"
	    "control characters, no trailing space; PROJECT_ID a project's id. A\n"
	    "secret or token is printed only once, on stdout, and stored only as its\n"
	    "SHA-256. Lists are tab-separated, under a header line. \"--\" ends the\n"
	    "options. Exit status: 0 done, 1 failed, 2 bad usage.\n",
	    DAYS_MAX, DAYS_DEFAULT, APP_CODE_MAX, USERNAME_MAX);
}

static void
vfail(const char *fmt, va_list ap)
{
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(fmt, ap);
	va_end(ap);
}

static int
usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The reason, then the usage text; returns EXIT_USAGE. */
static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(fmt, ap);
	va_end(ap);
	usage(stderr);
	return EXIT_USAGE;
}

/*
 * s made safe for a terminal: control characters (C0, DEL, C1), backslash
 * and bytes that are not UTF-8 become \xNN or \u00NN; cut after max input
 * bytes with "...". outlen must be at least ESC_LEN(max).
 */
static const char *
escaped(const char *s, size_t max, char *out, size_t outlen)
{
	size_t n = strlen(s), i = 0, o = 0, k;
	unsigned char c;

	assert(outlen >= ESC_LEN(max));
	while (i < n && i < max) {
		c = (unsigned char)s[i];
		k = buf_utf8_seq_len(s + i, n - i);
		if (k == 0 || c < 0x20 || c == 0x7f || c == '\\') {
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
			k = 1;
		} else if (i + k > max) {
			break;
		} else if (k == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0) {
			/* U+0080..U+009F */
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x",
			    (unsigned char)s[i + 1]);
		} else {
			memcpy(out + o, s + i, k);
			o += k;
		}
		i += k;
	}
	if (i < n)
		memcpy(out + o, "...", 3), o += 3;
	out[o] = '\0';
	return out;
}

#define ESCAPED(s, max, buf) escaped((s), (max), (buf), sizeof(buf))

static int
code_ok(const char *code)
{
	size_t n = strlen(code);

	if (n == 0 || n > APP_CODE_MAX ||
	    strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-") != n) {
		char e[ESC_LEN(SHOW_MAX)];
		usage_error("app code \"%s\" is not 1..%d characters of "
		    "[A-Za-z0-9_-]", ESCAPED(code, SHOW_MAX, e), APP_CODE_MAX);
		return 0;
	}
	return 1;
}

/*
 * 1..USERNAME_MAX characters of UTF-8 without control characters, as the
 * service checks bk_username. A trailing space is refused too: the
 * utf8mb4_bin columns pad, so "alice " would name alice.
 */
static int
username_ok(const char *user)
{
	size_t n = strlen(user), chars = buf_utf8_len(user, n);
	char e[ESC_LEN(SHOW_MAX)];
	const char *why = NULL;

	if (chars == 0 || chars == SIZE_MAX || chars > USERNAME_MAX)
		why = "is not 1.." STR(USERNAME_MAX) " characters of UTF-8";
	for (size_t i = 0; why == NULL && i < n; i++) {
		unsigned char c = (unsigned char)user[i];
		if (c < 0x20 || c == 0x7f || (c == 0xc2 &&
		    (unsigned char)user[i + 1] < 0xa0))
			why = "holds a control character";
	}
	if (why == NULL && user[n - 1] == ' ')
		why = "ends with a space";
	if (why) {
		usage_error("username \"%s\" %s", ESCAPED(user, SHOW_MAX, e),
		    why);
		return 0;
	}
	return 1;
}

/* A bounded number from the command line, or a usage error naming it. */
static int
number_ok(const char *what, const char *s, int64_t min, int64_t max,
    int64_t *out)
{
	char why[64], e[ESC_LEN(SHOW_MAX)];

	if (num_parse_i64(s, strlen(s), min, max, out, why, sizeof(why)) == -1) {
		if (max == INT64_MAX)
			usage_error("%s \"%s\" %s (it is at least %lld)", what,
			    ESCAPED(s, SHOW_MAX, e), why, (long long)min);
		else
			usage_error("%s \"%s\" %s (%lld..%lld)", what,
			    ESCAPED(s, SHOW_MAX, e), why, (long long)min,
			    (long long)max);
		return 0;
	}
	return 1;
}

static struct db_val
str_val(const char *s)
{
	struct db_val v = { .type = DB_STR, .str = (char *)s, .len = strlen(s) };
	return v;
}

static struct db_val
int_val(int64_t i)
{
	struct db_val v = { .type = DB_INT, .i = i };
	return v;
}

static struct db_val
null_val(void)
{
	struct db_val v = { .type = DB_NULL };
	return v;
}

static struct db_val
col_str(char *buf, size_t cap)
{
	struct db_val v = { .type = DB_STR, .str = buf, .cap = cap };
	return v;
}

/* Where the database is, for messages; db_socket wins over db_host, as
 * conf/operate-node.conf says. */
static const char *
db_where(const struct admin *a, char *out, size_t outlen)
{
	if (a->params.socket[0])
		snprintf(out, outlen, "socket %s", a->params.socket);
	else if (a->params.hosts[0])
		snprintf(out, outlen, "%s", a->params.hosts);
	else
		snprintf(out, outlen, "the client library's default socket");
	return out;
}

static void
fail_db(const struct admin *a)
{
	char where[CONF_PATH + 16];

	fail("database (%s): %s", db_where(a, where, sizeof(where)),
	    db_errmsg(a->db));
}

/*
 * Loads the config, then prepares sql[0..n) and connects: statement i is
 * sql[i]. Reports its own errors.
 */
static int
admin_open(struct admin *a, const char *const sql[], int n)
{
	char err[CONF_PATH + 256], where[CONF_PATH + 16];
	int rc = -1;

	config_defaults(&a->cfg);
	if (config_load(&a->cfg, a->conf_path, err, sizeof(err)) == -1) {
		fail("%s", err);
		goto out;
	}
	config_db_params(&a->cfg, &a->params);
	a->db = db_new(&a->params);
	for (int i = 0; i < n; i++) {
		int st = db_add_stmt(a->db, sql[i]);
		assert(st == i);
		(void)st;
	}
	if (db_connect(a->db) == -1) {
		/* Client errors (2xxx) are the connection's; others come from
		 * the server: access denied, no such database or table. */
		unsigned no = db_errno(a->db);
		if (no >= CR_MIN_ERROR && no <= CR_MAX_ERROR)
			fail("cannot connect to the database (%s): %s",
			    db_where(a, where, sizeof(where)), db_errmsg(a->db));
		else
			fail_db(a);
		goto out;
	}
	rc = 0;
out:
	/* One connection per run: the password is not needed any more. */
	explicit_bzero(a->cfg.db_password, sizeof(a->cfg.db_password));
	return rc;
}

/* 32 random bytes as 64 hex digits, and the hash that is stored. */
static void
new_secret(char secret[SECRET_HEX + 1], char hash[AUTH_HASH_LEN + 1])
{
	id_random_hex(secret);
	id_random_hex(secret + ID_HEX_LEN);
	auth_hash(secret, SECRET_HEX, hash);
}

/* The one line a secret is ever printed on. If it cannot be written, the
 * stored hash belongs to a secret nobody has: say what to do about it. */
static int
print_secret(const char *secret, const char *remedy)
{
	if (fputs(secret, stdout) == EOF || fputc('\n', stdout) == EOF ||
	    fflush(stdout) == EOF) {
		fail("cannot write to stdout; %s", remedy);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Ends a listing: a failed write to stdout is a failure. */
static int
list_done(void)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fail("cannot write to stdout");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int
cmd_app_add(struct admin *a, const struct args *g)
{
	static const char *const sql[] = {
		"INSERT INTO `opn$app` (app_code, secret_hash, is_trusted, "
		"is_enabled) VALUES (?, ?, ?, 1)",
	};
	const char *code = g->pos[0];
	char secret[SECRET_HEX + 1], hash[AUTH_HASH_LEN + 1];
	struct db_val p[3];
	int rc = EXIT_FAIL;

	if (!code_ok(code))
		return EXIT_USAGE;
	if (admin_open(a, sql, 1) == -1)
		return EXIT_FAIL;
	new_secret(secret, hash);
	p[0] = str_val(code);
	p[1] = str_val(hash);
	p[2] = int_val((g->seen & BIT(FL_TRUSTED)) != 0);
	if (db_exec(a->db, 0, p, 3, NULL, 0, NULL) == -1) {
		if (db_errno(a->db) == ER_DUP_ENTRY)
			fail("app \"%s\" already exists (app rotate gives it a "
			    "new secret)", code);
		else
			fail_db(a);
		goto out;
	}
	rc = print_secret(secret, "the app was created: run app rotate to "
	    "get a secret");
out:
	explicit_bzero(secret, sizeof(secret));
	return rc;
}

static int
set_enabled(struct admin *a, const struct args *g, int on)
{
	static const char *const sql[] = {
		"UPDATE `opn$app` SET is_enabled = ? WHERE app_code = ?",
		"SELECT is_enabled FROM `opn$app` WHERE app_code = ?",
	};
	const char *code = g->pos[0];
	struct db_val p[2], col = int_val(0);
	int found = 0;

	if (!code_ok(code))
		return EXIT_USAGE;
	if (admin_open(a, sql, 2) == -1)
		return EXIT_FAIL;
	p[0] = int_val(on);
	p[1] = str_val(code);
	if (db_exec(a->db, 0, p, 2, NULL, 0, NULL) == -1 ||
	    db_exec(a->db, 1, &p[1], 1, &col, 1, &found) == -1) {
		fail_db(a);
		return EXIT_FAIL;
	}
	if (!found) {
		fail("no such app \"%s\"", code);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int
cmd_app_disable(struct admin *a, const struct args *g)
{
	return set_enabled(a, g, 0);
}

static int
cmd_app_enable(struct admin *a, const struct args *g)
{
	return set_enabled(a, g, 1);
}

static int
cmd_app_list(struct admin *a, const struct args *g)
{
	/* db_exec reads one row: walk the primary key one row at a time. */
	static const char *const sql[] = {
		"SELECT app_code, is_trusted, is_enabled FROM `opn$app` "
		"WHERE ? IS NULL OR app_code > ? ORDER BY app_code LIMIT 1",
	};
	char code[COL_CODE], last[COL_CODE], e[ESC_LEN(COL_CODE)];
	struct db_val p[2], c[3];
	int found;

	(void)g;
	if (admin_open(a, sql, 1) == -1)
		return EXIT_FAIL;
	printf("code\ttrusted\tenabled\n");
	p[0] = p[1] = null_val();
	for (;;) {
		c[0] = col_str(code, sizeof(code));
		c[1] = c[2] = int_val(0);
		if (db_exec(a->db, 0, p, 2, c, 3, &found) == -1) {
			fail_db(a);
			return EXIT_FAIL;
		}
		if (!found)
			break;
		printf("%s\t%s\t%s\n", ESCAPED(code, sizeof(code), e),
		    c[1].i ? "yes" : "no", c[2].i ? "yes" : "no");
		memcpy(last, code, c[0].len + 1);
		p[0] = p[1] = str_val(last);
	}
	return list_done();
}

static int
cmd_app_rotate(struct admin *a, const struct args *g)
{
	static const char *const sql[] = {
		"UPDATE `opn$app` SET secret_hash = ? WHERE app_code = ?",
		"SELECT secret_hash = ? FROM `opn$app` WHERE app_code = ?",
	};
	const char *code = g->pos[0];
	char secret[SECRET_HEX + 1], hash[AUTH_HASH_LEN + 1];
	struct db_val p[2], col = int_val(0);
	int found = 0, rc = EXIT_FAIL;

	if (!code_ok(code))
		return EXIT_USAGE;
	if (admin_open(a, sql, 2) == -1)
		return EXIT_FAIL;
	new_secret(secret, hash);
	p[0] = str_val(hash);
	p[1] = str_val(code);
	if (db_exec(a->db, 0, p, 2, NULL, 0, NULL) == -1 ||
	    db_exec(a->db, 1, p, 2, &col, 1, &found) == -1) {
		fail_db(a);
		goto out;
	}
	if (!found) {
		fail("no such app \"%s\"", code);
		goto out;
	}
	/* Checked after the write: a rotate running at the same time won. */
	if (col.i != 1) {
		fail("app \"%s\" was rotated by someone else meanwhile; run app "
		    "rotate again", code);
		goto out;
	}
	rc = print_secret(secret, "the old secret no longer works: run app "
	    "rotate again");
out:
	explicit_bzero(secret, sizeof(secret));
	return rc;
}

static int
cmd_token_issue(struct admin *a, const struct args *g)
{
	static const char *const sql[] = {
		"INSERT INTO `opn$token` (token_hash, username, expires_at) "
		"VALUES (?, ?, UTC_TIMESTAMP(6) + INTERVAL ? DAY)",
	};
	const char *user = g->pos[0];
	char token[SECRET_HEX + 1], hash[AUTH_HASH_LEN + 1];
	int64_t days = DAYS_DEFAULT;
	struct db_val p[3];
	int rc = EXIT_FAIL;

	if (!username_ok(user))
		return EXIT_USAGE;
	if ((g->seen & BIT(FL_DAYS)) &&
	    !number_ok("--days", g->val[FL_DAYS], 1, DAYS_MAX, &days))
		return EXIT_USAGE;
	if (admin_open(a, sql, 1) == -1)
		return EXIT_FAIL;
	new_secret(token, hash);
	p[0] = str_val(hash);
	p[1] = str_val(user);
	p[2] = int_val(days);
	if (db_exec(a->db, 0, p, 3, NULL, 0, NULL) == -1) {
		fail_db(a);
		goto out;
	}
	rc = print_secret(token, "the token was stored: run token issue "
	    "again (the lost one expires)");
out:
	explicit_bzero(token, sizeof(token));
	return rc;
}

static int
cmd_token_revoke(struct admin *a, const struct args *g)
{
	static const char *const sql[] = {
		"SELECT 1 FROM `opn$token` WHERE token_hash = ?",
		"DELETE FROM `opn$token` WHERE token_hash = ?",
	};
	const char *token = g->pos[0];
	char hash[AUTH_HASH_LEN + 1];
	struct db_val p, col = int_val(0);
	size_t n = strlen(token);
	int found = 0;

	/* Never echoed: it is a credential. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)token[i] < 0x20 || token[i] == 0x7f)
			n = 0;
	if (n == 0 || n > CRED_MAX)
		return usage_error("TOKEN must be 1..%d bytes without control "
		    "characters", CRED_MAX);
	if (admin_open(a, sql, 2) == -1)
		return EXIT_FAIL;
	auth_hash(token, strlen(token), hash);
	p = str_val(hash);
	if (db_exec(a->db, 0, &p, 1, &col, 1, &found) == -1 ||
	    (found && db_exec(a->db, 1, &p, 1, NULL, 0, NULL) == -1)) {
		fail_db(a);
		return EXIT_FAIL;
	}
	if (!found) {
		fail("no such token");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* grant and revoke: USERNAME PROJECT_ID checked, the database opened with
 * their two statements, and p set to (project, user, task_operate). */
static int
grant_open(struct admin *a, const struct args *g, const char *const *sql,
    struct db_val p[3], int64_t *project)
{
	if (!username_ok(g->pos[0]) ||
	    !number_ok("PROJECT_ID", g->pos[1], 1, INT64_MAX, project))
		return EXIT_USAGE;
	if (admin_open(a, sql, 2) == -1)
		return EXIT_FAIL;
	p[0] = int_val(*project);
	p[1] = str_val(g->pos[0]);
	p[2] = str_val(PERM_ACTION);
	return EXIT_OK;
}

static int
cmd_grant(struct admin *a, const struct args *g)
{
	static const char *const sql[] = {
		"SELECT 1 FROM core_project WHERE id = ?",
		/* Granting what is already granted is done, not an error. */
		"INSERT INTO `opn$grant` (project_id, username, action) "
		"VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE action = action",
	};
	struct db_val p[3], col = int_val(0);
	int64_t project;
	int found = 0, rc;

	if ((rc = grant_open(a, g, sql, p, &project)) != EXIT_OK)
		return rc;
	if (db_exec(a->db, 0, p, 1, &col, 1, &found) == -1) {
		fail_db(a);
		return EXIT_FAIL;
	}
	if (!found) {
		fail("project %lld does not exist", (long long)project);
		return EXIT_FAIL;
	}
	if (db_exec(a->db, 1, p, 3, NULL, 0, NULL) == -1) {
		fail_db(a);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int
cmd_revoke(struct admin *a, const struct args *g)
{
	static const char *const sql[] = {
		"SELECT 1 FROM `opn$grant` WHERE project_id = ? AND "
		"username = ? AND action = ?",
		"DELETE FROM `opn$grant` WHERE project_id = ? AND "
		"username = ? AND action = ?",
	};
	const char *user = g->pos[0];
	struct db_val p[3], col = int_val(0);
	int64_t project;
	int found = 0, rc;

	if ((rc = grant_open(a, g, sql, p, &project)) != EXIT_OK)
		return rc;
	if (db_exec(a->db, 0, p, 3, &col, 1, &found) == -1 ||
	    (found && db_exec(a->db, 1, p, 3, NULL, 0, NULL) == -1)) {
		fail_db(a);
		return EXIT_FAIL;
	}
	if (!found) {
		fail("user \"%s\" has no " PERM_ACTION " grant on project %lld",
		    user, (long long)project);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int
cmd_grants(struct admin *a, const struct args *g)
{
	/* One row at a time along the primary key, after the last row seen
	 * (all NULL: from the start); a NULL filter matches everything. */
	static const char *const sql[] = {
		"SELECT project_id, username, action FROM `opn$grant` "
		"WHERE (? IS NULL OR project_id = ?) AND (? IS NULL OR username = ?) "
		"AND (? IS NULL OR project_id > ? OR (project_id = ? AND "
		"(username > ? OR (username = ? AND action > ?)))) "
		"ORDER BY project_id, username, action LIMIT 1",
	};
	char user[COL_USER], action[COL_ACTION];
	char last_user[COL_USER], last_action[COL_ACTION];
	char e1[ESC_LEN(COL_USER)], e2[ESC_LEN(COL_ACTION)];
	struct db_val p[10], c[3];
	int64_t project = 0;
	int found;

	if ((g->seen & BIT(FL_PROJECT)) && (g->seen & BIT(FL_USER)))
		return usage_error("grants takes --project or --user, not both");
	if ((g->seen & BIT(FL_PROJECT)) && !number_ok("--project",
	    g->val[FL_PROJECT], 1, INT64_MAX, &project))
		return EXIT_USAGE;
	if ((g->seen & BIT(FL_USER)) && !username_ok(g->val[FL_USER]))
		return EXIT_USAGE;
	if (admin_open(a, sql, 1) == -1)
		return EXIT_FAIL;
	for (int i = 0; i < 10; i++)
		p[i] = null_val();
	if (g->seen & BIT(FL_PROJECT))
		p[0] = p[1] = int_val(project);
	if (g->seen & BIT(FL_USER))
		p[2] = p[3] = str_val(g->val[FL_USER]);
	printf("project_id\tusername\taction\n");
	for (;;) {
		c[0] = int_val(0);
		c[1] = col_str(user, sizeof(user));
		c[2] = col_str(action, sizeof(action));
		if (db_exec(a->db, 0, p, 10, c, 3, &found) == -1) {
			fail_db(a);
			return EXIT_FAIL;
		}
		if (!found)
			break;
		printf("%lld\t%s\t%s\n", (long long)c[0].i,
		    ESCAPED(user, sizeof(user), e1),
		    ESCAPED(action, sizeof(action), e2));
		memcpy(last_user, user, c[1].len + 1);
		memcpy(last_action, action, c[2].len + 1);
		p[4] = p[5] = p[6] = int_val(c[0].i);
		p[7] = p[8] = str_val(last_user);
		p[9] = str_val(last_action);
	}
	return list_done();
}

static const struct cmd cmds[] = {
	{ "app", "add", 1, BIT(FL_TRUSTED), cmd_app_add },
	{ "app", "disable", 1, 0, cmd_app_disable },
	{ "app", "enable", 1, 0, cmd_app_enable },
	{ "app", "list", 0, 0, cmd_app_list },
	{ "app", "rotate", 1, 0, cmd_app_rotate },
	{ "token", "issue", 1, BIT(FL_DAYS), cmd_token_issue },
	{ "token", "revoke", 1, 0, cmd_token_revoke },
	{ "grant", NULL, 2, 0, cmd_grant },
	{ "revoke", NULL, 2, 0, cmd_revoke },
	{ "grants", NULL, 0, BIT(FL_PROJECT) | BIT(FL_USER), cmd_grants },
};

#define NCMDS ((int)(sizeof(cmds) / sizeof(cmds[0])))

static int
is_help(const char *s)
{
	return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0;
}

/* The command named by argv[0..]; *used is how many words it took. */
static const struct cmd *
find_cmd(int argc, char **argv, int *used)
{
	char e[ESC_LEN(SHOW_MAX)];
	int known = 0;

	for (int i = 0; i < NCMDS; i++) {
		if (strcmp(cmds[i].word, argv[0]) != 0)
			continue;
		known = 1;
		if (cmds[i].sub == NULL) {
			*used = 1;
			return &cmds[i];
		}
		if (argc > 1 && strcmp(cmds[i].sub, argv[1]) == 0) {
			*used = 2;
			return &cmds[i];
		}
	}
	if (!known)
		usage_error("unknown command \"%s\"",
		    ESCAPED(argv[0], SHOW_MAX, e));
	else if (argc < 2)
		usage_error("%s needs a subcommand", argv[0]);
	else
		usage_error("unknown command \"%s %s\"", argv[0],
		    ESCAPED(argv[1], SHOW_MAX, e));
	return NULL;
}

/*
 * The flags ("--days N" or "--days=N") and positional arguments after the
 * command's words, in any order; "--" ends the flags. Returns EXIT_OK,
 * EXIT_USAGE (reported), or -1 when help was asked for.
 */
static int
parse_args(const struct cmd *c, int argc, char **argv, struct args *g)
{
	char e[ESC_LEN(SHOW_MAX)];
	const char *name = c->sub ? c->sub : "";
	int flags_end = 0;

	memset(g, 0, sizeof(*g));
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (!flags_end && strcmp(s, "--") == 0) {
			flags_end = 1;
			continue;
		}
		if (!flags_end && is_help(s))
			return -1;
		if (flags_end || s[0] != '-' || s[1] == '\0') {
			if (g->npos == c->npos)
				return usage_error("%s%s%s: too many arguments",
				    c->word, c->sub ? " " : "", name);
			g->pos[g->npos++] = s;
			continue;
		}
		size_t len = strcspn(s, "=");
		int f;
		for (f = 0; f < NFLAGS; f++)
			if (strlen(flag_table[f].name) == len &&
			    strncmp(flag_table[f].name, s, len) == 0)
				break;
		if (f == NFLAGS || !(c->flags & BIT(f)))
			return usage_error("%s%s%s: unknown option \"%s\"",
			    c->word, c->sub ? " " : "", name,
			    ESCAPED(s, SHOW_MAX, e));
		if (g->seen & BIT(f))
			return usage_error("%s given twice", flag_table[f].name);
		g->seen |= BIT(f);
		if (!flag_table[f].takes_value) {
			if (s[len] == '=')
				return usage_error("%s takes no value",
				    flag_table[f].name);
		} else if (s[len] == '=') {
			g->val[f] = s + len + 1;
		} else if (i + 1 < argc) {
			g->val[f] = argv[++i];
		} else {
			return usage_error("%s needs a value",
			    flag_table[f].name);
		}
	}
	if (g->npos < c->npos)
		return usage_error("%s%s%s: missing arguments", c->word,
		    c->sub ? " " : "", name);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct admin a;
	const struct cmd *c;
	struct args g;
	int i = 1, used = 0, rc;

	memset(&a, 0, sizeof(a));
	a.conf_path = DEFAULT_CONF;
	/* A closed stdout must be an error we report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	while (i < argc && argv[i][0] == '-') {
		if (is_help(argv[i])) {
			usage(stdout);
			return EXIT_OK;
		}
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "-c") != 0) {
			char e[ESC_LEN(SHOW_MAX)];
			return usage_error("unknown option \"%s\"",
			    ESCAPED(argv[i], SHOW_MAX, e));
		}
		if (i + 1 == argc)
			return usage_error("-c needs a file");
		a.conf_path = argv[i + 1];
		i += 2;
	}
	if (i == argc)
		return usage_error("a command is required");
	if ((c = find_cmd(argc - i, argv + i, &used)) == NULL)
		return EXIT_USAGE;
	i += used;
	rc = parse_args(c, argc - i, argv + i, &g);
	if (rc == -1) {
		usage(stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK)
		return rc;
	if (mysql_library_init(0, NULL, NULL) != 0) {
		fail("mysql_library_init failed");
		return EXIT_FAIL;
	}
	rc = c->run(&a, &g);
	db_close(a.db);
	mysql_library_end();
	return rc;
}
