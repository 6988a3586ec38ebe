"""Re-render a procedural benchmark's Market-style domain with one generator factor switched off, to measure
what a model's target clusters group by (docs/synthetic-benchmark.md, "Tracklets").

Same seed and scale, same identities, cameras and file names; only the switched-off factor changes:
  background   every background is flat grey (the person, shadow, occluders and camera chain stay)
  scene        every camera crops camera 1's panorama (one scene for the whole network)
  camera-light no per-camera exposure, white-balance error or side light
  look-alikes  no sibling identities and flat colour frequencies (identities as unlike as the space allows)
Switches combine with '+'. Pass --tracklets to start from generator version 2 (a person's images in a camera
are frames of one walk).
Then score a checkpoint on it with benchmarks/synth_clusters.py and `raereid evaluate --data-root OUT`:

    python benchmarks/synth_counterfactual.py --out CF_BG --switch-off background
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from raereid.synth import identities, render, writer

SWITCHES = ("background", "scene", "camera-light", "look-alikes")


def switch_off(name: str) -> None:
    """Patch the generator's module so that factor `name` no longer varies (this process only)."""
    if name == "background":
        drawn = render.background

        def grey(*args, **kwargs):  # draw as before, so every later random number is the same
            return np.full_like(drawn(*args, **kwargs), 128.0)
        render.background = grey
    elif name == "scene":
        panorama = render.scene
        render.scene = lambda domain, seed, index, camera: panorama(domain, seed, index,
                                                                    dataclasses.replace(camera, index=1))
    elif name == "camera-light":
        cameras = writer.camera_styles
        writer.camera_styles = lambda *args: [dataclasses.replace(c, gain=1.0, tint=(1.0, 1.0, 1.0), gradient=0.0)
                                              for c in cameras(*args)]
    elif name == "look-alikes":
        identities.SIBLING_RATE = 0.0
        for weights in (identities._UPPER_W, identities._LOWER_W):
            weights.update(dict.fromkeys(weights, 1.0))
    else:
        raise SystemExit(f"unknown switch {name!r}: choose from {', '.join(SWITCHES)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--switch-off", required=True, help=f"'+'-joined from {', '.join(SWITCHES)}")
    parser.add_argument("--tracklets", action="store_true", help="generator version 2 (tracklets)")
    args = parser.parse_args()
    for name in args.switch_off.split("+"):
        switch_off(name)
    writer.generate(args.out, seed=args.seed, scale=args.scale, domains=("market1501",), workers=1,
                    tracklets=args.tracklets)


if __name__ == "__main__":
    main()
