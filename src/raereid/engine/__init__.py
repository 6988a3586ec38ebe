"""The training engine: the checkpointed hook loop (train_loop), Algorithm 1 (trainer) and its parts (build,
objective, pseudo, relabel, hooks), the image translator's training (translate), the run folder (run_folder),
checkpoints and model loading. Nothing is imported here, so `import raereid.engine.x` loads only what x needs."""
