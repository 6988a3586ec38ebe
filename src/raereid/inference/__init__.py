"""Using a trained model: loading it from a checkpoint (model_io), extracting descriptors (features) and evaluating
them (evaluate). What `raereid.tools` and `raereid.FeatureExtractor` build on; no training code. Nothing is
imported here, so `import raereid.inference.x` loads only what x needs."""
