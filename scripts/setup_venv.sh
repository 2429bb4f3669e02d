#!/usr/bin/env bash
# Creates .venv (Python 3.11) and installs a requirements file into it, once per change of that file.
set -euo pipefail
cd "$(dirname "$0")/.."
req=${1:-requirements.txt}
PY=$(command -v python3.11 || command -v python3)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.stamp-$(basename "$req")"
want=$(cat requirements*.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r "$req"
  echo "$want" > "$stamp"
fi
