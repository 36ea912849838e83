#!/bin/sh
# Installs the Debian 12 packages that building, running and testing this
# project need. Idempotent: it only calls apt-get when something is missing.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libfcgi-dev libfcgi-bin libjson-c-dev libmariadb-dev libssl-dev
mariadb-server mariadb-client galera-4 rsync nginx apache2 spawn-fcgi libapache2-mod-fcgid
libcmocka-dev python3 python3-pymysql python3-cryptography curl wrk iproute2 procps psmisc
librabbitmq-dev libhiredis-dev rabbitmq-server redis-server python3-celery
python3-django python3-mysqldb python3-mako python3-werkzeug python3-prometheus-client
python3-django-celery-beat python3-django-celery-results python3-ujson python3-redis"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run this script as root (apt-get install -y)" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Never let the packaged services start: the tests run private instances.
# A policy-rc.d that is already there (a container's, an operator's) is
# the machine's own: it is used as it is, and left in place.
POLICY=${POLICY_RC_D:-/usr/sbin/policy-rc.d}
if [ ! -e "$POLICY" ] && [ ! -L "$POLICY" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$POLICY"
	chmod 755 "$POLICY"
	trap 'rm -f "$POLICY"' EXIT
else
	echo "install-deps: keeping the existing $POLICY" >&2
fi
apt-get update -qq || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
