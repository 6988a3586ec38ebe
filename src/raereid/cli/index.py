"""Build a search index over a gallery: the descriptors of every image in a folder (or list file) in a faiss
inner-product index (cosine similarity), written to a folder with the gallery paths, the checkpoint
path and a fingerprint of its weights. Query it with raereid search.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_model_arguments, add_output_argument

    add_model_arguments(parser)
    parser.add_argument("--gallery", required=True,
                        help="folder of gallery images (searched recursively) or a list file")
    add_output_argument(parser, "index folder to write", required=True)
    parser.add_argument("--batch-size", type=int,
                        help="images per batch (default: the checkpoint's data.test_batch_size)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from raereid.cli import paths
    from raereid.errors import DatasetError
    from raereid.tools.index import build_index
    from raereid.tools.inputs import image_folder_records, open_model, resolve_images

    paths.positive(args.batch_size, "--batch-size")
    gallery = Path(args.gallery).expanduser()
    if not gallery.exists():
        raise DatasetError("gallery not found", where=gallery, fix="pass a folder of gallery images or a list file")
    paths.input_file(args.checkpoint, "--checkpoint")
    paths.output_folder(args.out, "--out", paths.inputs(gallery=gallery if gallery.is_dir() else gallery.parent))
    records = image_folder_records(gallery, "gallery folder") if gallery.is_dir() else resolve_images(gallery)
    trained = open_model(args.checkpoint, args.device)
    index = build_index(trained, records, args.out, args.batch_size)
    print(f"indexed {len(records)} images ({index.dim}-d descriptors, {trained.model.variant.name} model) "
          f"-> {index.folder}")
    return 0
