#!/usr/bin/env bash
# The main job on the embedded default: synthetic cross-domain benchmark, CPU training, Table-IV-style report.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"
exec raereid demo "$@"
