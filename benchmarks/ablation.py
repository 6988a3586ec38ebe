"""`raereid table` under its former name: the "regenerate with" lines of the tables written before the runner moved
into the package (raereid.experiments) name this script, and keep working.

    python benchmarks/ablation.py benchmarks/tables/table4.yaml --draw A=DATA_A --draw B=DATA_B   # = raereid table ...
"""

from __future__ import annotations

import sys

from raereid.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["table", *sys.argv[1:]]))
