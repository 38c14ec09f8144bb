"""`videobert corpus SEGMENTS CODEBOOK OUT`: tokenise sentences and visual words into shards."""

from __future__ import annotations

import argparse
import sys

from videobert.cli_options import add_config_arguments
from videobert.config import ConfigError, CorpusConfig, load_section, to_dict
from videobert.io import EXIT_FAILED, EXIT_USAGE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("segments", help="segments folder (<id>.parquet + manifest.json)")
    parser.add_argument("codebook", help="codebook folder (assignments.parquet, centroids.npy)")
    parser.add_argument("out", help="corpus folder to write")
    parser.add_argument(
        "--tokenizer",
        help="BERT WordPiece tokenizer folder or hub id (default: bundled all-MiniLM-L6-v2)",
    )
    parser.add_argument("--shard-size", type=int, help="examples per shard (default 10000)")
    add_config_arguments(parser, "corpus")
    parser.add_argument("--force", action="store_true", help="rebuild even if OUT is complete")


def config_from_args(args: argparse.Namespace) -> CorpusConfig:
    overrides = list(args.overrides)
    if args.tokenizer is not None:
        overrides.append(f"tokenizer={args.tokenizer}")
    if args.shard_size is not None:
        overrides.append(f"shard_size={args.shard_size}")
    return load_section(CorpusConfig, "corpus", args.preset, overrides)


def run(args: argparse.Namespace) -> int:
    from videobert.sequences.corpus import run_corpus

    try:
        config = config_from_args(args)
        print(f"[corpus] config: {to_dict(config)}", file=sys.stderr)
        report = run_corpus(args.segments, args.codebook, args.out, config, force=args.force)
    except ConfigError as exc:  # a bad value: a usage error, like argparse's
        print(f"videobert corpus: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, ValueError) as exc:
        print(f"videobert corpus: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return report.exit_code()
