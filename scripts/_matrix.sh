#!/usr/bin/env bash
# `bash scripts/test.sh --matrix` (what CI runs): the checks once, then pytest on the supported
# Pythons and on the lowest declared versions, each in its own virtual environment
# (.venv-3.13, .venv-3.10, .venv-lowest, ...). Every run prints pytest's counts; the script
# fails if any run fails or runs no test. A Python the machine lacks is skipped, saying so.
set -uo pipefail # no -e: every run goes on after one fails, and the summary decides
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/_services.sh
source scripts/_services.sh

# What each run covers, chosen so that the whole matrix takes about 30 minutes on 2 cores.
ALL_TESTS=(tests)
# The lowest versions: the transport, both adapters (their own tests and the behaviours they
# share, tests/fidelity), the emulator and the notebooks.
LOWEST_TESTS=(tests/transport tests/langchain tests/llama_index tests/fidelity tests/emulator tests/notebooks)
LOWEST_PYTHON=3.10 # the oldest Python with the oldest versions, as users on it would have them
# The Pythons between: the transport and the emulator (asyncio, sockets and SSE, where minor
# versions differ), and the notebooks (every framework end to end).
MIDDLE_TESTS=(tests/transport tests/emulator tests/notebooks)
# Test dependencies that may lack wheels for a new Python, and the tests that need them.
declare -A OPTIONAL_TEST_DEPS=([ray]=tests/scale/test_ray_batch.py)

LOGS="$ROOT/.matrix-logs"
CHECKED=0
mkdir -p "$LOGS"
STARTED=$SECONDS
FAILED=0
TOTAL_PASSED=0
TOTAL_FAILED=0
TOTAL_SKIPPED=0
SUMMARY=()

# The interpreter for version $1 (e.g. 3.10), or nothing: pyenv's, then one on PATH.
find_python() {
  local version="$1" candidate
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python \
    "$(command -v "python$version" || true)" "/usr/bin/python$version"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    # A pyenv shim for a version not selected fails here; so does a Python without venv.
    if "$candidate" -c "import sys, venv, ensurepip; assert sys.version.startswith('$version.')" \
      >/dev/null 2>&1; then
      echo "$candidate"
      return
    fi
  done
}

# Make the venv $2 with Python $1 and install the test extra (constraints file in $3, if any).
# A test dependency that does not install there is left out with its tests: IGNORED says which.
install() {
  local python="$1" venv="$2" constraints="${3:-}" dep requirements
  IGNORED=()
  if (PYTHON="$python" MODELSLAB_VENV="$venv" MODELSLAB_CONSTRAINTS="$constraints" \
    bash -c 'source scripts/_venv.sh test'); then
    return 0
  fi
  for dep in "${!OPTIONAL_TEST_DEPS[@]}"; do
    echo "== retrying without $dep"
    requirements="$LOGS/requirements-without-$dep.txt"
    "$venv/bin/python" scripts/requirements.py without "$dep" >"$requirements" || return 1
    if "$venv/bin/python" -m pip install --quiet ${constraints:+-c "$constraints"} \
      -r "$requirements" 2> >(grep -v "is ignored: it is neither" >&2); then
      echo "== SKIPPING ${OPTIONAL_TEST_DEPS[$dep]}: $dep does not install on $("$venv/bin/python" -V)"
      IGNORED+=("--ignore=${OPTIONAL_TEST_DEPS[$dep]}")
      return 0
    fi
  done
  return 1
}

# pytest's closing counts in log $1 ("2003 passed, 13 skipped in ...") into COUNTS, and added
# to the totals (set here, not in a $(...) subshell, so that they add up).
counts() {
  local kind number
  COUNTS="$(grep -E '^=* ?[0-9]+ (passed|failed|errors?|skipped|deselected)|no tests ran' "$1" |
    tail -n 1 | sed -E 's/^=+ //; s/ =+$//')"
  for kind in passed failed skipped error; do
    number="$(grep -oE "[0-9]+ $kind" <<<"$COUNTS" | grep -oE '^[0-9]+' || echo 0)"
    case $kind in
    passed) TOTAL_PASSED=$((TOTAL_PASSED + number)) ;;
    failed | error) TOTAL_FAILED=$((TOTAL_FAILED + number)) ;;
    skipped) TOTAL_SKIPPED=$((TOTAL_SKIPPED + number)) ;;
    esac
  done
  COUNTS="${COUNTS:-no pytest summary}"
}

# The format, lint and type checks, once (on the first Python found, the newest).
checks() {
  (
    # shellcheck disable=SC1091
    source "$1/bin/activate"
    set -e
    echo "== ruff format --check"; ruff format --check .
    echo "== ruff check"; ruff check .
    echo "== mypy --strict"; mypy
  ) || { SUMMARY+=("checks: FAILED"); return 1; }
  SUMMARY+=("checks: ruff format, ruff check, mypy --strict passed")
}

# Make run $1's venv $3 with Python $2 (constraints in $4, "" for none), its output kept in
# $LOGS/$1.install.log, and say in $LOGS/$1.ready how it went ("python", "ok", "failed") and
# in $LOGS/$1.ignored which tests were left out. Every venv is made before any test runs, all at
# once (downloads and unpacking overlap), so no timing-sensitive test shares the machine with pip.
prepare() {
  local label="$1" version="$2" venv="$3" constraints="$4" python
  python="$(find_python "$version")"
  if [ -z "$python" ]; then
    echo python >"$LOGS/$label.ready"
    return
  fi
  if install "$python" "$venv" "$constraints" >"$LOGS/$label.install.log" 2>&1; then
    echo ok >"$LOGS/$label.ready"
  else
    echo failed >"$LOGS/$label.ready"
  fi
  printf '%s\n' "${IGNORED[@]}" >"$LOGS/$label.ignored"
}

# One run: label $1, Python version $2, venv $3, constraints $4 ("" for none), then test paths.
run() {
  local label="$1" version="$2" venv="$3" constraints="$4" log status begin ignored
  shift 4
  echo
  echo "======== $label: Python $version, $venv, pytest ${*}"
  begin=$SECONDS
  cat "$LOGS/$label.install.log" 2>/dev/null
  case "$(cat "$LOGS/$label.ready")" in
  python)
    echo "== SKIPPED $label: no usable Python $version on this machine (pyenv, PATH, /usr/bin)"
    SUMMARY+=("$label: skipped, no Python $version on this machine")
    return
    ;;
  failed)
    echo "== FAILED $label: the test extra does not install on Python $version"
    SUMMARY+=("$label: FAILED to install")
    FAILED=1
    return
    ;;
  esac
  mapfile -t ignored < <(grep . "$LOGS/$label.ignored" || true)
  if [ "$CHECKED" -eq 0 ] && [ -z "$constraints" ]; then
    checks "$venv" || FAILED=1
    CHECKED=1
  fi
  [ -z "$constraints" ] || "$venv/bin/python" -m pip list --format=freeze 2>/dev/null |
    grep -iE "^($(cut -d= -f1 "$constraints" | paste -sd'|'))=="
  log="$LOGS/$label.log"
  # Exit 5 (no test collected) is a failure like any other non-zero exit.
  "$venv/bin/python" -m pytest -q -p no:cacheprovider "${ignored[@]}" "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  [ "$status" -eq 0 ] || FAILED=1
  counts "$log"
  SUMMARY+=("$label: $COUNTS (exit $status, $((SECONDS - begin)) s)")
}

NEWEST=3.13
OLDEST=3.10
constraints="$LOGS/lowest-constraints.txt"
python3 scripts/requirements.py lowest >"$constraints" || FAILED=1
# label, Python, venv, constraints: the runs, in the order they run.
RUNS=(
  "py$NEWEST $NEWEST $ROOT/.venv-$NEWEST -"
  "py$OLDEST $OLDEST $ROOT/.venv-$OLDEST -"
  "lowest $LOWEST_PYTHON $ROOT/.venv-lowest $constraints"
  "py3.11 3.11 $ROOT/.venv-3.11 -"
  "py3.12 3.12 $ROOT/.venv-3.12 -"
)
echo "======== making the virtual environments ($((${#RUNS[@]})), at once)"
for spec in "${RUNS[@]}"; do
  read -r label version venv given <<<"$spec"
  [ "$given" = - ] && given=""
  prepare "$label" "$version" "$venv" "$given" &
done
wait
SUMMARY+=("venvs: made at once in $((SECONDS - STARTED)) s")
echo "== made in $((SECONDS - STARTED)) s"
run "py$NEWEST" "$NEWEST" "$ROOT/.venv-$NEWEST" "" "${ALL_TESTS[@]}"
run "py$OLDEST" "$OLDEST" "$ROOT/.venv-$OLDEST" "" "${ALL_TESTS[@]}"
echo
echo "======== lowest versions (every user-facing >= bound in pyproject.toml, pinned):"
cat "$constraints"
run "lowest" "$LOWEST_PYTHON" "$ROOT/.venv-lowest" "$constraints" "${LOWEST_TESTS[@]}"
for version in 3.11 3.12; do
  run "py$version" "$version" "$ROOT/.venv-$version" "" "${MIDDLE_TESTS[@]}"
done
[ "$CHECKED" -eq 1 ] || { SUMMARY+=("checks: FAILED, no Python to run them on"); FAILED=1; }

echo
echo "======== summary ($(((SECONDS - STARTED) / 60)) min $(((SECONDS - STARTED) % 60)) s)"
printf '%s\n' "${SUMMARY[@]}"
echo "matrix: $TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped"
exit "$FAILED"
