# Sourced by demo.sh / test.sh: create or reuse .venv inside the repo and install raereid into it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating virtualenv in $VENV"
    "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.raereid-installed"
EXTRAS="${RAEREID_EXTRAS:-test}"
# Reinstall only when the package metadata changed since the last install.
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ] || [ "$(cat "$STAMP")" != "$EXTRAS" ]; then
    echo "[setup] installing raereid[$EXTRAS] (first run takes a few minutes: PyTorch is large)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[$EXTRAS]"
    echo "$EXTRAS" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
