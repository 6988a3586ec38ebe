#!/usr/bin/env bash
# The whole test suite (what CI runs): virtualenv + install, headless Chromium for the report's browser test when it can be installed, ruff, pytest.
bash "$(dirname "${BASH_SOURCE[0]}")/_chromium.sh"
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
exec python -m pytest -q "$@"
