#!/bin/sh
# Installs the service into an existing bk-sops database, or upgrades an
# earlier install in place, while the service runs. Idempotent: run it
# after every upgrade.
#
#   sql/load.sh [--demo] [--force] DATABASE [client options...]
#   e.g. sql/load.sh bk_sops -S /run/mysqld/mysqld.sock -u root
#
# It adds only the service's own objects: the opn$* tables (sql/schema.sql,
# kept with their data) and the opn_* routines (sql/actions.sql). It never
# creates, alters or drops a table of bk-sops or bamboo.
#
# Versions. The routines of schema version N are installed as
# opn_<name>_vN, beside those of version N-1, which keep serving the
# binaries built for N-1 until they are reloaded; older versions are
# dropped. Accounts that may execute a routine of an earlier version may
# execute the same routine of version N. Run again, an unchanged version
# is left as it is. A database that holds a newer version is refused.
#
# A refusal leaves the database as it was: the checks run before anything
# is written, and when the final check (CALL opn_check_vN(), which names
# every missing or wrong object) fails, what this run created is removed.
#
# An install of version 1 (its own model tables: app_account, user_token,
# project_permission, ...) is upgraded: its apps, tokens and grants are
# copied into opn$app, opn$token and opn$grant; the old tables are left in
# place for you to drop.
#
# --demo loads the demo data of sql/demo.sql INTO BK-SOPS' OWN TABLES: only
# for a private test database. It refuses a database that holds tasks,
# unless --force is given too.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
demo=0 force=0
while [ $# -gt 0 ]; do
	case "$1" in
	--demo) demo=1; shift ;;
	--force) force=1; shift ;;
	-h|--help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--*) echo "load.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { echo "usage: load.sh [--demo] [--force] DATABASE [client options...]" >&2; exit 2; }
db=$1; shift
client=$(command -v mariadb || command -v mysql)
q() { "$client" --no-defaults "$@" -N -B "$db"; }
say() { echo "load.sh: $*" >&2; }

# The database must be bk-sops': the procedures read and write its tables.
missing=$(q "$@" -e "SELECT GROUP_CONCAT(t.n) FROM (
	SELECT 'eri_node' AS n UNION ALL SELECT 'eri_state' UNION ALL
	SELECT 'taskflow3_taskflowinstance' UNION ALL SELECT 'core_project') AS t
	LEFT JOIN information_schema.tables AS k
	  ON k.table_schema = DATABASE() AND k.table_name = t.n
	WHERE k.table_name IS NULL")
if [ "$missing" != NULL ]; then
	say "$db has no $missing: point load.sh at bk-sops' database (engine v2, bamboo-pipeline 4.x)"
	exit 1
fi

# The id variables of the procedures must share the collation of bamboo's
# id columns, or the lookups cannot use their indexes.
coll=$(q "$@" -e "SELECT collation_name FROM information_schema.columns
	WHERE table_schema = DATABASE() AND table_name = 'eri_node' AND column_name = 'node_id'")
case "$coll" in
utf8mb4_*) ;;
utf8mb3_*) coll=utf8mb4_${coll#utf8mb3_} ;;
utf8_*) coll=utf8mb4_${coll#utf8_} ;;
*) say "eri_node.node_id has collation $coll; expected a utf8 one"; exit 1 ;;
esac

# The routines' version, and their names: opn_<name> becomes
# opn_<name>_v$version wherever it occurs in actions.sql.
version=$(sed -n '/^CREATE FUNCTION opn_schema_version()/,/^END/s/^ *RETURN \([0-9][0-9]*\);.*/\1/p' \
	"$here/actions.sql")
case "$version" in
[1-9]*) ;;
*) say "$here/actions.sql: no version in opn_schema_version()"; exit 1 ;;
esac
v=_v$version
names=$(sed -n 's/^\(CREATE\|DROP\) \(PROCEDURE\|FUNCTION\) \(IF EXISTS \)\{0,1\}\(opn_[a-z_]*\).*/\4/p' \
	"$here/actions.sql" | sort -u)
work=$(mktemp -d)
rendered=$work/actions.sql
{
	printf 's/@ID_COLLATE@/%s/g\n' "$coll"
	for n in $names; do printf 's/\\b%s\\b/%s%s/g\n' "$n" "$n" "$v"; done
} > "$work/rename.sed"
sed -f "$work/rename.sed" "$here/actions.sql" > "$rendered"
digest=sha256:$(sha256sum < "$rendered" | cut -c1-64)

# A routine's version: its _vN suffix; version 2 had none.
routine_version="IF(routine_name REGEXP '_v[0-9]+\$', REGEXP_SUBSTR(routine_name, '[0-9]+\$') + 0, 2)"
ours="routine_schema = DATABASE() AND LEFT(routine_name, 4) = 'opn_'"

# A newer version serves binaries that this one would strand.
newer=$(q "$@" -e "SELECT GROUP_CONCAT(DISTINCT $routine_version ORDER BY 1)
	FROM information_schema.routines WHERE $ours AND $routine_version > $version")
if [ "$newer" != NULL ]; then
	say "$db holds the routines of schema version $newer, newer than this one ($version):" \
	    "to roll back, reload the older binaries (README, Upgrading); loading refused"
	rm -rf "$work"; exit 1
fi

if [ $demo = 1 ] && [ $force = 0 ]; then
	tasks=$(q "$@" -e "SELECT COUNT(*) FROM taskflow3_taskflowinstance")
	if [ "$tasks" != 0 ]; then
		say "$db holds tasks; --demo empties bk-sops' tables first, so it needs --force too"
		rm -rf "$work"; exit 1
	fi
fi

# Is this version in place already, whole (its marker function, made last,
# holds the digest of what was loaded) and checked?
loaded=$(q "$@" -e "SELECT opn_loaded$v()" 2>/dev/null) || loaded=
if [ "$loaded" = "$digest" ] && [ -z "$(q "$@" -e "CALL opn_check$v()" 2>/dev/null || echo bad)" ]; then
	same=1
else
	same=0
fi
present=$(q "$@" -e "SELECT COUNT(*) FROM information_schema.routines
	WHERE $ours AND routine_name REGEXP '$v\$'")

# From here on the database changes. Should anything fail, the trap
# removes what this run created: the tables that were not there, and this
# version's routines unless they were in place before.
tables_before=$(q "$@" -e "SELECT table_name FROM information_schema.tables
	WHERE table_schema = DATABASE() AND LEFT(table_name, 4) = 'opn\$'")
undo() {
	trap - EXIT
	if [ $rc != 0 ]; then
		if [ "$present" = 0 ]; then
			{ grep '^DROP ' "$rendered"; echo "DROP FUNCTION IF EXISTS opn_loaded$v;"; } |
			    q "$@" || true
		fi
		for t in $(q "$@" -e "SELECT table_name FROM information_schema.tables
		    WHERE table_schema = DATABASE() AND LEFT(table_name, 4) = 'opn\$'" || true); do
			case " $(echo $tables_before) " in *" $t "*) continue ;; esac
			q "$@" -e "DROP TABLE \`$t\`" || true
		done
		if [ "$replaced" = 1 ]; then
			say "the routines of schema version $version were replaced in place; the rest of $db is as it was"
		else
			say "nothing was installed; $db is as it was"
		fi
	fi
	rm -rf "$work"
	exit $rc
}
replaced=0
trap 'rc=$?; undo "$@"' EXIT
trap 'exit 1' INT TERM HUP

q "$@" < "$here/schema.sql"
say "tables opn\$app, opn\$token, opn\$grant, opn\$replay, opn\$outbox in place"

# --- opn$outbox columns added after its first release (issue 21) -----------
# CREATE TABLE IF NOT EXISTS leaves an older table as it was: each missing
# column is added in place (no ADD COLUMN IF NOT EXISTS: MySQL 8.0 lacks it).
have=$(q "$@" -e "SELECT GROUP_CONCAT(column_name) FROM information_schema.columns
	WHERE table_schema = DATABASE() AND table_name = 'opn\$outbox'")
add=
for c in "attempts int NOT NULL DEFAULT 0" "next_attempt_time datetime(6) NULL" \
    "failing_since datetime(6) NULL" "last_error varchar(255) NULL" \
    "parked_time datetime(6) NULL" "task_id varchar(36) NULL"; do
	case ",$have," in *",${c%% *},"*) ;; *) add="$add${add:+, }ADD COLUMN $c" ;; esac
done
if [ -n "$add" ]; then
	q "$@" -e "ALTER TABLE \`opn\$outbox\` $add"
	say "opn\$outbox upgraded in place: $add"
fi
# --- end of opn$outbox columns ---------------------------------------------------

if [ $same = 1 ]; then
	say "routines of schema version $version in place already, unchanged"
else
	# The accounts that may execute a routine of any version may execute
	# the same routine of this one (dropping a routine drops its grants).
	list=$(for n in $names; do printf "'%s'," "$n"; done)
	grants=$(q "$@" -e "SELECT DISTINCT CONCAT('GRANT EXECUTE ON ', p.Routine_type, ' \`',
		  REPLACE(p.Db, '\`', '\`\`'), '\`.\`', REGEXP_REPLACE(p.Routine_name, '_v[0-9]+\$', ''), '$v\` TO ',
		  QUOTE(p.User), IF(p.Host = '', '', CONCAT('@', QUOTE(p.Host))), ';')
		FROM mysql.procs_priv AS p
		WHERE p.Db = DATABASE() AND FIND_IN_SET('Execute', p.Proc_priv) > 0
		  AND REGEXP_REPLACE(p.Routine_name, '_v[0-9]+\$', '') IN (${list%,})" 2>/dev/null) || {
		grants=
		say "cannot read mysql.procs_priv: grant EXECUTE on the routines of version $version" \
		    "to the service's account yourself (README)"
	}
	if [ "$present" != 0 ]; then
		say "replacing the routines of schema version $version in place: binaries of" \
		    "version $version fail while they are replaced (a change to actions.sql is a new version)"
	fi
	[ "$present" = 0 ] || replaced=1
	q "$@" -e "DROP FUNCTION IF EXISTS opn_loaded$v"
	q "$@" < "$rendered"
	problems=$(q "$@" -e "CALL opn_check$v()")
	if [ -n "$problems" ]; then
		say "the database lacks what the service needs:"
		printf '%s\n' "$problems" | sed 's/^/  /; s/\t/: /' >&2
		exit 1
	fi
	printf '%s\n' "$grants" | q "$@" --force ||
	    say "some grants could not be carried over to version $version: check them (README)"
	q "$@" -e "CREATE FUNCTION opn_loaded$v() RETURNS VARCHAR(80) CHARACTER SET ascii
		DETERMINISTIC NO SQL RETURN '$digest'"
	say "routines of schema version $version loaded (opn_*$v; ids compared as $coll)"
fi

# Version 1 kept its own model tables next to bk-sops'.
old=$(q "$@" -e "SELECT COUNT(*) FROM information_schema.tables
	WHERE table_schema = DATABASE() AND table_name IN ('app_account', 'user_token', 'project_permission')")
if [ "$old" = 3 ]; then
	q "$@" -e "
	INSERT IGNORE INTO \`opn\$app\` (app_code, secret_hash, is_trusted, is_enabled)
	  SELECT app_code, secret_hash, is_trusted, is_enabled FROM app_account;
	INSERT IGNORE INTO \`opn\$token\` (token_hash, username, expires_at)
	  SELECT token_hash, username, expires_at FROM user_token;
	INSERT IGNORE INTO \`opn\$grant\` (project_id, username, action)
	  SELECT project_id, username, action FROM project_permission;
	DROP PROCEDURE IF EXISTS operate_node; DROP PROCEDURE IF EXISTS purge_request_replay;"
	say "upgraded from version 1: apps, tokens and grants copied; its tables" \
	    "(project, taskflow_instance, app_account, user_token, project_permission," \
	    "operate_record, pipeline_node ... engine_outbox, request_replay) are left for you to drop"
fi

# Versions before the previous one serve no binary that may still run.
q "$@" -e "SELECT CONCAT('DROP ', routine_type, ' IF EXISTS \`', routine_name, '\`;')
	FROM information_schema.routines WHERE $ours AND $routine_version < $version - 1" |
    q "$@"

problems=$(q "$@" -e "CALL opn_check$v()")
if [ -n "$problems" ]; then
	say "the database lacks what the service needs:"
	printf '%s\n' "$problems" | sed 's/^/  /; s/\t/: /' >&2
	exit 1
fi
say "checked: every table, column and routine of schema version $version is in place"

if [ $demo = 1 ]; then
	q "$@" < "$here/demo.sql"
	say "demo data loaded"
fi
