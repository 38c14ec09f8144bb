"""`videobert features SEGMENTS OUT`: clip features for every video of an ingest run."""

from __future__ import annotations

import argparse
import sys

import yaml

from videobert.cli_options import add_config_arguments, add_device_argument
from videobert.config import MOTIONS, ConfigError, FeaturesConfig, load_section, to_dict


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("segments", help="the ingest stage's output folder (has manifest.json)")
    parser.add_argument("out", help="output folder for <id>.npy features and manifest.json")
    parser.add_argument("--backbone", choices=("i3d", "s3d", "npy"),
                        help="i3d (default, offline), s3d (downloads weights), npy (precomputed)")
    parser.add_argument("--weights", help="weights file for the backbone ('random' = untrained)")
    parser.add_argument("--npy-dir", help="with --backbone npy: folder of <id>.npy [n_clips, D]")
    parser.add_argument("--size", type=int, help="square input side in pixels (e.g. 112, 224)")
    parser.add_argument("--batch-size", type=int, help="clips per forward pass")
    parser.add_argument("--workers", type=int, help="decoding worker processes")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"))
    parser.add_argument("--checkpoint-every", type=int, metavar="CLIPS",
                        help="save a long video's partial features every CLIPS clips, so a "
                        "killed run resumes inside it (default 256; 0 = whole videos only)")
    parser.add_argument("--motion", choices=MOTIONS,
                        help="append a motion stream to each clip's row: flow = histograms of "
                        "dense optical flow (OpenCV), read apart from the object that moves")
    parser.add_argument("--frame-stride", type=int, metavar="K",
                        help="the network sees every K-th frame of a clip (2 halves its time; "
                        "the motion stream sees every frame)")
    parser.add_argument("--shard", help="i/n: this process does every n-th video from the i-th "
                        "(default: RANK/WORLD_SIZE from the environment, else 0/1)")
    add_device_argument(parser)
    add_config_arguments(parser, "features")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _flag_overrides(args: argparse.Namespace) -> list[str]:
    flags = {"backbone": args.backbone, "weights": args.weights, "size": args.size,
             "batch_size": args.batch_size, "workers": args.workers,
             "precision": args.precision, "checkpoint_every": args.checkpoint_every,
             "motion": args.motion, "frame_stride": args.frame_stride}
    return [f"{k}={v}" for k, v in flags.items() if v is not None]


def run(args: argparse.Namespace) -> int:
    from videobert.features.extract import parse_shard, run_features

    try:
        config = load_section(FeaturesConfig, "features", args.preset,
                              [*args.overrides, *_flag_overrides(args)])
        shard = parse_shard(args.shard)
    except (ConfigError, ValueError) as exc:
        print(f"videobert features: {exc}", file=sys.stderr)
        return 2
    print(yaml.safe_dump({"features": to_dict(config)}, sort_keys=False).rstrip(),
          file=sys.stderr)
    try:
        report = run_features(args.segments, args.out, config, shard=shard,
                              npy_dir=args.npy_dir, device=args.device,
                              progress=not args.no_progress)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"videobert features: {exc}", file=sys.stderr)
        return 1
    return report.exit_code()
