"""`videobert prepare MODEL VIDEOS --out DIR`: new videos -> the inputs every task reads, with the
settings the model was trained with.

ingest (``DIR/segments``: the model's clip grid) -> features (``DIR/features``: its backbone,
weights and input size) -> ``codebook assign`` (``DIR/words``: its codebook, no re-fit). The
settings come from ``MODEL/codebook/meta.json`` (written by the codebook stage); every stage
resumes, so a second run only does what is new. Then, e.g.::

    videobert zeroshot --model MODEL --words DIR/words --ground-truth GT
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from videobert.cli_options import add_device_argument
from videobert.config import FeaturesConfig, IngestConfig
from videobert.io import EXIT_FAILED, StageReport
from videobert.log import get_logger
from videobert.pipeline import PipelinePaths

_LOG = get_logger("prepare")



def recorded_settings(model_dir: str | Path) -> tuple[IngestConfig, FeaturesConfig]:
    """The clip grid and the feature extractor a model's codebook was fit with."""
    from videobert.artifacts.codebook import CodebookFolder

    codebook = CodebookFolder.open(Path(model_dir) / "codebook")
    meta: dict[str, Any] = codebook.meta
    backbone = meta.get("backbone")
    if backbone == "npy" or not backbone:
        raise ValueError(
            f"{codebook.folder / 'meta.json'}: the codebook was fit on imported features "
            f"(backbone {backbone!r}); extract features for new videos the same way, then run "
            f"`videobert codebook assign {codebook.folder} FEATURES --out WORDS`"
        )
    grid = codebook.clip_grid
    ingest = dataclasses.replace(IngestConfig(), fps=grid.fps, clip_frames=grid.clip_frames,
                                 min_last_clip=grid.min_last_clip)
    weights = meta.get("weights")
    if weights and weights != "random" and not Path(weights).exists():
        _LOG.info(f"the recorded {backbone} weights {weights} are not on this machine: using the "
                  "backbone's default weights")
        weights = None
    # "i3d/2+flow": I3D on every 2nd frame of a clip, and the flow stream
    network, _, motion = str(backbone).partition("+")
    network, _, stride = network.partition("/")
    features = dataclasses.replace(FeaturesConfig(), backbone=network, weights=weights,
                                   size=int(meta.get("size") or FeaturesConfig().size),
                                   motion=motion or None, frame_stride=int(stride or 1))
    return ingest, features


def run_prepare(
    model_dir: str | Path,
    videos: str | Path,
    out: str | Path,
    asr: bool = True,
    device: str | None = None,
    progress: bool = True,
    transcripts: str | Path | None = None,
) -> dict[str, StageReport]:
    """ingest -> features -> codebook assign for ``videos`` (a folder or a manifest) into
    ``out``, with the model's recorded settings; returns each stage's report. ``transcripts``:
    a dataset-wide transcripts file for ingest (``run_ingest``)."""
    from videobert.features.extract import run_features
    from videobert.ingest.stage import run_ingest
    from videobert.visual_words.assign import run_assign

    ingest, features = recorded_settings(model_dir)
    if not asr:
        ingest = dataclasses.replace(ingest, asr=False)
    paths = PipelinePaths(Path(out))
    _LOG.info(f"clips of {ingest.clip_frames} frames at {ingest.fps:g} fps; features "
              f"{features.backbone} at {features.size} px")
    reports = {"ingest": run_ingest(videos, paths.segments, ingest, progress=progress,
                                    transcripts=transcripts)}
    reports["features"] = run_features(paths.segments, paths.features, features, device=device,
                                       progress=progress)
    reports["assign"] = run_assign(Path(model_dir) / "codebook", paths.features, paths.words)
    _LOG.info(f"visual words of the new videos: {paths.words} (pass it to a task as --words)")
    return reports


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, help="model folder (config.json, codebook/)")
    parser.add_argument("videos", type=Path,
                        help="folder of videos (+ same-stem subtitles) or a CSV/JSONL manifest")
    parser.add_argument("--out", type=Path, required=True,
                        help="work folder: segments/, features/, words/")
    parser.add_argument("--no-asr", action="store_true",
                        help="do not transcribe speech for videos without subtitles")
    parser.add_argument("--transcripts", metavar="FILE",
                        help="YouCook2 annotations or HowTo100M caption.json: the videos' text "
                        "(see `videobert ingest --transcripts`)")
    add_device_argument(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    try:
        reports = run_prepare(args.model, args.videos, args.out, asr=not args.no_asr,
                              transcripts=args.transcripts,
                              device=args.device, progress=not args.no_progress)
    except (FileNotFoundError, ValueError) as exc:
        print(f"videobert prepare: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return max(report.exit_code() for report in reports.values())
