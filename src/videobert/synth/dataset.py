"""``generate(out_dir)``: write the built-in synthetic how-to dataset.

Layout of ``out_dir`` (see also the README.md written into it):

- ``videos/<id>.mp4``: H.264 (+ AAC narration when espeak-ng is installed)
- ``videos/<id>.srt`` (even ids) or ``videos/<id>.vtt`` (odd ids): the noisy narration
- ``ground_truth.json``: verbs, nouns, fps, size, held-out combinations, and per video its
  split, duration and steps (verb, noun, start, end, caption, captions, narrated, narration)
- ``verbs.txt``, ``nouns.txt``: one word per line (the zero-shot label sets)
- ``manifest.jsonl``: ``{"video", "subtitle", "id"}`` per line, paths relative to ``out_dir``
  (the ingest manifest format)

Videos already complete (mp4 and subtitle present) are skipped, so an interrupted run resumes.
The dataset-level files are written last.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tqdm import tqdm

from videobert.io import atomic_path, read_json, write_json
from videobert.synth import audio
from videobert.synth.mp4 import write_mp4
from videobert.synth.narration import write_subtitles
from videobert.synth.plan import DatasetPlan, VideoPlan, plan_dataset
from videobert.synth.scene import render_frames

PARAMS_FILE = ".synth-params.json"  # what the folder was generated with; checked on resume


class SynthError(ValueError):
    """Bad arguments, or an output folder that holds a different synthetic dataset."""


@dataclasses.dataclass(frozen=True)
class _Job:
    plan: VideoPlan
    out_dir: str
    width: int
    height: int
    seed: int
    speech: bool


def video_paths(out_dir: Path, plan: VideoPlan) -> tuple[Path, Path]:
    folder = out_dir / "videos"
    return folder / f"{plan.video_id}.mp4", folder / f"{plan.video_id}.{plan.subtitle_format}"


def _render(job: _Job) -> str:
    """Write one video's subtitle and mp4 (the mp4 last: its presence marks completion)."""
    mp4, subtitle = video_paths(Path(job.out_dir), job.plan)
    write_subtitles(subtitle, job.plan.cues)
    track = None
    if job.speech:
        rng = np.random.default_rng([job.seed, job.plan.index, 2])
        track = audio.narration_track(job.plan.cues, job.plan.duration, rng)
    frames = render_frames(job.plan, job.width, job.height, job.seed)
    write_mp4(
        mp4, frames, job.plan.fps, job.width, job.height, audio=track, sample_rate=audio.SAMPLE_RATE
    )
    return job.plan.video_id


def _resolve_speech(speech: bool | Literal["auto"]) -> bool:
    available = audio.espeak_path() is not None
    if speech == "auto":
        if not available:
            print(
                "note: espeak-ng not found, so the videos get no spoken narration "
                "(install it with `sh scripts/system-deps.sh` or `apt-get install espeak-ng`)",
                file=sys.stderr,
                flush=True,
            )
        return available
    if speech and not available:
        raise audio.SpeechUnavailable(
            "speech=True needs espeak-ng on PATH (apt-get install espeak-ng)"
        )
    return bool(speech)


def ground_truth(plan: DatasetPlan, width: int, height: int, speech: bool) -> dict[str, Any]:
    videos = {}
    for v in plan.videos:
        narration = {c.step: c.text for c in v.cues if c.step is not None}
        videos[v.video_id] = {
            "split": v.split,
            "duration": round(v.duration, 4),
            "n_frames": v.n_frames,
            "subtitle": v.subtitle_format,
            "steps": [
                {
                    "verb": s.verb,
                    "noun": s.noun,
                    "start": round(s.start, 4),
                    "end": round(s.end, 4),
                    "caption": s.caption,
                    "captions": list(s.captions),
                    "narrated": s.narrated,
                    "narration": narration.get(k),
                }
                for k, s in enumerate(v.steps)
            ],
        }
    return {
        "verbs": list(plan.verbs),
        "nouns": list(plan.nouns),
        "fps": plan.fps,
        "width": width,
        "height": height,
        "seed": plan.seed,
        "speech": speech,
        "held_out": sorted([list(c) for c in plan.held_out]),
        "videos": videos,
    }


def _readme(plan: DatasetPlan, width: int, height: int, speech: bool) -> str:
    n_val = sum(v.split == "val" for v in plan.videos)
    return f"""# videobert synthetic how-to videos

Written by `videobert synth` (seed {plan.seed}): {len(plan.videos)} videos
({len(plan.videos) - n_val} train, {n_val} val), {width}x{height} pixels at {plan.fps:g} fps,
H.264{" with spoken narration (espeak-ng, AAC)" if speech else ", no audio track"}.

Each video shows 3-5 steps; a step is a verb done to a noun, repeated in ~1.4 s cycles.
Verbs are motions over time (every step starts from the same rest pose, so no single frame tells
them apart): {", ".join(plan.verbs)}.
Nouns are objects told apart by appearance: {", ".join(plan.nouns)}.
Backgrounds are textured and vary per video; the object fills half the frame's height and the
camera is still (what I3D at 112 px reads best; docs/benchmarks.md, "Built-in data").

Narration (`videos/<id>.srt` for even ids, `.vtt` for odd ids) is noisy like ASR output: lower
case, no punctuation, cue times up to 1.5 s off the step, filler sentences unrelated to the
picture, and about one step in five not mentioned.

`ground_truth.json` holds each step's verb, noun, start, end (seconds), reference captions and
whether it was narrated. Validation videos use only the (verb, noun) combinations listed under
`held_out`, which never occur in training; every verb and noun does occur in training.
`verbs.txt` / `nouns.txt` are the zero-shot label sets; `manifest.jsonl` lists
`video`, `subtitle`, `id` per line with paths relative to this folder.
"""


def _check_params(out_dir: Path, params: dict[str, Any]) -> None:
    path = out_dir / PARAMS_FILE
    if path.exists():
        old = read_json(path)
        if old != params:
            raise SynthError(
                f"{out_dir} already holds a synthetic dataset made with {old}, not {params}; "
                "use another folder or delete this one"
            )
    else:
        write_json(path, params)


def generate(
    out_dir: str | Path,
    n_videos: int = 100,
    seed: int = 0,
    size: tuple[int, int] = (160, 128),
    fps: float = 25.0,
    val_fraction: float = 0.2,
    speech: bool | Literal["auto"] = "auto",
    workers: int = 1,
    progress: bool = True,
) -> Path:
    """Write the synthetic dataset into ``out_dir`` and return it.

    ``size`` is (width, height), both even; ``speech``: True requires espeak-ng, "auto" uses it
    when installed, False writes no audio. ``workers`` > 1 renders videos in parallel processes.
    Deterministic in (n_videos, seed, size, fps, val_fraction): the same arguments give the same
    frames, subtitles and ground truth.
    """
    width, height = (int(x) for x in size)
    if width < 32 or height < 32 or width % 2 or height % 2:
        raise SynthError(f"size must be even and at least 32x32 (H.264 4:2:0), got {size}")
    if fps <= 0:
        raise SynthError(f"fps must be positive, got {fps}")
    try:
        plan = plan_dataset(n_videos, seed=seed, fps=float(fps), val_fraction=val_fraction)
    except ValueError as exc:
        raise SynthError(str(exc)) from exc
    use_speech = _resolve_speech(speech)

    out = Path(out_dir)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    _check_params(
        out,
        {
            "n_videos": n_videos,
            "seed": seed,
            "size": [width, height],
            "fps": float(fps),
            "val_fraction": val_fraction,
            "speech": use_speech,
        },
    )

    todo = [
        _Job(v, str(out), width, height, seed, use_speech)
        for v in plan.videos
        if not all(p.exists() for p in video_paths(out, v))
    ]
    bar = tqdm(
        total=len(plan.videos),
        initial=len(plan.videos) - len(todo),
        unit="video",
        desc="synth",
        disable=not progress,
    )
    if workers > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(todo), os.cpu_count() or 1)) as pool:
            for _ in pool.map(_render, todo):
                bar.update()
    else:
        for job in todo:
            _render(job)
            bar.update()
    bar.close()

    gt = ground_truth(plan, width, height, use_speech)
    write_json(out / "ground_truth.json", gt)
    with atomic_path(out / "verbs.txt") as tmp:
        tmp.write_text("\n".join(plan.verbs) + "\n")
    with atomic_path(out / "nouns.txt") as tmp:
        tmp.write_text("\n".join(plan.nouns) + "\n")
    with atomic_path(out / "manifest.jsonl") as tmp:
        lines = []
        for v in plan.videos:
            mp4, sub = video_paths(out, v)
            lines.append(
                json.dumps(
                    {
                        "video": str(mp4.relative_to(out)),
                        "subtitle": str(sub.relative_to(out)),
                        "id": v.video_id,
                    }
                )
            )
        tmp.write_text("\n".join(lines) + "\n")
    with atomic_path(out / "README.md") as tmp:
        tmp.write_text(_readme(plan, width, height, use_speech))
    return out
