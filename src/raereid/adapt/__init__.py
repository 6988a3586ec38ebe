"""Algorithm 1 and the source stage: the RAE trainer (trainer) and what it is built from (build), the step's losses
(objective), the pseudo-label stage and the relabelling hook (pseudo, relabel), AdaBN (adabn), the two-stage recipe
of `raereid train` (recipe), the checks made before any image is read (checks) and starting from saved weights
(resume). Nothing is imported here, so `import raereid.adapt.x` loads only what x needs."""
