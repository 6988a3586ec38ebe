"""`python -m raereid` is the `raereid` command (also what `torchrun -m raereid` runs)."""

from raereid.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
