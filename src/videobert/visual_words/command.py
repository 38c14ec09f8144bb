"""`videobert codebook FEATURES OUT`: fit hierarchical k-means visual words on clip features."""

from __future__ import annotations

import argparse
import sys

from videobert.cli_options import add_config_arguments
from videobert.config import CodebookConfig, ConfigError, load_section, to_dict
from videobert.io import EXIT_FAILED, EXIT_USAGE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("features", help="features folder (<id>.npy + manifest.json)")
    parser.add_argument("out", help="codebook folder to write")
    parser.add_argument("--k", type=int, help="branching factor (default 12)")
    parser.add_argument("--depth", type=int, help="tree depth: k**depth words (default 4)")
    parser.add_argument("--sample-size", type=int, help="clips sampled to fit (default 200000)")
    parser.add_argument("--seed", type=int, help="random seed (default 0)")
    parser.add_argument(
        "--segments", help="segments folder: its manifest gives the videos for exemplar frames"
    )
    add_config_arguments(parser, "codebook")
    parser.add_argument("--force", action="store_true", help="refit even if OUT is complete")


def config_from_args(args: argparse.Namespace) -> CodebookConfig:
    overrides = list(args.overrides)
    for field in ("k", "depth", "sample_size", "seed"):
        value = getattr(args, field)
        if value is not None:
            overrides.append(f"{field}={value}")
    return load_section(CodebookConfig, "codebook", args.preset, overrides)


def run(args: argparse.Namespace) -> int:
    from videobert.visual_words.stage import run_codebook

    try:
        config = config_from_args(args)
        print(f"[codebook] config: {to_dict(config)}", file=sys.stderr)
        report = run_codebook(args.features, args.out, config, args.segments, force=args.force)
    except ConfigError as exc:  # a bad value: a usage error, like argparse's
        print(f"videobert codebook: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, ValueError) as exc:
        print(f"videobert codebook: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return report.exit_code()
