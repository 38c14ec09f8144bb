"""`videobert pretrain CORPUS --out runs/NAME [--preset tiny] [--init BERT] [--set k=v] [--resume]`.

Runs as one process or under ``torchrun --nproc_per_node N -m videobert.cli pretrain ...``.
"""

from __future__ import annotations

import argparse
import sys

from videobert.cli_options import add_config_arguments, add_device_argument
from videobert.config import ConfigError
from videobert.io import EXIT_FAILED, EXIT_USAGE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("corpus", help="corpus folder (shard-*.parquet, videos.parquet, meta.json)")
    parser.add_argument("--out", required=True, help="run folder, e.g. runs/tiny")
    add_config_arguments(parser, "model, data and train", default_preset="tiny")
    parser.add_argument("--init", default=None,
                        help="start from this BERT (folder or hub id; 'minilm' = bundled "
                             "all-MiniLM-L6-v2); overrides model.init; model.size must match "
                             "it (--preset demo is MiniLM-sized, base/paper BERT-base/large)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the latest checkpoint in OUT/checkpoints")
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    from videobert.artifacts.corpus import CorpusError
    from videobert.train.config import load_pretrain_config
    from videobert.train.loop import pretrain

    overrides = list(args.overrides)
    if args.init is not None:
        overrides.append(f"model.init={args.init}")
    try:
        config = load_pretrain_config(args.preset, overrides)
    except ConfigError as exc:  # a bad value: a usage error, like argparse's
        print(f"videobert pretrain: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = pretrain(args.corpus, args.out, config, resume=args.resume, device=args.device)
    except (ConfigError, CorpusError, FileExistsError, ValueError) as exc:
        print(f"videobert pretrain: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if result.stopped_early:
        print(f"stopped at step {result.step}; checkpoints in {result.run_dir / 'checkpoints'}")
    return 0
