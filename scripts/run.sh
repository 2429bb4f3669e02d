#!/usr/bin/env bash
# Sets up and runs the platform with its embedded defaults (SQLite, Celery tasks in-process) and a
# demo study, on http://127.0.0.1:8000. Prints the demo users and their passwords.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh requirements.txt
export DEBUG=${DEBUG:-1}
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py load_demo
exec .venv/bin/python manage.py runserver "${HOST:-127.0.0.1}:${PORT:-8000}"
