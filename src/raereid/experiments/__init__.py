"""Experiments: rows of `raereid train` runs trained as one-thread subprocesses and gathered into a table. A rows file
(spec) lists the rows, their source stages and seeds; plan turns it into jobs, run runs them (state says which are
done, failed or stale), table writes the markdown; demo is `raereid demo`'s rows, table and picture. `raereid table`
and `raereid demo` run them. Nothing is imported here, so `import raereid.experiments.x` loads only what x needs."""
