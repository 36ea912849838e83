#!/bin/sh
# Loads the schema and the action procedures into a MariaDB/MySQL database.
# Tables that already exist are kept (only the procedures are replaced)
# unless --force is given, which drops and recreates them: all data is lost.
#
#   sql/load.sh [--force] [--demo] DATABASE [client options...]
#   e.g. sql/load.sh operate_node -S /run/mysqld/mysqld.sock -u root
set -eu

here=$(cd "$(dirname "$0")" && pwd)
force=0 demo=0
while [ $# -gt 0 ]; do
	case "$1" in
	--force) force=1; shift ;;
	--demo) demo=1; shift ;;
	-h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--*) echo "load.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { echo "usage: load.sh [--force] [--demo] DATABASE [client options...]" >&2; exit 2; }
db=$1; shift
client=$(command -v mariadb || command -v mysql)
sql() { "$client" --no-defaults "$@" ; }
q() { sql "$@" -N -B "$db"; }

sql "$@" -e "CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
tables=$(printf "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (%s)" \
	"$(grep -o '^CREATE TABLE [a-z_]*' "$here/schema.sql" | awk '{printf "%s\x27%s\x27", (NR>1?",":""), $3}')")
have=$(echo "$tables" | q "$@")

if [ "$have" != 0 ] && [ $force = 1 ]; then
	echo "load.sh: --force: dropping the $have pipeline tables of $db" >&2
	drops=$(grep -o '^CREATE TABLE [a-z_]*' "$here/schema.sql" | awk '{printf "DROP TABLE IF EXISTS %s;", $3}')
	echo "$drops" | q "$@"
	have=0
fi
if [ "$have" = 0 ]; then
	q "$@" < "$here/schema.sql"
	echo "load.sh: schema created in $db" >&2
else
	echo "load.sh: $have pipeline tables exist in $db: kept (--force drops them)" >&2
fi
q "$@" < "$here/actions.sql"
echo "load.sh: procedures loaded" >&2

if [ $demo = 1 ]; then
	rows=$(echo "SELECT COUNT(*) FROM project" | q "$@")
	if [ "$rows" != 0 ] && [ $force = 0 ]; then
		echo "load.sh: $db already has projects; --demo replaces all data only with --force" >&2
		exit 1
	fi
	q "$@" < "$here/demo.sql"
	echo "load.sh: demo data loaded" >&2
fi
