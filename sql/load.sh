#!/bin/sh
# Installs the service into an existing bk-sops database, or upgrades an
# earlier install in place. Idempotent: run it after every upgrade.
#
#   sql/load.sh [--demo] [--force] DATABASE [client options...]
#   e.g. sql/load.sh bk_sops -S /run/mysqld/mysqld.sock -u root
#
# It adds only the service's own objects: the opn$* tables (sql/schema.sql,
# kept with their data) and the opn_* procedures (sql/actions.sql,
# replaced). It never creates, alters or drops a table of bk-sops or
# bamboo. It ends by checking every object the service needs (CALL
# opn_check()) and fails, naming them, if any is missing or wrong.
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
	-h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
# id columns, or the lookups cannot use their indexes (bk-sops-mapping.md).
coll=$(q "$@" -e "SELECT collation_name FROM information_schema.columns
	WHERE table_schema = DATABASE() AND table_name = 'eri_node' AND column_name = 'node_id'")
case "$coll" in
utf8mb4_*) ;;
utf8mb3_*) coll=utf8mb4_${coll#utf8mb3_} ;;
utf8_*) coll=utf8mb4_${coll#utf8_} ;;
*) say "eri_node.node_id has collation $coll; expected a utf8 one"; exit 1 ;;
esac

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

sed "s/@ID_COLLATE@/$coll/g" "$here/actions.sql" | q "$@"
say "procedures loaded (ids compared as $coll)"

problems=$(q "$@" -e "CALL opn_check()")
if [ -n "$problems" ]; then
	say "the database lacks what the service needs:"
	printf '%s\n' "$problems" | sed 's/^/  /; s/\t/: /' >&2
	exit 1
fi
say "checked: every table, column and procedure the service needs is in place"

if [ $demo = 1 ]; then
	tasks=$(q "$@" -e "SELECT COUNT(*) FROM taskflow3_taskflowinstance")
	if [ "$tasks" != 0 ] && [ $force = 0 ]; then
		say "$db holds tasks; --demo empties bk-sops' tables first, so it needs --force too"
		exit 1
	fi
	q "$@" < "$here/demo.sql"
	say "demo data loaded"
fi
