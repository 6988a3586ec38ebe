"""Extract the descriptors of a set of images (Algorithm 2, L2-normalised) into an .npz file with their paths
and, where known, person ids and camera ids (-1 = unknown).

--images takes a folder of images (searched recursively; ids are read from Market/Duke-style file
names, cameras from cam1/ cam2/ sub-folders), a list file of 'path,pid,camid' rows, a dataset
folder, or a dataset name under --data-root; --split picks the split of a dataset.
"""

from __future__ import annotations

import argparse

SPLITS = ("all", "train", "query", "gallery", "test")  # as raereid.tools.inputs.SPLITS (not imported: heavy)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_data_root_argument, add_model_arguments, add_output_argument

    add_model_arguments(parser)
    parser.add_argument("--images", required=True, help="folder of images, list file, dataset folder, or dataset name")
    add_data_root_argument(parser, "folder holding the datasets, when --images is a dataset name (default: the "
                           "checkpoint's data.root)")
    parser.add_argument("--split", default="all", choices=SPLITS, help="split of a dataset (test = query + gallery)")
    add_output_argument(parser, "output .npz file", required=True)
    parser.add_argument("--batch-size", type=int,
                        help="images per batch (default: the checkpoint's data.test_batch_size)")


def run(args: argparse.Namespace) -> int:
    from raereid.cli import paths
    from raereid.cli.common import open_model_and_root
    from raereid.tools.extract import extract_to_npz
    from raereid.tools.inputs import resolve_images

    paths.positive(args.batch_size, "--batch-size")
    paths.input_file(args.checkpoint, "--checkpoint")
    paths.output_file(args.out, "--out", paths.inputs(images=args.images, data_root=args.data_root))
    trained, root = open_model_and_root(args)
    records = resolve_images(args.images, root, args.split)
    out = extract_to_npz(trained, records, args.out, args.batch_size)
    known = sum(r.pid != -1 for r in records)
    print(f"{len(records)} descriptors ({trained.model.variant.name} model) -> {out}; person ids known for {known}")
    return 0
