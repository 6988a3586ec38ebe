"""Pictures of ranked results like the paper's Fig. 4 and 5: a row per query, the query then its top-k gallery
images, a green border on the same person and red on another, the cosine similarity under each.
Writes ranked.png (queries spread over the query set), best.png and worst.png (highest / lowest
average precision) and ranking.json. Same protocol as the evaluator: gallery images of the query's
identity from the query's camera, and junk, are skipped.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_data_root_argument, add_model_arguments, add_output_argument

    add_model_arguments(parser)
    add_data_root_argument(parser)
    parser.add_argument("--dataset", help="dataset name or folder (default: the checkpoint's target)")
    add_output_argument(parser, "output folder", required=True)
    parser.add_argument("--topk", type=int, default=10, help="gallery images per query")
    parser.add_argument("--num-queries", type=int, default=20, help="queries in ranked.png")
    parser.add_argument("--extremes", type=int, default=10, help="queries in best.png and worst.png")


def run(args: argparse.Namespace) -> int:
    from raereid.cli import paths
    from raereid.cli.common import open_model_and_root
    from raereid.data.registry import load_dataset
    from raereid.errors import ConfigError, DatasetError
    from raereid.tools.inputs import describe
    from raereid.tools.ranking import rank_pictures

    if min(args.topk, args.num_queries, args.extremes) < 1:
        raise ConfigError("--topk, --num-queries and --extremes must be at least 1", fix="pass positive counts")
    paths.input_file(args.checkpoint, "--checkpoint")
    paths.output_folder(args.out, "--out", paths.inputs(dataset=args.dataset, data_root=args.data_root))
    trained, root = open_model_and_root(args)
    dataset = load_dataset(args.dataset or trained.cfg.data.target, root)
    paths.outside(args.out, "--out", paths.inputs(dataset=dataset.root))
    if not dataset.has_test:
        raise DatasetError(
            f"dataset {dataset.name!r} has no query/gallery split to rank",
            where=dataset.root,
            fix="rank a dataset with query and gallery images (Market/Duke/MSMT layouts, or query.csv + gallery.csv)",
        )
    feats = describe(trained, dataset.query + dataset.gallery, desc=f"describe {dataset.name}")
    nq = len(dataset.query)
    pictures = rank_pictures(feats[:nq], feats[nq:], dataset.query, dataset.gallery, args.out, args.topk,
                             args.num_queries, args.extremes, name=dataset.name)
    for key, path in pictures.items():
        print(f"{key:<7} {path}")
    return 0
