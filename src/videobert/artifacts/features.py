"""The features folder (the features stage's output): ``<id>.npy`` float ``[n_clips, D]`` per
video and ``manifest.json`` (written last: ``backbone``, ``weights``, ``dim``, ``fps``,
``clip_frames``, ``size``, ``videos: {id: {n_clips, source}}``, ``skipped``). Readers for the
stages and tasks after it; the features stage writes it."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from videobert.io import StageReport, read_json

MANIFEST = "manifest.json"


@dataclasses.dataclass(frozen=True)
class FeatureFile:
    id: str
    path: Path
    n_clips: int

    def array(self) -> np.ndarray:
        """The ``[n_clips, D]`` features, memory-mapped (rows are read when indexed)."""
        return np.load(self.path, mmap_mode="r")


def read_features_manifest(features_dir: str | Path) -> dict[str, Any]:
    path = Path(features_dir) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no features manifest (the features stage writes it last; is it finished?)"
        )
    manifest = read_json(path)
    missing = [key for key in ("dim", "fps", "clip_frames", "videos") if key not in manifest]
    if missing:
        raise ValueError(f"{path}: features manifest lacks {missing}")
    return manifest


def manifest_sha1(features_dir: str | Path) -> str:
    return hashlib.sha1((Path(features_dir) / MANIFEST).read_bytes()).hexdigest()


def is_features_folder(features_dir: str | Path) -> bool:
    return (Path(features_dir) / MANIFEST).is_file()


def check_feature_files(
    features_dir: str | Path, manifest: dict[str, Any], report: StageReport
) -> list[FeatureFile]:
    """The usable ``<id>.npy`` files (header only, memory-mapped); the others are reported
    with the reason."""
    features_dir = Path(features_dir)
    dim = int(manifest["dim"])
    usable = []
    for video_id, info in manifest["videos"].items():
        path = features_dir / f"{video_id}.npy"
        expected = int(info.get("n_clips", -1)) if isinstance(info, dict) else -1
        try:
            array = np.load(path, mmap_mode="r")
        except FileNotFoundError:
            report.skip(path, "listed in the features manifest but missing")
            continue
        except (ValueError, OSError) as exc:
            report.skip(path, f"not a readable .npy file ({exc})")
            continue
        if array.ndim != 2 or array.shape[1] != dim or array.dtype.kind != "f":
            report.skip(path, f"expected float [n_clips, {dim}], got {array.dtype} {array.shape}")
        elif expected >= 0 and array.shape[0] != expected:
            report.skip(path, f"has {array.shape[0]} clips, the manifest says {expected}")
        elif array.shape[0] == 0:
            report.skip(path, "no clips")
        else:
            usable.append(FeatureFile(video_id, path, int(array.shape[0])))
    return usable


class ClipFeatures:
    """Each video's clip features as float32 ``[n_clips, D]``, read once and kept."""

    def __init__(self, features_dir: str | Path) -> None:
        self.folder = Path(features_dir)
        self._cache: dict[str, np.ndarray] = {}

    def path(self, video_id: str) -> Path:
        return self.folder / f"{video_id}.npy"

    def __call__(self, video_id: str) -> np.ndarray:
        if video_id not in self._cache:
            path = self.path(video_id)
            if not path.exists():
                raise FileNotFoundError(f"clip features {path} do not exist (run `features`)")
            array = np.load(path)
            if array.ndim != 2:
                raise ValueError(f"{path}: expected [n_clips, D] features, got shape "
                                 f"{array.shape}")
            self._cache[video_id] = array.astype(np.float32)
        return self._cache[video_id]

    def clips(self, video_id: str, first: int, last: int, what: str) -> np.ndarray:
        """Clips ``first..last`` (inclusive) of a video; ``what`` names who needs them in the
        error when the file is shorter."""
        array = self(video_id)
        if last >= len(array):
            raise ValueError(f"{self.path(video_id)} has {len(array)} clips but {what} needs "
                             f"clip {last}")
        return array[first : last + 1]


def normalized_clip_features(
    features_dir: str | Path, normalize: str, clip_counts: dict[str, int],
    blocks: list[int] | None = None,
) -> dict[str, np.ndarray]:
    """Each video's clip features normalised as its codebook saw them (``normalize`` from the
    codebook's meta), float16 ``[n_clips, D]``: the continuous visual input of a model with
    ``clip_feature_dim``. ``clip_counts``: the videos wanted and the clips each must have (a
    features file that disagrees with the visual words is an error naming it)."""
    reader = ClipFeatures(features_dir)
    out: dict[str, np.ndarray] = {}
    for video_id, n_clips in clip_counts.items():
        if not reader.path(video_id).exists():
            raise FileNotFoundError(f"clip features {reader.path(video_id)} do not exist (run "
                                    "`features`)")
        # read, normalise and drop one video at a time: only the float16 result is kept
        array = np.load(reader.path(video_id), mmap_mode="r").astype(np.float32)
        if array.ndim != 2:
            raise ValueError(f"{reader.path(video_id)}: expected [n_clips, D] features, got "
                             f"shape {array.shape}")
        if len(array) != n_clips:
            raise ValueError(f"{reader.path(video_id)} has {len(array)} clips but its visual "
                             f"words have {n_clips}: features and codebook disagree")
        out[video_id] = normalize_video(array, normalize, blocks).astype(np.float16)
    return out


def normalize_video(features: np.ndarray, how: str,
                    blocks: list[int] | None = None) -> np.ndarray:
    """One whole video's float32 ``[n_clips, D]`` features normalised as a codebook with
    ``normalize = how`` sees them (``center_l2`` removes this video's own mean clip; ``blocks``:
    the codebook's stream widths, each normalised apart)."""
    from videobert.visual_words.stage import normalize_features

    if not len(features):
        return features
    mean = features.astype(np.float64).mean(0).astype(np.float32) if how == "center_l2" else None
    return normalize_features(features, how, mean, blocks)
