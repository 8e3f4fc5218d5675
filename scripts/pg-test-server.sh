#!/usr/bin/env bash
# Starts a PostgreSQL server on loopback for the test suite and prints
# `KEFU_TEST_DATABASE_URL=...` for the caller to eval. As root it uses Debian's cluster
# (pg_ctlcluster); otherwise it runs a private cluster under var/pgtest. The password is
# random, made once per machine (no default secret).
set -euo pipefail
cd "$(dirname "$0")/.."
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ]; then
  echo "PostgreSQL is not installed: run 'make test' as root once, or apt-get install postgresql" >&2
  exit 2
fi
ver=$(basename "$(dirname "$bindir")")
if [ "$(id -u)" = 0 ]; then
  if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$ver main$"; then
    pg_createcluster "$ver" main >/dev/null
  fi
  pg_ctlcluster "$ver" main start >/dev/null 2>&1 || true
  port=$(pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $3}')
  # One random password per machine, kept beside the cluster, so that several checkouts
  # running tests at once do not rotate it under each other.
  pwfile=/var/lib/postgresql/.kefu_test_password
  if [ ! -s "$pwfile" ]; then
    (umask 077; python3 -c 'import secrets; print(secrets.token_hex(16))' > "$pwfile")
  fi
  pw=$(cat "$pwfile")
  su postgres -c "psql -q -p $port -v ON_ERROR_STOP=1" >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kefu_test') THEN
    CREATE ROLE kefu_test LOGIN CREATEDB;
  END IF;
END \$\$;
ALTER ROLE kefu_test PASSWORD '$pw';
SQL
  if ! su postgres -c "psql -p $port -tAc \"SELECT 1 FROM pg_database WHERE datname='kefu_test'\"" | grep -q 1; then
    su postgres -c "createdb -p $port -O kefu_test kefu_test"
  fi
  echo "KEFU_TEST_DATABASE_URL=postgresql+psycopg://kefu_test:$pw@127.0.0.1:$port/kefu_test"
else
  dir=var/pgtest
  port=54329
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    "$bindir/initdb" -D "$dir" -U kefu_test --auth=trust >/dev/null
  fi
  "$bindir/pg_ctl" -D "$dir" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" -l "$dir/log" status >/dev/null 2>&1 \
    || "$bindir/pg_ctl" -D "$dir" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" -l "$dir/log" -w start >/dev/null
  "$bindir/psql" -h 127.0.0.1 -p $port -U kefu_test -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='kefu_test'" | grep -q 1 \
    || "$bindir/createdb" -h 127.0.0.1 -p $port -U kefu_test kefu_test
  echo "KEFU_TEST_DATABASE_URL=postgresql+psycopg://kefu_test@127.0.0.1:$port/kefu_test"
fi
