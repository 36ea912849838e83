/*
 * operate-node-admin: the operators' command for the tables behind
 * authentication (README "Authentication"): app accounts, bk_token logins and
 * task_operate grants; and for the outbox rows the dispatcher could not
 * send. It reads the service's own config file, and connects as
 * admin_db_user (admin_db_password_file) when that names an account.
 */
#include <assert.h>
#include <getopt.h>
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
#include "text.h"
#include "version.h"
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
#define CMD_SQL_MAX 2		/* statements of one command */
#define POS_MAX 2		/* positional arguments of one command */
#define OUTBOX_LIST_MAX 1000	/* rows `outbox list` shows, oldest first */

/* Result buffers: varchar(n) in utf8mb4 is at most 4n bytes. */
#define COL_CODE (APP_CODE_MAX * 4 + 1)
#define COL_USER (USERNAME_MAX * 4 + 1)
#define COL_ACTION (64 * 4 + 1)
#define COL_NAME (255 * 4 + 1)	/* opn$outbox's varchar(255) columns */
#define COL_TIME 32
/* Escaped output: at most "\xNN" for each byte, and "...". */
#define ESC_LEN(n) (4 * (n) + 4)

enum { FL_TRUSTED, FL_DAYS, FL_PROJECT, FL_USER, NFLAGS };

/* What an argument is, and so how it is checked. */
enum arg_kind { A_NONE, A_CODE, A_USER, A_TOKEN, A_PROJECT, A_DAYS, A_ROW };

/* A positional argument's name in messages. */
static const char *const kind_name[] = {
	[A_CODE] = "CODE", [A_USER] = "USERNAME", [A_TOKEN] = "TOKEN",
	[A_PROJECT] = "PROJECT_ID", [A_DAYS] = "DAYS", [A_ROW] = "ID",
};

static const struct flag {
	const char *name;
	enum arg_kind value;	/* A_NONE: the flag takes no value */
} flag_table[NFLAGS] = {
	[FL_TRUSTED] = { "--trusted", A_NONE },
	[FL_DAYS] = { "--days", A_DAYS },
	[FL_PROJECT] = { "--project", A_PROJECT },
	[FL_USER] = { "--user", A_USER },
};

#define BIT(f) (1u << (f))
#define STR_(x) #x
#define STR(x) STR_(x)

struct cmd;

/* The command and the command line after its words. */
struct args {
	const struct cmd *cmd;
	const char *pos[POS_MAX];
	int npos;
	unsigned seen;			/* BIT(FL_*) of the flags given */
	const char *val[NFLAGS];	/* their values */
	int64_t project, days, row;	/* the numbers among them, checked */
};

struct admin {
	const char *conf_path;
	struct config cfg;
	struct db_params params;
	struct db *db;
	/* A command's new secret or token, and the hash that is stored. */
	char secret[SECRET_HEX + 1], hash[AUTH_HASH_LEN + 1];
};

/*
 * A command is its arguments, its statements and a run() that binds and
 * executes them: the arguments are checked and the database is opened
 * before run(), and a new secret (remedy set) is printed after it.
 */
struct cmd {
	const char *word, *sub;	/* "app" "add"; sub NULL for "grant" */
	enum arg_kind pos[POS_MAX];	/* positional; A_NONE: no more */
	unsigned flags;		/* BIT(FL_*) it accepts */
	unsigned one_of;	/* BIT(FL_*) of which at most one may be given */
	const char *sql[CMD_SQL_MAX];	/* statement i is sql[i]; NULL: none */
	/* Non-NULL: run() stores a->hash, and a->secret is printed once
	 * after it; what to do when it cannot be printed. */
	const char *remedy;
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
	    "  outbox list                undispatched outbox rows that failed: parked\n"
	    "                             ones and those to be tried again (oldest %d)\n"
	    "  outbox retry ID            send a parked or waiting row again now\n"
	    "options:\n"
	    "  -c file, --config file\n"
	    "              the service's config file, whose db_* keys name the\n"
	    "              database, and admin_db_user and admin_db_password_file\n"
	    "              this command's account (else db_user's)\n"
	    "              (default " DEFAULT_CONF ")\n"
	    "  -h, --help  this help (also after a command: app --help)\n"
	    "  -V, --version\n"
	    "              the version\n"
	    "CODE is 1..%d characters of [A-Za-z0-9_-]; USERNAME 1..%d characters, no\n"
	    "control characters, no trailing space; PROJECT_ID a project's id. A\n"
	    "secret or token is printed only once, on stdout, and stored only as its\n"
	    "SHA-256. Lists are tab-separated, under a header line. \"--\" ends the\n"
	    "options. Exit status: 0 done, 1 failed, 2 bad usage.\n",
	    DAYS_MAX, DAYS_DEFAULT, OUTBOX_LIST_MAX, APP_CODE_MAX, USERNAME_MAX);
}

static int
complain(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The reason on stderr, and the usage text after it when status is
 * EXIT_USAGE; returns status. */
static int
complain(int status, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (status == EXIT_USAGE)
		usage(stderr);
	return status;
}

#define fail(...) complain(EXIT_FAIL, __VA_ARGS__)
#define usage_error(...) complain(EXIT_USAGE, __VA_ARGS__)

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
 * As the service checks bk_username (lib/text.h): 1..USERNAME_MAX
 * characters of UTF-8, no control character (C0, DEL, C1), no trailing
 * space: the utf8mb4_bin columns pad, so "alice " would name alice.
 */
static int
username_ok(const char *user)
{
	char e[ESC_LEN(SHOW_MAX)];
	const char *why;

	switch (text_check(user, strlen(user), USERNAME_MAX, 0)) {
	case TEXT_OK:
		return 1;
	case TEXT_CONTROL:
		why = "holds a control character";
		break;
	case TEXT_SPACE:
		why = "ends with a space";
		break;
	default:
		why = "is not 1.." STR(USERNAME_MAX) " characters of UTF-8";
		break;
	}
	usage_error("username \"%s\" %s", ESCAPED(user, SHOW_MAX, e), why);
	return 0;
}

/* As the service checks bk_token; never echoed: it is a credential. */
static int
token_ok(const char *token)
{
	if (text_check(token, strlen(token), CRED_MAX, TEXT_BYTES) == TEXT_OK)
		return 1;
	usage_error("TOKEN must be 1..%d bytes of UTF-8 without control "
	    "characters or a trailing space", CRED_MAX);
	return 0;
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

static int
fail_db(const struct admin *a)
{
	char where[CONF_PATH + 16];

	return fail("database (%s): %s", db_where(a, where, sizeof(where)),
	    db_errmsg(a->db));
}

/*
 * Loads the config, then prepares sql[0..CMD_SQL_MAX) up to the first NULL
 * and connects: statement i is sql[i]. Reports its own errors.
 */
static int
admin_open(struct admin *a, const char *const sql[CMD_SQL_MAX])
{
	char err[CONF_PATH + 256], where[CONF_PATH + 16];
	int rc = -1;

	config_defaults(&a->cfg);
	a->cfg.for_admin = 1;	/* admin_db_user's account, if one is set */
	if (config_load(&a->cfg, a->conf_path, err, sizeof(err)) == -1) {
		fail("%s", err);
		goto out;
	}
	config_db_params(&a->cfg, &a->params);
	a->db = db_new(&a->params);
	for (int i = 0; i < CMD_SQL_MAX && sql[i]; i++) {
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

/* Runs statement st as db_exec does, reporting a database error. */
static int
run_stmt(struct admin *a, int st, const struct db_val *p, int np,
    struct db_val *cols, int ncols, int *found)
{
	if (db_exec(a->db, st, p, np, cols, ncols, found) == -1) {
		fail_db(a);
		return -1;
	}
	return 0;
}

/*
 * A listing: the header line, then row() for each row of statement 0
 * (tab-separated, under the header). A failed write to stdout is a
 * failure.
 */
static int
list(struct admin *a, const char *header, const struct db_val *p, int np,
    struct db_val *cols, int ncols, int (*row)(void *, const struct db_val *))
{
	printf("%s\n", header);
	if (db_exec_rows(a->db, 0, p, np, cols, ncols, row, NULL) == -1)
		return fail_db(a);
	if (fflush(stdout) == EOF || ferror(stdout))
		return fail("cannot write to stdout");
	return EXIT_OK;
}

static int
cmd_app_add(struct admin *a, const struct args *g)
{
	struct db_val p[] = { db_str(g->pos[0]), db_str(a->hash),
	    db_int((g->seen & BIT(FL_TRUSTED)) != 0) };

	if (db_exec(a->db, 0, p, 3, NULL, 0, NULL) == 0)
		return EXIT_OK;
	if (db_errno(a->db) == ER_DUP_ENTRY)
		return fail("app \"%s\" already exists (app rotate gives it a "
		    "new secret)", g->pos[0]);
	return fail_db(a);
}

/* app disable, app enable: the word is the new state. */
static int
cmd_app_enable(struct admin *a, const struct args *g)
{
	struct db_val p[] = { db_int(strcmp(g->cmd->sub, "enable") == 0),
	    db_str(g->pos[0]) }, col = db_int(0);
	int found = 0;

	if (run_stmt(a, 0, p, 2, NULL, 0, NULL) == -1 ||
	    run_stmt(a, 1, &p[1], 1, &col, 1, &found) == -1)
		return EXIT_FAIL;
	return found ? EXIT_OK : fail("no such app \"%s\"", g->pos[0]);
}

static int
print_app(void *arg, const struct db_val *c)
{
	char e[ESC_LEN(COL_CODE)];

	(void)arg;
	printf("%s\t%s\t%s\n", ESCAPED(c[0].str, COL_CODE, e),
	    c[1].i ? "yes" : "no", c[2].i ? "yes" : "no");
	return 0;
}

static int
cmd_app_list(struct admin *a, const struct args *g)
{
	char code[COL_CODE];
	struct db_val c[] = { col_str(code, sizeof(code)), db_int(0),
	    db_int(0) };

	(void)g;
	return list(a, "code\ttrusted\tenabled", NULL, 0, c, 3, print_app);
}

static int
cmd_app_rotate(struct admin *a, const struct args *g)
{
	struct db_val p[] = { db_str(a->hash), db_str(g->pos[0]) };
	struct db_val col = db_int(0);
	int found = 0;

	if (run_stmt(a, 0, p, 2, NULL, 0, NULL) == -1 ||
	    run_stmt(a, 1, p, 2, &col, 1, &found) == -1)
		return EXIT_FAIL;
	if (!found)
		return fail("no such app \"%s\"", g->pos[0]);
	/* Checked after the write: a rotate running at the same time won. */
	if (col.i != 1)
		return fail("app \"%s\" was rotated by someone else meanwhile; "
		    "run app rotate again", g->pos[0]);
	return EXIT_OK;
}

static int
cmd_token_issue(struct admin *a, const struct args *g)
{
	struct db_val p[] = { db_str(a->hash), db_str(g->pos[0]),
	    db_int(g->days) };

	return run_stmt(a, 0, p, 3, NULL, 0, NULL) == -1 ? EXIT_FAIL : EXIT_OK;
}

/*
 * token revoke and revoke: statement 0 looks for the row, statement 1
 * deletes it, both with p. Sets *found.
 */
static int
delete_found(struct admin *a, const struct db_val *p, int np, int *found)
{
	struct db_val col = db_int(0);

	if (run_stmt(a, 0, p, np, &col, 1, found) == -1 ||
	    (*found && run_stmt(a, 1, p, np, NULL, 0, NULL) == -1))
		return -1;
	return 0;
}

static int
cmd_token_revoke(struct admin *a, const struct args *g)
{
	char hash[AUTH_HASH_LEN + 1];
	struct db_val p;
	int found = 0;

	auth_hash(g->pos[0], strlen(g->pos[0]), hash);
	p = db_str(hash);
	if (delete_found(a, &p, 1, &found) == -1)
		return EXIT_FAIL;
	return found ? EXIT_OK : fail("no such token");
}

/* grant and revoke bind (project, user, task_operate). */
static void
grant_params(const struct args *g, struct db_val p[3])
{
	p[0] = db_int(g->project);
	p[1] = db_str(g->pos[0]);
	p[2] = db_str(PERM_ACTION);
}

static int
cmd_grant(struct admin *a, const struct args *g)
{
	struct db_val p[3], col = db_int(0);
	int found = 0;

	grant_params(g, p);
	if (run_stmt(a, 0, p, 1, &col, 1, &found) == -1)
		return EXIT_FAIL;
	if (!found)
		return fail("project %lld does not exist",
		    (long long)g->project);
	return run_stmt(a, 1, p, 3, NULL, 0, NULL) == -1 ? EXIT_FAIL : EXIT_OK;
}

static int
cmd_revoke(struct admin *a, const struct args *g)
{
	struct db_val p[3];
	int found = 0;

	grant_params(g, p);
	if (delete_found(a, p, 3, &found) == -1)
		return EXIT_FAIL;
	return found ? EXIT_OK : fail("user \"%s\" has no " PERM_ACTION
	    " grant on project %lld", g->pos[0], (long long)g->project);
}

static int
print_grant(void *arg, const struct db_val *c)
{
	char e1[ESC_LEN(COL_USER)], e2[ESC_LEN(COL_ACTION)];

	(void)arg;
	printf("%lld\t%s\t%s\n", (long long)c[0].i,
	    ESCAPED(c[1].str, COL_USER, e1), ESCAPED(c[2].str, COL_ACTION, e2));
	return 0;
}

static int
cmd_grants(struct admin *a, const struct args *g)
{
	char user[COL_USER], action[COL_ACTION];
	struct db_val p[] = { null_val(), null_val(), null_val(), null_val() };
	struct db_val c[] = { db_int(0), col_str(user, sizeof(user)),
	    col_str(action, sizeof(action)) };

	if (g->seen & BIT(FL_PROJECT))
		p[0] = p[1] = db_int(g->project);
	if (g->seen & BIT(FL_USER))
		p[2] = p[3] = db_str(g->val[FL_USER]);
	return list(a, "project_id\tusername\taction", p, 4, c, 3,
	    print_grant);
}

static int
print_outbox(void *arg, const struct db_val *c)
{
	char e1[ESC_LEN(COL_NAME)], e2[ESC_LEN(COL_NAME)],
	    e3[ESC_LEN(COL_NAME)], e4[ESC_LEN(COL_NAME)];

	(void)arg;
	printf("%lld\t%s\t%s\t%s\t%s\t%lld\t%s\t%s\n", (long long)c[0].i,
	    c[1].str, ESCAPED(c[2].str, COL_NAME, e1),
	    ESCAPED(c[3].str, COL_NAME, e2), ESCAPED(c[4].str, COL_NAME, e3),
	    (long long)c[5].i, c[6].str, ESCAPED(c[7].str, COL_NAME, e4));
	return 0;
}

static int
cmd_outbox_list(struct admin *a, const struct args *g)
{
	char state[16], kind[COL_NAME], name[COL_NAME], rk[COL_NAME],
	    since[COL_TIME], why[COL_NAME];
	struct db_val c[] = { db_int(0), col_str(state, sizeof(state)),
	    col_str(kind, sizeof(kind)), col_str(name, sizeof(name)),
	    col_str(rk, sizeof(rk)), db_int(0), col_str(since, sizeof(since)),
	    col_str(why, sizeof(why)) };

	(void)g;
	return list(a, "id\tstate\tkind\tname\trouting_key\tattempts\t"
	    "since_utc\tlast_error", NULL, 0, c, 8, print_outbox);
}

/* Statement 0 finds the undispatched row, statement 1 makes it due. The
 * dispatcher sends it within a second (its poll). */
static int
cmd_outbox_retry(struct admin *a, const struct args *g)
{
	struct db_val p = db_int(g->row);
	int found = 0;

	if (delete_found(a, &p, 1, &found) == -1)
		return EXIT_FAIL;
	return found ? EXIT_OK : fail("no undispatched outbox row %lld",
	    (long long)g->row);
}

/* The commands: their words, arguments, statements (statement i is
 * sql[i]), the remedy of those that print a new secret, and run(). */
static const struct cmd cmds[] = {
	{ "app", "add", { A_CODE }, BIT(FL_TRUSTED), 0, {
	    "INSERT INTO `opn$app` (app_code, secret_hash, is_trusted, "
	    "is_enabled) VALUES (?, ?, ?, 1)" },
	    "the app was created: run app rotate to get a secret",
	    cmd_app_add },
	{ "app", "disable", { A_CODE }, 0, 0, {
	    "UPDATE `opn$app` SET is_enabled = ? WHERE app_code = ?",
	    "SELECT is_enabled FROM `opn$app` WHERE app_code = ?" },
	    NULL, cmd_app_enable },
	{ "app", "enable", { A_CODE }, 0, 0, {
	    "UPDATE `opn$app` SET is_enabled = ? WHERE app_code = ?",
	    "SELECT is_enabled FROM `opn$app` WHERE app_code = ?" },
	    NULL, cmd_app_enable },
	{ "app", "list", { A_NONE }, 0, 0, {
	    "SELECT app_code, is_trusted, is_enabled FROM `opn$app` "
	    "ORDER BY app_code" },
	    NULL, cmd_app_list },
	{ "app", "rotate", { A_CODE }, 0, 0, {
	    "UPDATE `opn$app` SET secret_hash = ? WHERE app_code = ?",
	    "SELECT secret_hash = ? FROM `opn$app` WHERE app_code = ?" },
	    "the old secret no longer works: run app rotate again",
	    cmd_app_rotate },
	{ "token", "issue", { A_USER }, BIT(FL_DAYS), 0, {
	    "INSERT INTO `opn$token` (token_hash, username, expires_at) "
	    "VALUES (?, ?, UTC_TIMESTAMP(6) + INTERVAL ? DAY)" },
	    "the token was stored: run token issue again (the lost one "
	    "expires)", cmd_token_issue },
	{ "token", "revoke", { A_TOKEN }, 0, 0, {
	    "SELECT 1 FROM `opn$token` WHERE token_hash = ?",
	    "DELETE FROM `opn$token` WHERE token_hash = ?" },
	    NULL, cmd_token_revoke },
	{ "grant", NULL, { A_USER, A_PROJECT }, 0, 0, {
	    "SELECT 1 FROM core_project WHERE id = ?",
	    /* Granting what is already granted is done, not an error. */
	    "INSERT INTO `opn$grant` (project_id, username, action) "
	    "VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE action = action" },
	    NULL, cmd_grant },
	{ "revoke", NULL, { A_USER, A_PROJECT }, 0, 0, {
	    "SELECT 1 FROM `opn$grant` WHERE project_id = ? AND "
	    "username = ? AND action = ?",
	    "DELETE FROM `opn$grant` WHERE project_id = ? AND "
	    "username = ? AND action = ?" },
	    NULL, cmd_revoke },
	{ "grants", NULL, { A_NONE }, BIT(FL_PROJECT) | BIT(FL_USER),
	    BIT(FL_PROJECT) | BIT(FL_USER), {
	    /* A NULL filter matches everything. */
	    "SELECT project_id, username, action FROM `opn$grant` "
	    "WHERE (? IS NULL OR project_id = ?) AND "
	    "(? IS NULL OR username = ?) "
	    "ORDER BY project_id, username, action" },
	    NULL, cmd_grants },
	{ "outbox", "list", { A_NONE }, 0, 0, {
	    "SELECT id, IF(parked_time IS NULL, 'waiting', 'parked'), kind, "
	    "name, routing_key, attempts, DATE_FORMAT(COALESCE(failing_since, "
	    "parked_time, created_time), '%Y-%m-%d %H:%i:%s'), "
	    "COALESCE(last_error, '') FROM `opn$outbox` "
	    "WHERE dispatched_time IS NULL AND (parked_time IS NOT NULL OR "
	    "next_attempt_time IS NOT NULL) ORDER BY id LIMIT "
	    STR(OUTBOX_LIST_MAX) },
	    NULL, cmd_outbox_list },
	{ "outbox", "retry", { A_ROW }, 0, 0, {
	    "SELECT 1 FROM `opn$outbox` WHERE id = ? AND dispatched_time IS NULL",
	    "UPDATE `opn$outbox` SET parked_time = NULL, next_attempt_time = "
	    "NULL, failing_since = NULL, attempts = 0 WHERE id = ? AND "
	    "dispatched_time IS NULL" },
	    NULL, cmd_outbox_retry },
};

#define NCMDS ((int)(sizeof(cmds) / sizeof(cmds[0])))

static int
npos(const struct cmd *c)
{
	int n = 0;

	while (n < POS_MAX && c->pos[n] != A_NONE)
		n++;
	return n;
}

/* An argument checked as its kind says (what names a number); numbers
 * are stored in g. Reports a usage error and returns 0 if it is wrong. */
static int
arg_ok(enum arg_kind kind, const char *what, const char *s, struct args *g)
{
	switch (kind) {
	case A_CODE:
		return code_ok(s);
	case A_USER:
		return username_ok(s);
	case A_TOKEN:
		return token_ok(s);
	case A_PROJECT:
		return number_ok(what, s, 1, INT64_MAX, &g->project);
	case A_DAYS:
		return number_ok(what, s, 1, DAYS_MAX, &g->days);
	case A_ROW:
		return number_ok(what, s, 1, INT64_MAX, &g->row);
	case A_NONE:
		break;
	}
	return 1;
}

/* The values of the arguments, before the config is read. */
static int
check_args(const struct cmd *c, struct args *g)
{
	unsigned both = g->seen & c->one_of;

	if (both & (both - 1))
		return usage_error("%s takes %s or %s, not both", c->word,
		    flag_table[__builtin_ctz(both)].name,
		    flag_table[__builtin_ctz(both & (both - 1))].name);
	for (int i = 0; i < g->npos; i++)
		if (!arg_ok(c->pos[i], kind_name[c->pos[i]], g->pos[i], g))
			return EXIT_USAGE;
	for (int f = 0; f < NFLAGS; f++)
		if ((g->seen & BIT(f)) && !arg_ok(flag_table[f].value,
		    flag_table[f].name, g->val[f], g))
			return EXIT_USAGE;
	return EXIT_OK;
}

/*
 * Opens the database with the command's statements and runs it. A new
 * secret (32 random bytes as 64 hex digits) is made before and printed
 * after, on the one line it ever is; if that write fails, the stored hash
 * belongs to a secret nobody has, and the remedy says what to do.
 */
static int
run_cmd(struct admin *a, const struct cmd *c, const struct args *g)
{
	int rc;

	if (admin_open(a, c->sql) == -1)
		return EXIT_FAIL;
	if (c->remedy) {
		id_random_hex(a->secret);
		id_random_hex(a->secret + ID_HEX_LEN);
		auth_hash(a->secret, SECRET_HEX, a->hash);
	}
	rc = c->run(a, g);
	if (rc == EXIT_OK && c->remedy && (fputs(a->secret, stdout) == EOF ||
	    fputc('\n', stdout) == EOF || fflush(stdout) == EOF))
		rc = fail("cannot write to stdout; %s", c->remedy);
	explicit_bzero(a->secret, sizeof(a->secret));
	return rc;
}

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
	if (known && argc > 1 && is_help(argv[1])) {
		*used = -1;		/* "app --help": the usage */
		return NULL;
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
	g->cmd = c;
	g->days = DAYS_DEFAULT;
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (!flags_end && strcmp(s, "--") == 0) {
			flags_end = 1;
			continue;
		}
		if (!flags_end && is_help(s))
			return -1;
		if (flags_end || s[0] != '-' || s[1] == '\0') {
			if (g->npos == npos(c))
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
		if (flag_table[f].value == A_NONE) {
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
	if (g->npos < npos(c))
		return usage_error("%s%s%s: missing arguments", c->word,
		    c->sub ? " " : "", name);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct admin a;
	const struct cmd *c;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct args g;
	int i, ch, used = 0, rc;

	memset(&a, 0, sizeof(a));
	a.conf_path = DEFAULT_CONF;
	/* A closed stdout must be an error we report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	/* "+": the options before the command; the command parses its own. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:c:hV", longopts, NULL)) != -1) {
		char e[ESC_LEN(SHOW_MAX)];
		switch (ch) {
		case 'c':
			a.conf_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf(PROG " " OPN_VERSION "\n");
			return EXIT_OK;
		case ':':
			return usage_error("%s needs a value",
			    ESCAPED(argv[optind - 1], SHOW_MAX, e));
		default:
			return usage_error("unknown option \"%s\"",
			    ESCAPED(argv[optind - 1], SHOW_MAX, e));
		}
	}
	i = optind;
	if (i == argc)
		return usage_error("a command is required");
	if ((c = find_cmd(argc - i, argv + i, &used)) == NULL) {
		if (used != -1)
			return EXIT_USAGE;
		usage(stdout);
		return EXIT_OK;
	}
	i += used;
	rc = parse_args(c, argc - i, argv + i, &g);
	if (rc == -1) {
		usage(stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK || (rc = check_args(c, &g)) != EXIT_OK)
		return rc;
	if (mysql_library_init(0, NULL, NULL) != 0) {
		fail("mysql_library_init failed");
		return EXIT_FAIL;
	}
	rc = run_cmd(&a, c, &g);
	db_close(a.db);
	mysql_library_end();
	return rc;
}
