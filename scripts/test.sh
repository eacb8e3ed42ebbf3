#!/usr/bin/env bash
# Install the package with its test tools (and redis-server, which the tests start), then run
# format/lint/type checks and every test.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_services.sh"
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" test
echo "== ruff format --check"; ruff format --check .
echo "== ruff check"; ruff check .
echo "== mypy --strict"; mypy
echo "== pytest"; python -m pytest "$@"
