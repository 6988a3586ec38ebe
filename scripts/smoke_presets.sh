#!/usr/bin/env bash
# Every shipped preset at its real input size and backbone, a couple of iterations on tiny generated data (CPU).
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"
OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" exec python scripts/smoke_presets.py "$@"
