"""The loop and run infrastructure any trainer uses: the checkpointed hook loop (train_loop) and its shared hooks,
the log and TensorBoard (monitor), checkpoints (checkpoint), the run folder's file names (run_folder), devices and
processes (runtime) and the learning-rate schedule (schedule). Algorithm 1 is `raereid.adapt`, the CycleGAN
translator `raereid.translator`. Nothing is imported here, so `import raereid.engine.x` loads only what x needs."""
