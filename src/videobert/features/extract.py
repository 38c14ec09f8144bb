"""The features stage: every clip of every video -> one 1024-d vector, ``features/<id>.npy``.

Reads ``segments/manifest.json`` (the ingest stage's list of videos and its fps / clip length, so
clip ``i`` here is clip ``i`` there) and writes float16 ``[n_clips, D]`` per video, then
``manifest.json`` last (see docs/formats.md).

How it runs:
- DataLoader workers decode (``videobert.ingest.video.iter_clips``) while the main process runs
  the network, so decoding hides behind the forward pass. Each worker takes whole videos and
  yields batches of up to ``batch_size`` clips of one video, then an end-of-video marker; a
  video is never held in memory whole.
- Resumable: a video whose ``.npy`` exists is skipped; each ``.npy`` is written atomically as
  soon as its video is done, so a killed run loses only the videos in flight.
- Sharded by ``--shard i/n`` or ``RANK``/``WORLD_SIZE``: shard ``i`` takes every ``n``-th video
  (by sorted id), writes ``manifest.shard-i-of-n.json``, and whichever shard finds all ``n``
  shard manifests present merges them into ``manifest.json``.
- A video that fails to decode is reported (file + reason) and the run goes on.
- ``backbone=npy`` copies precomputed ``<id>.npy`` files from ``npy_dir`` instead, checking
  their shape against the segments manifest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info
from tqdm import tqdm

from videobert.artifacts.segments import ClipGrid, VideoJob, read_segments_manifest
from videobert.config import FeaturesConfig, to_dict
from videobert.features.partial import drop_partial, load_partial, save_partial
from videobert.features.views import ViewSpec, augment_clip
from videobert.fingerprint import stale_outputs
from videobert.io import StageReport, atomic_path, read_json, write_json
from videobert.log import get_logger

_LOG = get_logger("features")

if TYPE_CHECKING:
    from videobert.features.backbones import Backbone

PRECISIONS = ("auto", "fp32", "bf16")
MANIFEST = "manifest.json"


# ---------------------------------------------------------------------------------------------
# Inputs: the ingest manifest.


# ---------------------------------------------------------------------------------------------
# Sharding.


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)``; None -> ``RANK``/``WORLD_SIZE`` from the environment, or (0, 1)."""
    if text is None:
        rank, world = os.environ.get("RANK"), os.environ.get("WORLD_SIZE")
        if rank is None or world is None:
            return 0, 1
        text = f"{rank}/{world}"
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise ValueError(f"shard {text!r} is not i/n (e.g. 0/4)")
    i, n = int(match[1]), int(match[2])
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"shard {text!r}: need 0 <= i < n")
    return i, n


def shard_manifest_name(i: int, n: int) -> str:
    return f"manifest.shard-{i}-of-{n}.json"


# ---------------------------------------------------------------------------------------------
# Decoding in DataLoader workers.


@dataclasses.dataclass
class ClipBatch:
    """What a worker sends: clips of one video, or (``done``) the end of that video."""

    video_id: str
    clips: torch.Tensor | None = None  # uint8 (b, T, H, W, 3)
    done: bool = False
    error: str | None = None  # why the video could not be decoded (with done=True)
    fatal: str | None = None  # the worker cannot send batches at all: the run must stop


class VideoClips(IterableDataset):
    """Batches of clips, video after video; with workers, each worker takes every k-th video."""

    def __init__(self, jobs: list[VideoJob], grid: ClipGrid, size: int, batch_size: int,
                 starts: dict[str, int] | None = None, view: ViewSpec | None = None) -> None:
        self.jobs, self.grid, self.size, self.batch_size = jobs, grid, size, batch_size
        self.starts = starts or {}  # video id -> clips already done (partial checkpoint)
        self.view = view  # None: the clips as they are

    def __iter__(self) -> Iterator[ClipBatch]:
        from videobert.ingest.video import iter_clips

        info = get_worker_info()
        jobs = self.jobs if info is None else self.jobs[info.id :: info.num_workers]
        for job in jobs:
            buffer: list[np.ndarray] = []
            skip = self.starts.get(job.id, 0)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # damaged-packet notes; counts are checked
                    for index, clip in enumerate(iter_clips(
                        job.path,
                        fps=self.grid.fps,
                        clip_frames=self.grid.clip_frames,
                        size=self.size,
                        crop=True,
                        min_last_clip=self.grid.min_last_clip,
                    )):
                        if skip:  # decoded again, but the network does not see it twice
                            skip -= 1
                            continue
                        if self.view is not None:
                            clip = augment_clip(clip, self.view, job.id, index)
                        buffer.append(clip)
                        if len(buffer) == self.batch_size:
                            yield _batch(job.id, buffer, info is not None)
                            buffer = []
                if buffer:
                    yield _batch(job.id, buffer, info is not None)
            except SharedMemoryFull as exc:
                yield ClipBatch(job.id, done=True, fatal=str(exc))
                return  # every later batch would fail the same way
            except Exception as exc:  # noqa: BLE001 - any decoder failure skips only this video
                reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
                yield ClipBatch(job.id, done=True, error=reason)
                continue
            yield ClipBatch(job.id, done=True)


class SharedMemoryFull(RuntimeError):
    """A worker could not put a batch into shared memory (the way batches reach the main
    process)."""


def _batch(video_id: str, clips: list[np.ndarray], in_worker: bool) -> ClipBatch:
    tensor = torch.from_numpy(np.stack(clips))
    if in_worker:
        # Move the batch into shared memory here, where a failure can be reported: left to
        # the queue's feeder thread, an EFBIG/ENOSPC there only prints a traceback and drops
        # the batch, and the main process then waits for it forever.
        try:
            tensor.share_memory_()
        except (RuntimeError, OSError) as exc:
            raise SharedMemoryFull(str(exc)) from exc
    return ClipBatch(video_id, tensor)


class WorkerError(RuntimeError):
    """A decoding worker died, hung or cannot hand batches over; the message says what to do."""


WORKER_FIX = ("rerun with --workers 0 (decode in the main process), or give the machine more "
              "shared memory (/dev/shm; docker run --shm-size=2g) and no file size limit "
              "(ulimit -f unlimited). Finished videos are kept; the rerun continues from them")


def worker_batches(loader: DataLoader) -> Iterator[ClipBatch]:
    """The loader's batches; a dead, stuck or failing worker becomes a ``WorkerError``."""
    batches = iter(loader)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except RuntimeError as exc:  # DataLoader: "worker ... exited unexpectedly", "timed out"
            raise WorkerError(f"decoding worker died or stopped answering ({exc}); the usual "
                              "cause is full shared memory (/dev/shm). " + WORKER_FIX) from exc
        if batch.fatal is not None:
            raise WorkerError(
                f"decoding worker could not write shared memory ({batch.fatal}): the file "
                "size limit (ulimit -f) or /dev/shm is full; " + WORKER_FIX)
        yield batch


# ---------------------------------------------------------------------------------------------
# Output files.


def save_npy(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` atomically (a file object, so numpy adds no suffix)."""
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.save(f, array)


def npy_rows(path: Path) -> int | None:
    """Rows of a finished ``.npy`` (header only), or None when it is unreadable."""
    try:
        return int(np.load(path, mmap_mode="r").shape[0])
    except (OSError, ValueError, IndexError):
        return None


def _header(config: FeaturesConfig, grid: ClipGrid, backbone: str, weights: str, dim: int | None,
            size: int | None, view: ViewSpec | None = None) -> dict[str, Any]:
    return {
        "view": None if view is None else view.to_dict(),
        "stage": "features",
        "backbone": backbone,
        "weights": weights,
        "dim": dim,
        "fps": grid.fps,
        "clip_frames": grid.clip_frames,
        "size": size,
        "config": to_dict(config),
    }


def _withdraw_manifests(out: Path, shard: tuple[int, int]) -> None:
    """The folder is incomplete again: remove the merged manifest and this shard's, so that no
    later stage takes the features of an earlier run with fewer videos for finished ones
    (they are written again when every video is done)."""
    for path in (out / MANIFEST, out / shard_manifest_name(*shard)):
        path.unlink(missing_ok=True)


def _check_same_run(out: Path, header: dict[str, Any]) -> None:
    """Refuse to mix features of another backbone/size/clip grid into an existing folder."""
    keys = ("backbone", "weights", "fps", "clip_frames", "size", "view")
    for path in [out / MANIFEST, *sorted(out.glob("manifest.shard-*-of-*.json"))]:
        if not path.is_file():
            continue
        try:
            old = read_json(path)
        except (OSError, ValueError):
            continue
        differ = [k for k in keys if old.get(k) != header[k]]
        if differ:
            detail = ", ".join(f"{k}: {old.get(k)!r} there, {header[k]!r} now" for k in differ)
            raise ValueError(f"{out} holds features of another setting ({detail}); "
                             "use a new output folder")


def _finish(out: Path, header: dict[str, Any], jobs: list[VideoJob], mine: list[VideoJob],
            shard: tuple[int, int], report: StageReport) -> None:
    """Write this shard's manifest; write ``manifest.json`` once every video is accounted for."""
    i, n = shard
    videos = {}
    for job in mine:
        rows = npy_rows(out / f"{job.id}.npy")
        if rows is not None:
            videos[job.id] = {"n_clips": rows, "source": job.source}
    entry = {**header, "videos": videos, "skipped": report.to_list()}
    if n == 1:
        write_json(out / MANIFEST, entry)  # last: its presence means the stage finished
        return
    write_json(out / shard_manifest_name(i, n), {**entry, "shard": [i, n],
                                                 "ids": [j.id for j in mine]})
    parts = [out / shard_manifest_name(k, n) for k in range(n)]
    if not all(p.is_file() for p in parts):
        return  # other shards still running; the last one to finish merges
    merged: dict[str, Any] = {**header, "videos": {}, "skipped": [], "shards": n}
    covered: set[str] = set()
    for p in parts:
        part = read_json(p)
        covered.update(part.get("ids", []))
        merged["videos"].update(part["videos"])
        merged["skipped"] += part["skipped"]
        merged["dim"] = merged["dim"] or part.get("dim")
    if covered != {j.id for j in jobs}:
        _LOG.info(f"shard manifests in {out} do not cover the segments manifest's "
                  "videos; not merging (rerun the missing shards)")
        return
    order = {j.id: k for k, j in enumerate(jobs)}
    merged["videos"] = dict(sorted(merged["videos"].items(), key=lambda kv: order[kv[0]]))
    write_json(out / MANIFEST, merged)


# ---------------------------------------------------------------------------------------------
# Precision.


# bf16 pays on a CPU only with native bf16 arithmetic: on the 2-core Xeon with AVX512-BF16 it
# is 1.3x faster at 112 px (features' cosine to fp32 >= 0.9998); at 224 px one run measured
# 0.9x and another 1.24x, so auto stays at fp32 there (docs/benchmarks.md, "Feature extraction").
BF16_CPU_MAX_SIZE = 112


def cpu_has_native_bf16() -> bool:
    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def resolve_precision(precision: str, device: torch.device, size: int | None = None) -> str:
    """``auto``: bf16 on a CUDA device that supports it, and on a CPU with native bf16
    arithmetic for inputs of at most ``BF16_CPU_MAX_SIZE`` px (``size``); fp32 otherwise."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: choose one of {PRECISIONS}")
    if precision != "auto":
        return precision
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16"
    if (device.type == "cpu" and size is not None and size <= BF16_CPU_MAX_SIZE
            and cpu_has_native_bf16()):
        return "bf16"
    return "fp32"


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


# ---------------------------------------------------------------------------------------------
# The stage.


def run_features(
    segments_dir: str | Path,
    out_dir: str | Path,
    config: FeaturesConfig | None = None,
    shard: tuple[int, int] | None = None,
    npy_dir: str | Path | None = None,
    device: str | None = None,
    progress: bool = True,
    backbone: Backbone | None = None,
    view: ViewSpec | None = None,
) -> StageReport:
    """Extract (or, with ``backbone=npy``, import) clip features for every video of the
    segments manifest that has no ``out_dir/<id>.npy`` yet. Returns the stage report (skipped
    videos with reasons); the manifest is written when all videos are done or skipped. Then
    ``config.views`` augmented views, each into its own folder ``out_dir/views/<k>/``.

    ``backbone``: an already built network to use instead of building ``config.backbone``
    (a caller that extracts several folders loads the weights once); it must live on
    ``device`` and match ``config.size``. ``view``: extract this view alone into ``out_dir``."""
    config = config or FeaturesConfig()
    shard = shard or parse_shard(None)
    out = Path(out_dir)
    jobs, grid = read_segments_manifest(segments_dir)
    mine = jobs[shard[0] :: shard[1]]
    report = StageReport("features")
    out.mkdir(parents=True, exist_ok=True)
    if config.backbone == "npy":
        if config.views:
            raise ValueError("features.views needs a network to see the augmented clips; "
                             "backbone npy imports features as they are")
        if npy_dir is None:
            raise ValueError("backbone npy needs the folder of precomputed features (--npy-dir)")
        return _import_npy(Path(npy_dir), out, config, grid, jobs, mine, shard, report, progress)
    if config.batch_size < 1 or config.workers < 0:
        raise ValueError("batch_size must be >= 1 and workers >= 0")

    from videobert.features.backbones import build_backbone

    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if backbone is None:
        backbone = build_backbone(config.backbone, config.weights, config.size, str(dev),
                                  config.motion, config.frame_stride)
    elif backbone.size != config.size:
        raise ValueError(f"backbone takes {backbone.size} px but config.size is {config.size}")
    blocks = getattr(backbone, "blocks", None)  # several streams: normalised apart downstream
    if bool(config.motion) != bool(blocks):
        raise ValueError(f"features.motion is {config.motion!r} but the backbone given is "
                         f"{backbone.name}: build it with build_backbone(..., motion=...)")
    if getattr(backbone, "frame_stride", 1) != config.frame_stride:
        raise ValueError(f"features.frame_stride is {config.frame_stride} but the backbone given "
                         f"is {backbone.name}: build it with build_backbone(..., frame_stride=...)")
    precision = resolve_precision(config.precision, dev, config.size)
    header = _header(config, grid, backbone.name, backbone.weights, backbone.dim, config.size,
                     view)
    if blocks:
        header["blocks"] = list(blocks)
    _check_same_run(out, header)

    _drop_stale(out, mine)
    todo = [j for j in mine if npy_rows(out / f"{j.id}.npy") is None]
    done_before = len(mine) - len(todo)
    if todo:  # an earlier run's manifest (fewer videos) must not pass for this one's
        _withdraw_manifests(out, shard)
    _LOG.info(f"{backbone.name} ({backbone.weights}), {config.size}px, {precision}, "
              f"shard {shard[0]}/{shard[1]}: {len(todo)} videos to do, {done_before} already done")
    settings = partial_settings(header, config.batch_size, precision)
    resumed = {j.id: rows for j in todo if (rows := load_partial(out, j.id, settings)) is not None}
    if resumed:
        _LOG.info(f"resuming {len(resumed)} video(s) from partial features: "
                  + ", ".join(f"{vid} at clip {len(rows)}" for vid, rows in resumed.items()))
    loader = DataLoader(
        VideoClips(todo, grid, config.size, config.batch_size,
                   starts={vid: len(rows) for vid, rows in resumed.items()}, view=view),
        batch_size=None,  # the dataset yields ready batches
        num_workers=min(config.workers, len(todo)),
        pin_memory=dev.type == "cuda",
        # a watchdog for a worker that neither sends nor dies (the known failures above are
        # reported at once); generous, since one batch of long clips can take a while
        timeout=config.worker_timeout if config.workers and todo else 0,
    )
    bar = tqdm(total=sum(j.n_clips for j in todo), unit="clip",
               desc="features" if view is None else f"features, view {view.index}",
               disable=not progress, file=sys.stderr)
    with torch.inference_mode(), bar:
        bar.update(sum(len(rows) for rows in resumed.values()))
        n_done = _extract(
            worker_batches(loader), {j.id: j for j in todo}, out, report, resumed,
            lambda clips: forward_clips(backbone, clips, dev, precision),
            Checkpoints(out, config.checkpoint_every, settings), bar,
            lambda n: f"{n + done_before}/{len(mine)}",
        )
    _finish(out, header, jobs, mine, shard, report)
    report.finish(n_done + done_before)
    if view is None:
        for k in range(1, config.views + 1):
            spec = ViewSpec(k, config.view_min_scale, config.view_speed, config.view_flip)
            run_features(segments_dir, view_folder(out, k), config, shard, device=str(dev),
                         progress=progress, backbone=backbone, view=spec)
    return report


def view_folder(features_dir: str | Path, k: int) -> Path:
    """Where augmented view ``k`` of a features folder lives (a features folder itself)."""
    return Path(features_dir) / "views" / str(k)


def forward_clips(backbone: Backbone, clips: torch.Tensor, dev: torch.device,
                  precision: str) -> np.ndarray:
    """Features of a uint8 clip batch, (B, D) float32: the stage's forward pass (the API's too,
    so both give the same numbers)."""
    x = backbone.preprocess(clips)
    with _autocast(dev, precision):
        return backbone.forward_features(x).float().cpu().numpy()


# ---------------------------------------------------------------------------------------------
# The extraction loop and its partial checkpoints (resume inside a video).


def partial_settings(header: dict[str, Any], batch_size: int, precision: str) -> dict[str, Any]:
    """What must be equal for checkpointed rows to continue bit-identically: the network, its
    input, the clip grid, and the batch boundaries (batch size) and arithmetic (precision)."""
    keys = ("backbone", "weights", "dim", "fps", "clip_frames", "size", "view")
    return {**{k: header.get(k) for k in keys}, "batch_size": batch_size, "precision": precision}


@dataclasses.dataclass
class Checkpoints:
    """Writes a video's rows to ``partial/<id>.npz`` every ``every`` clips (0 = never)."""

    out: Path
    every: int
    settings: dict[str, Any]

    def due(self, rows: int, saved: int) -> bool:
        return self.every > 0 and rows - saved >= self.every

    def save(self, video_id: str, parts: list[np.ndarray]) -> int:
        rows = np.concatenate(parts).astype(np.float16)
        save_partial(self.out, video_id, rows, self.settings)
        return len(rows)


def _extract(batches: Iterator[ClipBatch], jobs: dict[str, VideoJob], out: Path,
             report: StageReport, resumed: dict[str, np.ndarray],
             forward: Callable[[torch.Tensor], np.ndarray], checkpoints: Checkpoints,
             bar: tqdm, progress_text: Callable[[int], str]) -> int:
    """Run the network on every batch, write each finished video's ``.npy`` (and drop its
    partial checkpoint); returns how many videos were written. Videos in flight when a decoding
    worker fails are checkpointed before the error goes up, so the rerun continues them."""
    pending: dict[str, list[np.ndarray]] = {vid: [rows] for vid, rows in resumed.items()}
    saved: dict[str, int] = {vid: len(rows) for vid, rows in resumed.items()}
    n_done = 0
    try:
        for batch in batches:
            job = jobs[batch.video_id]
            parts = pending.setdefault(job.id, [])
            if batch.clips is not None:
                parts.append(forward(batch.clips))
                bar.update(len(batch.clips))
                rows = sum(len(p) for p in parts)
                if not batch.done and checkpoints.due(rows, saved.get(job.id, 0)):
                    saved[job.id] = checkpoints.save(job.id, parts)
            if not batch.done:
                continue
            del pending[job.id]
            if _write_video(job, parts, batch.error, out, report):
                n_done += 1
                bar.set_postfix(videos=progress_text(n_done))
            drop_partial(out, job.id)
    except WorkerError:
        for vid, parts in pending.items():
            if parts and sum(len(p) for p in parts) > saved.get(vid, 0):
                checkpoints.save(vid, parts)
        raise
    return n_done


def _write_video(job: VideoJob, parts: list[np.ndarray], error: str | None, out: Path,
                 report: StageReport) -> bool:
    """Check a finished video's rows and write ``<id>.npy``; False when it was skipped."""
    if error is not None:
        report.skip(job.path, error)
        return False
    if not parts:
        report.skip(job.path, "decoded no clips (too short or no frames)")
        return False
    array = np.concatenate(parts).astype(np.float16)
    if not np.isfinite(array).all():
        report.skip(job.path, "features are not finite (overflow in float16?)")
        return False
    if len(array) != job.n_clips:
        _LOG.info(f"{job.id}: {len(array)} clips decoded, the segments manifest "
                  f"says {job.n_clips}")
    save_npy(out / f"{job.id}.npy", array)
    return True


def _import_npy(npy_dir: Path, out: Path, config: FeaturesConfig, grid: ClipGrid,
                jobs: list[VideoJob], mine: list[VideoJob], shard: tuple[int, int],
                report: StageReport, progress: bool) -> StageReport:
    """Validate precomputed ``<id>.npy`` files ([n_clips, D], one D for all) and store them as
    float16. A file that is missing or has the wrong shape is reported and skipped."""
    if not npy_dir.is_dir():
        raise FileNotFoundError(f"precomputed features folder not found: {npy_dir}")
    dims = {int(r.shape[1]) for j in mine
            if (r := _peek(out / f"{j.id}.npy")) is not None and r.ndim == 2}
    dim = dims.pop() if len(dims) == 1 else None
    header = _header(config, grid, "npy", str(npy_dir.resolve()), dim, None)
    _check_same_run(out, header)
    _drop_stale(out, mine)
    for job in tqdm(mine, desc="features (npy)", unit="video", disable=not progress,
                    file=sys.stderr):
        target, source = out / f"{job.id}.npy", npy_dir / f"{job.id}.npy"
        if npy_rows(target) is not None:
            continue
        if not source.is_file():
            report.skip(source, f"no precomputed features for video {job.id}")
            continue
        try:
            array = np.load(source, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            report.skip(source, f"not a readable .npy ({exc})")
            continue
        problem = None
        if array.ndim != 2:
            problem = f"shape {array.shape}: expected [n_clips, D]"
        elif array.shape[0] != job.n_clips:
            problem = (f"{array.shape[0]} rows, but the segments manifest has {job.n_clips} "
                       "clips (features must be one row per clip of the same clip grid)")
        elif dim is not None and array.shape[1] != dim:
            problem = f"dimension {array.shape[1]}, other videos have {dim}"
        elif not np.issubdtype(array.dtype, np.floating) and not np.issubdtype(
                array.dtype, np.integer):
            problem = f"dtype {array.dtype} is not numeric"
        if problem is None:
            array = np.asarray(array, dtype=np.float32)
            if not np.isfinite(array).all() or np.abs(array).max(initial=0) > 65504:
                problem = "values are not finite or too large for float16"
        if problem:
            report.skip(source, problem)
            continue
        dim = dim or int(array.shape[1])
        save_npy(target, array.astype(np.float16))
    header["dim"] = dim
    _finish(out, header, jobs, mine, shard, report)
    n = sum(npy_rows(out / f"{j.id}.npy") is not None for j in mine)
    report.finish(n)
    return report


def _drop_stale(out: Path, jobs: list[VideoJob]) -> None:
    """Delete the ``.npy`` of videos that changed since it was made, so they are redone."""
    manifests = [out / MANIFEST, *sorted(out.glob("manifest.shard-*-of-*.json"))]
    for video_id in stale_outputs(out, [(j.id, j.source, j.path) for j in jobs], ".npy",
                                  manifests):
        tqdm.write(f"[features] {video_id}: the video changed since its features were made; "
                   "redoing it", file=sys.stderr)
        (out / f"{video_id}.npy").unlink()


def _peek(path: Path) -> np.ndarray | None:
    try:
        return np.load(path, mmap_mode="r") if path.is_file() else None
    except (OSError, ValueError):
        return None
