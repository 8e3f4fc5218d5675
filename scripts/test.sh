#!/usr/bin/env bash
# The README's test command (`make test`): installs what the tests need, starts PostgreSQL
# on loopback, then runs ruff, mypy and the whole pytest suite. Exits non-zero on any failure,
# including a run in which no test was collected.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need (gcc: `make venv` compiles the native RTP relay, which the
# tests check was built). Later capabilities add theirs here.
DEBIAN_PACKAGES=(postgresql sip-tester chromium fonts-wqy-microhei espeak-ng sox gcc)

if [ "$(id -u)" = 0 ]; then
  missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

echo "== python environment"
make -s venv
PY=.venv/bin/python

echo "== postgresql"
eval "$(bash scripts/pg-test-server.sh)"
export KEFU_TEST_DATABASE_URL

echo "== ruff"
.venv/bin/ruff check src tests bench
echo "== mypy"
.venv/bin/mypy

echo "== pytest"
set +e
$PY -m pytest "$@"
rc=$?
set -e
if [ $rc = 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit $rc
