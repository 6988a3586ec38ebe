"""The manifest of a generated benchmark (synth.json) and its identity table (synth_identities.json)."""

from __future__ import annotations

import json
from pathlib import Path

from raereid._version import __version__
from raereid.synth.identities import ATTRIBUTES
from raereid.synth.layouts import LAYOUTS
from raereid.synth.plan import SPLITS, DomainPlan, Shot
from raereid.synth.styles import camera_styles

GENERATOR = "raereid synth"
GENERATOR_VERSION = 1  # bump when the same seed would give different files
TRACKLETS_VERSION = 2  # generate(tracklets=True): a person's images in a camera are frames of one walk
MANIFEST = "synth.json"
IDENTITIES_FILE = "synth_identities.json"


def split_counts(shots: list[Shot]) -> dict[str, dict[str, int]]:
    """Per split ids / images / cameras exactly as the readers count them (junk dropped, pid 0 kept)."""
    counts = {}
    for split in SPLITS:
        kept = [s for s in shots if s.split == split and s.pid != -1]
        counts[split] = {
            "ids": len({s.pid for s in kept}),
            "images": len(kept),
            "cameras": len({s.camera for s in kept}),
        }
    return counts


def read_manifest(out: Path) -> dict | None:
    """The manifest of a complete synth output in `out`, or None."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("generator") == GENERATOR else None


def build_manifest(plans: dict[str, DomainPlan], seed: int, scale: str, tracklets: bool = False) -> dict:
    """The manifest: counts as `raereid datasets --json` reports them, plus the style of every domain."""
    details, styles = {}, {}
    for name, plan in plans.items():
        index = list(LAYOUTS).index(name)
        gallery = [s for s in plan.shots if s.split == "gallery"]
        details[name] = {
            "folder": plan.layout.folder,
            "train_ids": len(plan.identities["train"]),
            "test_ids": len(plan.identities["test"]),
            "gallery_only_ids": len(plan.identities["gallery_only"]),
            "val_ids": len(plan.identities["val"]),
            "distractor_images_pid0": sum(s.pid == 0 for s in gallery),
            "junk_images_pid-1": sum(s.pid == -1 for s in gallery),
            "files": len(plan.shots),
        }
        styles[name] = {
            **plan.style.as_dict(),
            "camera_styles": [c.as_dict() for c in camera_styles(plan.style, seed, index)],
        }
    return {
        "generator": GENERATOR,
        "generator_version": TRACKLETS_VERSION if tracklets else GENERATOR_VERSION,
        "raereid_version": __version__,
        "seed": seed,
        "scale": scale,
        "shots": "tracklets" if tracklets else "independent",
        "domains": list(plans),
        "datasets": {name: split_counts(plan.shots) for name, plan in plans.items()},
        "details": details,
        "styles": styles,
        "identities_file": IDENTITIES_FILE,
    }


def identities_table(plans: dict[str, DomainPlan]) -> dict:
    """Every identity's attributes per domain and group (train / test / gallery_only / distractor / val)."""
    return {
        "attributes": list(ATTRIBUTES),
        "domains": {
            name: {
                group: {str(pid): list(person.key()) for pid, person in people.items()}
                for group, people in plan.identities.items()
            }
            for name, plan in plans.items()
        },
    }
