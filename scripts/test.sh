#!/usr/bin/env bash
# The whole test suite: lint, migrations check, the main suite, then the slow vLLM tests in their
# own cached virtual environment. Extra arguments go to the main pytest run.
# Uses DATABASE_URL (PostgreSQL in CI; SQLite when unset) and TEST_CELERY_BROKER_URL (real worker tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh requirements-test.txt
if ! command -v chromium >/dev/null 2>&1; then
  # The browser test drives Debian's Chromium; never a downloaded browser.
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
    || echo "warning: could not install chromium; browser tests will skip (or fail under REQUIRE_SERVICES=1)"
fi
export DJANGO_SETTINGS_MODULE=config.test_settings
.venv/bin/ruff check .
# The apps' layering (pyproject.toml, [tool.importlinter]): an upward import fails, lazy ones included.
.venv/bin/lint-imports --no-cache
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null \
  || { echo "models changed without a migration: run manage.py makemigrations"; exit 1; }
# Production-like settings pass Django's deployment check (HTTPS redirect, HSTS, secure cookies, secret key).
env -u SECURE_COOKIES DJANGO_SETTINGS_MODULE=config.settings DEBUG=0 ALLOWED_HOSTS=lab.example.org \
  SECRET_KEY="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
  SECURE_SSL_REDIRECT=1 SECURE_HSTS_SECONDS=31536000 SECURE_HSTS_INCLUDE_SUBDOMAINS=1 SECURE_HSTS_PRELOAD=1 \
  SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https \
  .venv/bin/python manage.py check --deploy --fail-level WARNING
# The suite builds its tables from the models (--no-migrations, faster); prove the migrations apply too.
migrate_db=$(mktemp -d)
DATABASE_URL="sqlite:///$migrate_db/db.sqlite3" .venv/bin/python manage.py migrate --noinput -v0
rm -rf "$migrate_db"
mkdir -p test-artifacts
# axe-core (pinned in tests/e2e/package-lock.json) for the accessibility browser tests; they skip without it
# (or fail under REQUIRE_SERVICES=1).
if command -v npm >/dev/null 2>&1; then
  (cd tests/e2e && npm ci --no-audit --no-fund --silent) || echo "warning: could not install axe-core; accessibility tests will skip"
else
  echo "warning: npm not found; accessibility tests will skip (or fail under REQUIRE_SERVICES=1)"
fi
# pytest exits 5 when it collected no test: set -e turns that into a failure, never a pass.
.venv/bin/pytest -m "not vllm" "$@"
if [ "${SKIP_VLLM:-0}" != "1" ]; then
  bash scripts/setup_vllm_cpu.sh
  .venv-vllm/bin/pytest -m vllm -p no:cacheprovider
fi
