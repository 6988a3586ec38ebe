"""Evaluate a trained checkpoint on a dataset's query/gallery split (Market-1501 protocol, cosine distance):
mAP, mINP and rank-1/5/10 in percent, optionally with k-reciprocal re-ranking. Without --dataset /
--data-root, the checkpoint's own target and data root are used.
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_data_root_argument, add_model_arguments

    add_model_arguments(parser)
    add_data_root_argument(parser)
    parser.add_argument("--dataset", help="dataset name or folder (default: the checkpoint's target)")
    parser.add_argument("--rerank", action="store_true",
                        help="k-reciprocal re-ranking (Zhong et al. 2017) before scoring")
    parser.add_argument("--descriptor", choices=("final", "encoder"), default="final",
                        help="final: Algorithm 2's descriptor (fused for full); encoder: GAP(Enc(I))")
    parser.add_argument("--json", action="store_true", help="print the metrics.json fields (and the learner) as JSON")


def run(args: argparse.Namespace) -> int:
    from raereid.cli import paths
    from raereid.cli.common import open_model_and_root
    from raereid.data.registry import load_dataset
    from raereid.tools.evaluate import evaluate_checkpoint, format_metrics

    paths.input_file(args.checkpoint, "--checkpoint")
    trained, root = open_model_and_root(args)
    dataset = load_dataset(args.dataset or trained.cfg.data.target, root)
    result = evaluate_checkpoint(trained, dataset, args.rerank, args.descriptor)
    print(json.dumps(result, indent=2) if args.json else format_metrics(result, args.rerank))
    return 0
