# Sourced by the other scripts: make (once) and activate the project's virtual environment,
# then install the project with the extras named in $1.
# PYTHON picks the interpreter, MODELSLAB_VENV the environment's folder (default .venv), and
# MODELSLAB_CONSTRAINTS a pip constraints file (the test matrix's lowest-versions run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10 or newer is needed"'
VENV="${MODELSLAB_VENV:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"
# pip, less one notice per package about an index folder some machines configure but lack.
pip_install() {
  python -m pip install --quiet --disable-pip-version-check "$@" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
pip_install --upgrade pip
if [ -n "${MODELSLAB_CONSTRAINTS:-}" ]; then
  pip_install -c "$MODELSLAB_CONSTRAINTS" -e ".[$1]"
else
  pip_install -e ".[$1]"
fi
