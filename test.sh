#!/usr/bin/env bash
# Runs every test: unit, API and page tests on SQLite AND PostgreSQL, the
# process tests (kill -9, SIGTERM), and the headless-Chromium browser tests.
# Sets up what it needs when it can: starts the local PostgreSQL, installs
# Debian's chromium and chromium-driver when run as root, axe-core from npm
# for the accessibility check, and moto's S3 server from PyPI for the object
# store tests.
set -euo pipefail
cd "$(dirname "$0")"

export ONESTOP_TEST_DATABASE_URL="${ONESTOP_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

pg_up() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432
  else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
  fi
}
if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "test.sh: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  pg_up || { echo "test.sh: PostgreSQL is not reachable at 127.0.0.1:5432; the suite needs it" >&2; exit 1; }
fi

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
  || ! command -v pdftotext >/dev/null 2>&1 \
  || ! /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing chromium, chromium-driver, python3-aiosmtpd and poppler-utils for the browser, mail and document tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver python3-aiosmtpd poppler-utils >/dev/null
  else
    echo "test.sh: the browser, mail and document tests need Debian's chromium, chromium-driver, python3-aiosmtpd and poppler-utils (apt-get install chromium chromium-driver python3-aiosmtpd poppler-utils)" >&2
    exit 1
  fi
fi

# axe-core for the browser tests' accessibility check (e2e/tests/accessibility.rs),
# from npm, pinned by e2e/axe/package-lock.json.
if [ ! -f e2e/axe/node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing node and npm for the accessibility check"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm >/dev/null
  fi
  command -v npm >/dev/null 2>&1 || { echo "test.sh: the accessibility check needs npm (apt-get install nodejs npm)" >&2; exit 1; }
  echo "test.sh: installing axe-core (npm ci in e2e/axe)"
  (cd e2e/axe && npm ci --no-audit --no-fund --loglevel=error)
fi

# moto's S3 server for the object store tests (crates/store/tests/blobs.rs,
# crates/server/tests/blobs_s3.rs), from PyPI into /opt/onestop-moto.
if [ -z "${ONESTOP_MOTO:-}" ]; then
  ONESTOP_MOTO="$(scripts/moto.sh)" || { echo "test.sh: the object store tests need moto (scripts/moto.sh, as root)" >&2; exit 1; }
  export ONESTOP_MOTO
fi

cargo test --workspace --all-targets "$@"
