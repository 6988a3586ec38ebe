"""The CycleGAN image translator of Table IV's pre-pixel-transfer row: its networks (network), its training on the
checkpointed loop (training) and its application to a dataset (apply, `raereid translate`). Nothing is imported
here, so `import raereid.translator.x` loads only what x needs."""
