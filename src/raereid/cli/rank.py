"""Pictures of ranked results like the paper's Fig. 4 and 5: a row per query, the query then its top-k gallery
images, a green border on the same person and red on another, the cosine similarity under each.
Writes ranked.png (queries spread over the query set), best.png and worst.png (highest / lowest
average precision) and ranking.json. Same protocol as the evaluator: gallery images of the query's
identity from the query's camera, and junk, are skipped.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="model.pt or checkpoints/last.pt written by raereid train")
    parser.add_argument("--data-root", help="folder holding the datasets (default: the checkpoint's data.root)")
    parser.add_argument("--dataset", help="dataset name or folder (default: the checkpoint's target)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--topk", type=int, default=10, help="gallery images per query (default: 10)")
    parser.add_argument("--num-queries", type=int, default=20, help="queries in ranked.png (default: 20)")
    parser.add_argument("--extremes", type=int, default=10, help="queries in best.png and worst.png (default: 10)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")


def run(args: argparse.Namespace) -> int:
    from raereid.cli import paths
    from raereid.data.registry import load_dataset
    from raereid.errors import ConfigError, DatasetError
    from raereid.tools.inputs import data_root, describe, open_model
    from raereid.tools.ranking import rank_pictures

    if min(args.topk, args.num_queries, args.extremes) < 1:
        raise ConfigError("--topk, --num-queries and --extremes must be at least 1", fix="pass positive counts")
    paths.input_file(args.checkpoint, "--checkpoint")
    paths.output_folder(args.out, "--out", paths.inputs(dataset=args.dataset, data_root=args.data_root))
    trained = open_model(args.checkpoint, args.device)
    root = data_root(args.data_root, trained)
    paths.outside(args.out, "--out", paths.inputs(data_root=root))
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
    paths = rank_pictures(feats[:nq], feats[nq:], dataset.query, dataset.gallery, args.out, args.topk, args.num_queries,
                          args.extremes, name=dataset.name)
    for key, path in paths.items():
        print(f"{key:<7} {path}")
    return 0
