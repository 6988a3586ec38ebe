#!/usr/bin/env bash
# Create the peer virtualenv for the kernel benchmark: torchreid and fastreid from PyPI (their own
# code, unmodified, installed without their pinned torch), plus fast-reid's Cython evaluator built
# from the installed package's rank_cy.pyx into a build folder inside that venv (never into the repo).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BENCH_VENV:-$ROOT/.venv-bench}"
PY="${PYTHON:-python3}"
TORCH_VERSION="${TORCH_VERSION:-2.14.1}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "[peers] creating $VENV"
    "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
echo "[peers] installing numpy, scipy, scikit-learn, faiss-cpu, torch==$TORCH_VERSION, cython, psutil"
"${PIP[@]}" numpy scipy scikit-learn faiss-cpu "torch==$TORCH_VERSION" cython psutil setuptools
# The peers pin old torch releases (fastreid: torch==1.13.1) that do not install on this Python:
# install them without dependencies; the benchmark imports only their evaluation and re-ranking modules.
echo "[peers] installing fastreid==1.4.0 and torchreid==0.2.5 (no dependencies)"
"${PIP[@]}" --no-deps fastreid==1.4.0 torchreid==0.2.5
# The raereid package itself, so the benchmark's "ours" runs in the same interpreter as the peers.
"${PIP[@]}" --no-deps -e "$ROOT"

SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
PYX="$SITE/fastreid/evaluation/rank_cylib/rank_cy.pyx"
BUILD="$VENV/peer_build/fastreid_rank_cy"
if [ -f "$PYX" ]; then
    echo "[peers] building fast-reid's Cython evaluator from $PYX"
    rm -rf "$BUILD" && mkdir -p "$BUILD"
    cp "$PYX" "$BUILD/"
    cat > "$BUILD/setup.py" <<'PYEOF'
import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    name="fastreid_rank_cy",
    ext_modules=cythonize(
        [Extension("rank_cy", ["rank_cy.pyx"], include_dirs=[np.get_include()], extra_compile_args=["-O3"])],
        language_level=3,
    ),
)
PYEOF
    (cd "$BUILD" && "$VENV/bin/python" setup.py build_ext --inplace >build.log 2>&1) \
        && echo "[peers] built $(ls "$BUILD"/rank_cy*.so)" \
        || { echo "[peers] Cython build failed, see $BUILD/build.log"; exit 1; }
else
    echo "[peers] $PYX not found: fast-reid's compiled evaluator will be skipped"
fi
echo "[peers] ready: $VENV"
