"""`videobert synth OUT`: write the built-in synthetic how-to dataset."""

from __future__ import annotations

import argparse
import sys

from videobert.synth.audio import SpeechUnavailable


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must look like 160x128, got {text!r}") from exc
    return w, h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="output folder (videos/, ground_truth.json, manifest.jsonl)")
    parser.add_argument("--n-videos", type=int, default=100, help="number of videos (100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--size", type=_size, default=(160, 128), help="WIDTHxHEIGHT (160x128)")
    parser.add_argument("--fps", type=float, default=25.0, help="source frame rate (25)")
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.2,
        help="share of videos (and of verb-noun combinations) held out (0.2)",
    )
    speech = parser.add_mutually_exclusive_group()
    speech.add_argument(
        "--no-speech",
        dest="speech",
        action="store_const",
        const=False,
        default="auto",
        help="no spoken narration in the audio track",
    )
    speech.add_argument(
        "--speech",
        dest="speech",
        action="store_const",
        const=True,
        help="require spoken narration (fails without espeak-ng)",
    )
    parser.add_argument("--workers", type=int, default=1, help="parallel render processes (1)")


def run(args: argparse.Namespace) -> int:
    from videobert.synth.dataset import SynthError, generate

    try:
        out = generate(
            args.out,
            n_videos=args.n_videos,
            seed=args.seed,
            size=args.size,
            fps=args.fps,
            val_fraction=args.val_fraction,
            speech=args.speech,
            workers=args.workers,
        )
    except (SynthError, SpeechUnavailable) as exc:
        print(f"videobert synth: {exc}", file=sys.stderr)
        return 1
    print(f"[synth] wrote {out}")
    return 0
