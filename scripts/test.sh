#!/usr/bin/env bash
# The whole test suite (what CI runs): virtualenv + install, headless Chromium for the report's browser test when it can be installed, ruff, pytest.
# --quick (first argument): the quick tier instead, ruff then `pytest -m "not slow"`: the unit tests, the config, the
# CLI's parsers and the docs, nothing that generates the benchmark or trains (tests/conftest.py marks those `slow`),
# and no browser to install. docs/development.md ("Tests and lint") has both tiers' measured times.
# Any other arguments go to pytest. The full suite runs in RAEREID_TEST_WORKERS processes (pytest-xdist; default 2,
# the cores of the machine CI runs on; 0 runs it in this process): its tests are mostly one-thread subprocesses.
quick=0
if [ "${1:-}" = "--quick" ]; then
    quick=1
    shift
fi
if [ "$quick" = 0 ]; then
    bash "$(dirname "${BASH_SOURCE[0]}")/_chromium.sh"
fi
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"
# Lint first (ruff from the test extra, rules in pyproject.toml's [tool.ruff]): a finding stops the run before pytest.
if ! python -m ruff --version >/dev/null 2>&1; then
    echo "[lint] ruff is missing from $VENV (it comes with raereid[test]): delete $VENV/.raereid-installed and run again" >&2
    exit 1
fi
echo "[lint] ruff check src tests benchmarks scripts"
if ! python -m ruff check src tests benchmarks scripts; then
    echo "[lint] FAILED: ruff found the problems listed above; fix them (\`ruff check --fix\` fixes those marked [*])" \
         "and run scripts/test.sh again" >&2
    exit 1
fi
if [ "$quick" = 1 ]; then
    exec python -m pytest -q -m "not slow" "$@"
fi
workers="${RAEREID_TEST_WORKERS:-2}"
if [ "$workers" = 0 ]; then
    exec python -m pytest -q "$@"
fi
exec python -m pytest -q -n "$workers" --dist load "$@"
