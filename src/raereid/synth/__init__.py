"""The procedural cross-domain benchmark: synthetic pedestrians written in real dataset layouts.

`generate(out, seed, scale, domains)` writes Market-1501- and DukeMTMC-reID-style folders whose
identities are disjoint attribute combinations and whose domains differ in scenes, cameras and
imaging chain; see docs/synthetic-benchmark.md. It writes datasets that `raereid.data` reads.

Modules, top-down: writer (output folder, parallel rendering, `generate`), plan (identities, pids,
file names, RNG keys), layouts (folders and file names per dataset), manifest (synth.json), preview
(contact sheet); render (one image) over person + parts + body + canvas (drawing a person), scenes
(backgrounds), imaging (light and the camera chain), styles (domain and camera tables), identities.
"""

from raereid.synth.layouts import DEFAULT_DOMAINS, SCALES
from raereid.synth.manifest import read_manifest
from raereid.synth.writer import generate

__all__ = ["DEFAULT_DOMAINS", "SCALES", "generate", "read_manifest"]
