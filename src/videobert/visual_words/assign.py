"""`videobert codebook assign CODEBOOK FEATURES --out WORDS`: an existing codebook applied to new
clip features, with no re-fit.

The features must come from the backbone, input size and clip grid the codebook was fit on
(checked against the codebook's ``meta.json``); the codebook's normalisation (``normalize``:
per-video centring + L2 by default) is applied first, with each new video's own mean. Writes a
visual-words folder (``videobert.artifacts.words``): ``assignments.parquet``, ``usage.json``,
``meta.json`` last. A complete folder for the same codebook and features is left as it is.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from videobert.artifacts.codebook import CodebookFolder
from videobert.artifacts.features import manifest_sha1 as features_manifest_sha1
from videobert.artifacts.words import ASSIGNMENTS_FILE, META_FILE, file_sha1
from videobert.io import EXIT_FAILED, Skip, StageReport, write_json
from videobert.log import get_logger
from videobert.visual_words.hkmeans import CENTROIDS_FILE, Codebook

USAGE_FILE = "usage.json"
MATCHED_KEYS = ("backbone", "size", "fps", "clip_frames", "dim")  # features vs codebook


_LOG = get_logger("codebook assign")



def check_compatible(codebook_dir: Path, meta: dict[str, Any], features_dir: Path,
                     manifest: dict[str, Any]) -> None:
    """Features from another backbone, size or clip grid would be assigned words that mean
    nothing: say which setting differs, with both values."""
    for key in MATCHED_KEYS:
        want, got = meta.get(key), manifest.get(key)
        if want is None or got is None:
            continue
        same = float(want) == float(got) if key in ("fps", "size") else want == got
        if not same:
            raise ValueError(
                f"{features_dir}: features have {key}={got!r} but codebook {codebook_dir} was "
                f"fit on {key}={want!r} (extract them with the codebook's settings: "
                f"`videobert prepare MODEL VIDEOS` does)"
            )


def _already_done(out: Path, codebook_sha1: str, manifest_sha1: str) -> dict | None:
    from videobert.artifacts.complete import is_complete

    return is_complete(out, {"codebook_sha1": codebook_sha1,
                             "features_manifest_sha1": manifest_sha1},
                       files=[ASSIGNMENTS_FILE], marker=META_FILE)


def run_assign(codebook_dir: str | Path, features_dir: str | Path, out_dir: str | Path,
               force: bool = False) -> StageReport:
    """Assign every clip of ``features_dir`` to the words of ``codebook_dir``; write
    ``out_dir`` (a visual-words folder)."""
    from videobert.visual_words.stage import (
        assign_all,
        check_feature_files,
        read_features_manifest,
        usage_summary,
        video_mean,
        write_assignments,
    )

    codebook_dir, features_dir, out = Path(codebook_dir), Path(features_dir), Path(out_dir)
    report = StageReport("codebook assign")
    folder = CodebookFolder.open(codebook_dir)  # a missing part: one line naming it
    codebook = Codebook.load(codebook_dir)
    manifest = read_features_manifest(features_dir)
    check_compatible(codebook_dir, codebook.meta, features_dir, manifest)
    codebook_sha1 = file_sha1(codebook_dir / CENTROIDS_FILE)
    manifest_sha1 = features_manifest_sha1(features_dir)
    previous = None if force else _already_done(out, codebook_sha1, manifest_sha1)
    if previous is not None:
        _LOG.info(f"{out} already holds these features' words for this codebook; nothing to do")
        report.skipped.extend(Skip(**item) for item in previous.get("skipped", []))
        return report

    files = check_feature_files(features_dir, manifest, report)
    if not files:
        raise ValueError(f"{features_dir}: no usable feature files (see the skipped list)")
    normalize = folder.normalize
    means = {f.id: video_mean(f) for f in files} if normalize == "center_l2" else None
    assignments = assign_all(codebook, files, report, normalize, means, folder.blocks)

    out.mkdir(parents=True, exist_ok=True)
    (out / META_FILE).unlink(missing_ok=True)  # the folder is incomplete until meta.json
    write_assignments(out / ASSIGNMENTS_FILE, assignments)
    usage = usage_summary(assignments.word, codebook.n_words)
    write_json(out / USAGE_FILE, usage)
    n_videos = len(set(assignments.video.tolist()))
    write_json(out / META_FILE, {
        "stage": "codebook assign",
        "codebook": str(codebook_dir.resolve()),
        "codebook_sha1": codebook_sha1,
        "n_words": codebook.n_words,
        "normalize": normalize,
        **{key: manifest.get(key) for key in ("backbone", "weights", "size", "dim", "fps",
                                              "clip_frames")},
        "features": str(features_dir.resolve()),
        "features_manifest_sha1": manifest_sha1,
        "segments": manifest.get("segments"),
        "n_videos": n_videos,
        "n_clips": int(len(assignments.word)),
        "used_words": usage["used_words"],
        "skipped": report.to_list(),
    })
    report.finish(n_videos, record="meta.json")
    _LOG.info(f"{len(assignments.word)} clips of {n_videos} videos -> {out}")
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("codebook", type=Path,
                        help="codebook folder (centroids.npy, tree.npz, meta.json), e.g. "
                             "MODEL/codebook")
    parser.add_argument("features", type=Path, help="features folder (<id>.npy + manifest.json)")
    parser.add_argument("--out", type=Path, required=True, help="visual-words folder to write")
    parser.add_argument("--force", action="store_true", help="redo even if OUT is complete")


def run(args: argparse.Namespace) -> int:
    try:
        report = run_assign(args.codebook, args.features, args.out, force=args.force)
    except (FileNotFoundError, ValueError) as exc:
        print(f"videobert codebook assign: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return report.exit_code()
