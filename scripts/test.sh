#!/usr/bin/env bash
# Install the package with its test tools (and redis-server, which the tests start), then run
# format/lint/type checks and every test.
#   bash scripts/test.sh [pytest arguments]   one Python (PYTHON=, default python3), in .venv
#   bash scripts/test.sh --matrix             CI: Python 3.13 and 3.10, the lowest declared
#                                             versions, 3.11 and 3.12 (scripts/_matrix.sh)
set -euo pipefail
if [ "${1:-}" = "--matrix" ]; then
  exec bash "$(dirname "${BASH_SOURCE[0]}")/_matrix.sh"
fi
source "$(dirname "${BASH_SOURCE[0]}")/_services.sh"
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" test
echo "== ruff format --check"; ruff format --check .
echo "== ruff check"; ruff check .
echo "== mypy --strict"; mypy
echo "== pytest"; python -m pytest "$@"
