"""Write the procedural cross-domain benchmark: synthetic pedestrians in the Market-1501 and
DukeMTMC-reID layouts (optionally MSMT17 V1 too), with disjoint identities, a validation split per
domain and a real domain gap (scenes, cameras, imaging chain). Deterministic by seed; `raereid
datasets --data-root OUT` reads the result like the real datasets."""

from __future__ import annotations

import argparse
import time

SCALE_CHOICES = ("tiny", "small", "medium")
DOMAIN_CHOICES = ("market1501", "dukemtmcreid", "msmt17")
DEFAULT_DOMAINS = ("market1501", "dukemtmcreid")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_output_argument

    add_output_argument(parser, "new or empty folder to write the datasets into (a data root)", required=True)
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives identical files")
    parser.add_argument("--scale", choices=SCALE_CHOICES, default="small",
                        help="tiny (8 ids per split, for tests), small (~150), medium (~700)")
    parser.add_argument("--domains", default=",".join(DEFAULT_DOMAINS),
                        help=f"comma-separated domains to write (choices {', '.join(DOMAIN_CHOICES)})")
    parser.add_argument("--force", action="store_true",
                        help="overwrite a previous (or interrupted) synth output in --out")
    parser.add_argument("--workers", type=int, default=None, help="rendering processes (default: one per CPU core)")
    parser.add_argument("--preview", metavar="FILE.png", help="also write a contact sheet of sample images to this PNG")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--tracklets", action="store_true",
                        help="draw a person's images in a camera as frames of one walk past it (walking direction, "
                             "background window and exposure shared; generator version 2) instead of each on its own "
                             "(version 1, the default: what every results table was measured on)")


def _summary(manifest: dict, out: str, seconds: float) -> str:
    lines = [f"wrote {', '.join(manifest['domains'])} to {out} (seed {manifest['seed']}, scale {manifest['scale']}) "
             f"in {seconds:.1f} s"]
    splits = list(next(iter(manifest["datasets"].values())))
    header = f"  {'dataset':<14}" + "".join(f"{split + ' ids/imgs/cams':>26}" for split in splits)
    lines.append(header)
    for name, counts in manifest["datasets"].items():
        cells = "".join(f"{s['ids']:>12} /{s['images']:>6} /{s['cameras']:>3}" for s in counts.values())
        extra = manifest["details"][name]
        note = []
        if extra["junk_images_pid-1"]:
            note.append(f"+{extra['junk_images_pid-1']} junk (-1) gallery images")
        if extra["gallery_only_ids"]:
            note.append(f"{extra['gallery_only_ids']} gallery-only ids")
        lines.append(f"  {name:<14}{cells}" + (f"   ({'; '.join(note)})" if note else ""))
    lines.append(f"  manifest: {out}/synth.json")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from raereid.cli import paths
    from raereid.data.registry import canonical_name
    from raereid.errors import RaeReidError
    from raereid.synth import generate

    names = [d.strip().lower() for d in args.domains.split(",") if d.strip()]
    domains = [canonical_name(d) or d for d in names]
    bad = [n for n, d in zip(names, domains) if d not in DOMAIN_CHOICES]
    if bad or not domains:
        raise RaeReidError(f"unknown domain(s): {', '.join(bad) or '(none)'}",
                           fix=f"pass --domains with names from {', '.join(DOMAIN_CHOICES)}")
    if args.workers is not None and args.workers < 1:
        raise RaeReidError(f"--workers must be at least 1, got {args.workers}", fix="pass --workers 1 or more")
    paths.output_folder(args.out, "--out")
    if args.preview:
        paths.output_file(args.preview, "--preview", [(args.out, "the benchmark folder it writes")])
    bars: list = []

    def progress(done: int, total: int) -> None:
        if args.quiet:
            return
        if not bars:  # created on the first image, so that refusals print no empty bar
            from raereid.progress import progress

            bars.append(progress(total, "rendering", unit="img"))
        bars[0].update(done - bars[0].n)

    start = time.perf_counter()
    try:
        manifest = generate(args.out, seed=args.seed, scale=args.scale, domains=list(dict.fromkeys(domains)),
                            force=args.force, workers=args.workers, progress=progress,
                            tracklets=args.tracklets)
    finally:
        for bar in bars:
            bar.close()
    seconds = time.perf_counter() - start
    print(_summary(manifest, args.out, seconds))
    if args.preview:
        from raereid.synth.preview import contact_sheet

        print(f"  preview:  {contact_sheet(args.out, args.preview)}")
    return 0
