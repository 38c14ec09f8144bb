"""`videobert ingest INPUT OUT`: decode videos, read subtitles or speech, align to clips."""

from __future__ import annotations

import argparse
import sys

import yaml

from videobert.cli_options import add_config_arguments
from videobert.config import ConfigError, IngestConfig, load_section, to_dict
from videobert.io import EXIT_USAGE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="folder of videos + same-stem subtitles, or a CSV/JSONL "
                        "manifest with columns video, subtitle, id")
    parser.add_argument("out", help="output folder (segments/): <id>.parquet + manifest.json")
    parser.add_argument("--transcripts", metavar="FILE",
                        help="one file with the text of many videos, by id (= file stem): "
                        "YouCook2's youcookii_annotations_trainval.json (each annotation one "
                        "sentence) or HowTo100M's caption.json; it comes before a video's own "
                        "subtitles, and videos it does not name keep theirs")
    parser.add_argument("--list", dest="video_list", metavar="FILE",
                        help="ingest only the videos of INPUT listed here: a CSV with a "
                        "video_id column (HowTo100M_v1.csv) or one id per line; listed ids "
                        "without a video go to OUT/missing.txt")
    parser.add_argument("--fps", type=float, help="frames per second after resampling")
    parser.add_argument("--clip-frames", type=int, help="frames per clip")
    parser.add_argument("--no-asr", action="store_true",
                        help="do not transcribe speech for videos without subtitles")
    parser.add_argument("--asr-model", help="faster-whisper model name or folder "
                        "(default tiny.en, bundled offline)")
    add_config_arguments(parser, "ingest")
    parser.add_argument("--recursive", action="store_true",
                        help="also read videos in subfolders (ids get the subfolder path)")
    parser.add_argument("--force", action="store_true",
                        help="redo every video, even those whose inputs did not change")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if args.fps is not None:
        overrides.append(f"fps={args.fps}")
    if args.clip_frames is not None:
        overrides.append(f"clip_frames={args.clip_frames}")
    if args.no_asr:
        overrides.append("asr=false")
    if args.asr_model:
        overrides.append(f"asr_model={args.asr_model}")
    try:
        config = load_section(IngestConfig, "ingest", args.preset, overrides)
    except ConfigError as exc:
        print(f"videobert ingest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print("ingest config:\n" + yaml.safe_dump(to_dict(config), sort_keys=False).rstrip(),
          file=sys.stderr)

    from videobert.ingest.stage import run_ingest

    try:
        report = run_ingest(args.input, args.out, config, progress=not args.no_progress,
                            force=args.force, recursive=args.recursive,
                            transcripts=args.transcripts, video_list=args.video_list)
    except (FileNotFoundError, ValueError) as exc:
        print(f"videobert ingest: {exc}", file=sys.stderr)
        return 1
    return report.exit_code()
