#!/usr/bin/env bash
# The whole test suite (what CI runs): virtualenv + install, headless Chromium for the report's browser test when it can be installed, pytest.
bash "$(dirname "${BASH_SOURCE[0]}")/_chromium.sh"
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"
exec python -m pytest -q "$@"
