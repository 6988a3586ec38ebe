"""The procedural cross-domain benchmark: synthetic pedestrians written in real dataset layouts.

`generate(out, seed, scale, domains)` writes Market-1501- and DukeMTMC-reID-style folders whose
identities are disjoint attribute combinations and whose domains differ in scenes, cameras and
imaging chain; see docs/synthetic-benchmark.md.
"""

from raereid.synth.writer import DEFAULT_DOMAINS, SCALES, generate, read_manifest

__all__ = ["DEFAULT_DOMAINS", "SCALES", "generate", "read_manifest"]
