"""The ingest stage: videos + transcripts -> ``segments/<id>.parquet`` + ``manifest.json``.

For each video: probe it, count its clips (demuxing only: the frames are decoded later by the
features stage), read its transcript (subtitle file, else speech recognition), split sentences
and align each to its clips. Bad input is reported (file + reason) and the rest completes; a
video without any transcript is kept with ``transcript_source: "none"`` because its clips still
serve video-only training. Re-running skips videos whose output is complete.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from videobert.artifacts.segments import write_segments
from videobert.config import IngestConfig, to_dict
from videobert.fingerprint import input_fingerprint
from videobert.fingerprint import same_input as same_fingerprint
from videobert.ingest.align import align
from videobert.ingest.audio import audio_stream_for
from videobert.ingest.datasets import DatasetTranscripts
from videobert.ingest.embedded import read_embedded
from videobert.ingest.sentences import Sentence, split_sentences
from videobert.ingest.subtitles import (
    SUBTITLE_SUFFIXES,
    CharsetWarning,
    Cue,
    TranscriptError,
    TranscriptWarning,
    read_transcript,
)
from videobert.ingest.video import (
    VideoError,
    VideoInfo,
    clips_in,
    decoded_end,
    probe,
    stream_end,
)
from videobert.io import StageReport, read_json, write_json
from videobert.log import get_logger

VIDEO_SUFFIXES = (".mp4", ".webm", ".mkv", ".avi", ".mov", ".m4v", ".gif", ".mpg", ".mpeg",
                  ".flv", ".wmv", ".ts", ".3gp", ".ogv")
MANIFEST_SUFFIXES = (".csv", ".jsonl")

_LOG = get_logger("ingest")


@dataclass
class Item:
    """One video to ingest (``video`` None: a subtitle that has no video)."""

    id: str
    video: Path | None
    subtitle: Path | None
    notes: list[str] = dataclasses.field(default_factory=list)  # go into the manifest entry
    # the dataset-wide transcripts file that has this video's text (``subtitle`` is its path)
    transcripts: DatasetTranscripts | None = None
    key: str = ""  # the video's id in ``transcripts``


def safe_id(text: str) -> str:
    """A video id usable as a file name. Characters other than letters, digits, ``_ . -``
    are dropped at the ends and become ``_`` inside; a YouTube id's own leading or trailing
    ``_`` stays (``_Xy3-abc_12``), so the id still matches the dataset's files."""
    core = re.sub(r"^[^\w.\-]+|[^\w.\-]+$", "", text.strip())
    cleaned = re.sub(r"[^\w.\-]+", "_", core).strip(".")
    return cleaned or "video"


# ---------------------------------------------------------------------------------------------
# Finding the input.


def _subtitle_rank(video_stem: str, sub: Path) -> tuple[int, int] | None:
    """How well ``sub`` matches a video stem: exact stem first (``a.srt``), then a language
    suffix (``a.en.vtt``); within each, .srt before .vtt before .json. None: no match."""
    order = SUBTITLE_SUFFIXES.index(sub.suffix.lower())
    if sub.stem == video_stem:
        return (0, order)
    if sub.stem.startswith(video_stem + ".") and "." not in sub.stem[len(video_stem) + 1 :]:
        return (1, order)
    return None


def _norm(path: Path) -> Path:
    """Absolute and normalised (no ``..``), symbolic links kept as given: every path stored
    in a manifest is written this way, so later stages can run from any working directory."""
    return Path(os.path.abspath(path.expanduser()))


def _is_media(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES or (
        path.suffix.lower() in SUBTITLE_SUFFIXES and path.name != "manifest.json")


def _scan_one(folder: Path, prefix: str, report: StageReport) -> list[Item]:
    """Videos of one folder with their subtitles. ``prefix``: the folder's path below the
    input, which keeps ids of same-named videos in different subfolders apart."""
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    for p in entries:
        if p.is_symlink() and not p.exists() and _is_media(p):
            report.skip(_norm(p), f"dangling symbolic link (its target {os.readlink(p)} "
                        "does not exist)")
    files = [p for p in entries if p.is_file()]
    videos = [p for p in files if p.suffix.lower() in VIDEO_SUFFIXES]
    subs = [p for p in files if p.suffix.lower() in SUBTITLE_SUFFIXES and p.name != "manifest.json"]
    items, used = [], set()
    chosen: dict[str, Path] = {}
    for video in videos:
        if video.stem in chosen:  # a.mkv and a.mp4: one id, so only one can be ingested
            report.skip(_norm(video), f"same name as {chosen[video.stem].name}, which was "
                        "used (the first by name); list both in a manifest with their own ids "
                        "to ingest both")
            continue
        chosen[video.stem] = video
        ranked = sorted((r, s) for s in subs if (r := _subtitle_rank(video.stem, s)) is not None)
        subtitle = ranked[0][1] if ranked else None
        used.update(s for _, s in ranked)
        items.append(Item(prefix + video.stem, video, subtitle))
    for item in items:
        twins = [v.name for v in videos if v.stem == item.video.stem and v != item.video]
        if twins:
            item.notes.append(f"chose {item.video.name} over {', '.join(twins)} (same name; "
                              "the first by name is used)")
    items += [Item(prefix + s.stem, None, s) for s in subs if s not in used]
    return items


def scan_folder(folder: Path, report: StageReport, recursive: bool = False) -> list[Item]:
    """Videos of ``folder`` (and, with ``recursive``, of its subfolders, whose ids are then
    prefixed with the subfolder path, ``sub/a.mp4`` -> ``sub_a``)."""
    folders = [folder]
    if recursive:
        folders += sorted(p for p in folder.rglob("*") if p.is_dir()
                          and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    items = []
    for sub in folders:
        rel = sub.relative_to(folder)
        items += _scan_one(sub, "" if rel == Path(".") else f"{rel.as_posix()}/", report)
    if not recursive:
        unread = sum(1 for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES
                     and p.parent != folder and p.is_file()
                     and not any(part.startswith(".") for part in p.relative_to(folder).parts))
        if unread:
            report.note(f"{unread} videos in subfolders of {folder} were not read "
                        "(use --recursive to include them)")
    return items


def read_manifest(path: Path, report: StageReport) -> list[Item]:
    """Rows of a CSV/JSONL manifest: ``video``, ``subtitle`` (optional), ``id`` (optional);
    relative paths are relative to the manifest's folder."""
    rows: list[tuple[str, dict[str, Any]]] = []
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = {c.strip() for c in reader.fieldnames or []}
            if "video" not in columns and "subtitle" not in columns:
                raise ValueError(f"{path}: a manifest needs a 'video' column (found {columns})")
            for n, row in enumerate(reader, 2):
                rows.append((f"{path.name}:{n}", {k.strip(): v for k, v in row.items() if k}))
    else:
        for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                report.skip(f"{path.name}:{n}", f"invalid JSONL line ({exc})")
                continue
            rows.append((f"{path.name}:{n}", row))

    def resolve(value: Any) -> Path | None:
        if value is None or not str(value).strip():
            return None
        p = Path(str(value).strip()).expanduser()
        return _norm(p if p.is_absolute() else path.parent / p)

    items = []
    for where, row in rows:
        video, subtitle = resolve(row.get("video")), resolve(row.get("subtitle"))
        if video is None and subtitle is None:
            report.skip(where, "row names neither a video nor a subtitle")
            continue
        name = str(row.get("id") or "").strip() or (video or subtitle).stem
        items.append(Item(name, video, subtitle))
    return items


def find_inputs(source: Path, report: StageReport, recursive: bool = False) -> list[Item]:
    """The videos to ingest. Raises FileNotFoundError/ValueError when the input is unusable:
    missing, not a folder or manifest, or without a single video."""
    source = _norm(source)
    if source.is_dir():
        items = scan_folder(source, report, recursive)
        if not any(item.video for item in items):
            hint = "" if recursive or not report.notes else f" ({report.notes[-1]})"
            raise ValueError(f"{source}: no videos found (looked for "
                             f"{' '.join(VIDEO_SUFFIXES)}){hint}")
        return items
    if source.is_file() and source.suffix.lower() in MANIFEST_SUFFIXES:
        items = read_manifest(source, report)
        if not any(item.video for item in items):
            raise ValueError(f"{source}: the manifest names no videos")
        return items
    if source.is_file():
        raise ValueError(f"{source}: input must be a folder or a .csv/.jsonl manifest")
    raise FileNotFoundError(f"{source}: input not found")


def _dataset_key(item: Item, ids: set[str] | dict[str, Any]) -> str | None:
    """The item's id in a dataset's list: its own id, else its video's file stem (a
    manifest may give other ids to files named by their YouTube id)."""
    for key in (item.id, item.video.stem if item.video else None):
        if key is not None and key in ids:
            return key
    return None


def keep_listed(items: list[Item], video_list: Path, listed: list[str], missing_file: Path,
                report: StageReport) -> list[Item]:
    """The items whose id is in ``listed`` (read from ``video_list``); the listed ids that have
    no video are written to ``missing_file`` (one per line) and noted, not fatal: a dataset
    list names far more videos than any one download holds."""
    wanted = set(listed)
    kept = [item for item in items if item.video and _dataset_key(item, wanted)]
    found = {_dataset_key(item, wanted) for item in kept}
    missing = [i for i in listed if i not in found]
    left = sum(1 for item in items if item.video) - len(kept)
    if left:
        report.note(f"{left} videos of the input are not in {video_list.name} and were not read")
    if missing:
        missing_file.write_text("\n".join(missing) + "\n")
        report.note(f"{len(missing)} of the {len(listed)} videos in {video_list.name} are not in "
                    f"the input (their ids: {missing_file}; first: {', '.join(missing[:3])})")
    elif missing_file.exists():
        missing_file.unlink()  # from an earlier run that lacked some
    if not kept:
        raise ValueError(f"{video_list}: none of its {len(listed)} videos is in the input")
    return kept


def attach_transcripts(items: list[Item], dataset: DatasetTranscripts,
                       report: StageReport) -> None:
    """Give each video that ``dataset`` names its text from there; the others keep their own
    subtitles (or speech), and how many there are is noted."""
    without = 0
    for item in items:
        key = _dataset_key(item, dataset.entries) if item.video else None
        if key is None:
            without += item.video is not None
            continue
        item.transcripts, item.key, item.subtitle = dataset, key, _norm(dataset.path)
    if without:
        report.note(f"{without} videos have no entry in {dataset.path.name}: their own "
                    "subtitles, embedded text or speech are used")


# ---------------------------------------------------------------------------------------------
# One video.


class _Asr:
    """Speech recognition loaded on first use; a failure to load is reported once and turns
    it off for the rest of the run (the videos are still ingested, without text)."""

    def __init__(self, config: IngestConfig) -> None:
        self.enabled = config.asr
        self.model = config.asr_model
        self.error: str | None = None

    def __call__(self, video: Path, notes: list[str], audio_stream: int) -> list[Cue] | None:
        """Cues of the speech in stream ``audio_stream`` of ``video``; None when speech
        recognition is off or failed."""
        if not self.enabled:
            return None
        from videobert.ingest import asr

        try:
            asr.load_model(self.model)
        except Exception as exc:  # missing package or model: report once, carry on
            self.enabled, self.error = False, f"speech recognition unavailable: {exc}"
            _LOG.warning(self.error)
            return None
        try:
            return asr.transcribe(video, model=self.model, audio_stream=audio_stream)
        except Exception as exc:  # e.g. an audio codec that cannot be decoded
            notes.append(f"speech recognition failed: {exc}")
            return None


def _read_subtitle(path: Path, report: StageReport, notes: list[str]) -> list[Cue] | None:
    """Cues of a subtitle file; dropped cues and unusable files go into the report, a doubtful
    text encoding into ``notes`` and on the console (the text is used, but may be garbled)."""

    def read() -> list[Cue] | None:
        try:
            return read_transcript(path)
        except TranscriptError as exc:
            report.skip(path, exc.reason)
            return None

    return _reporting_warnings(read, path, report, notes)


def _dataset_sentences(item: Item, report: StageReport, notes: list[str]) -> list[Sentence]:
    """The video's sentences from its dataset-wide transcripts file (dropped cues reported)."""
    assert item.transcripts is not None and item.subtitle is not None
    sentences = _reporting_warnings(lambda: item.transcripts.sentences(item.key), item.subtitle,
                                    report, notes)
    if not sentences:
        notes.append(f"no text for {item.key!r} in {item.subtitle.name}")
    return sentences


def _reporting_warnings(read, path: Path, report: StageReport, notes: list[str]):
    """``read()``, with the transcript warnings it raises sent to the report (dropped cues)
    and to ``notes`` (a doubtful encoding)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TranscriptWarning)
        warnings.simplefilter("always", CharsetWarning)
        result = read()
    for w in caught:
        if issubclass(w.category, TranscriptWarning):
            report.skip(path, str(w.message))
        elif issubclass(w.category, CharsetWarning):
            notes.append(str(w.message))
            _LOG.warning(f"warning: {w.message}")
    return result


def ingest_video(item: Item, out: Path, config: IngestConfig, report: StageReport,
                 asr: _Asr) -> dict[str, Any] | None:
    """Write ``out/<id>.parquet`` for one video; its manifest entry, or None if skipped."""
    assert item.video is not None
    notes: list[str] = list(item.notes)
    try:
        info = probe(item.video)
        duration = measured_duration(item.video, info, notes, report)
    except VideoError as exc:
        report.skip(item.video, exc.reason)
        return None
    n_clips = clips_in(duration, config.fps, config.clip_frames, config.min_last_clip)
    if n_clips == 0:
        report.skip(item.video, f"too short for one clip ({duration:.2f}s; a clip is "
                    f"{config.clip_frames / config.fps:.2f}s)")
        return None

    # the audio that goes with the chosen video stream (not simply the first): what speech
    # recognition reads, and recorded for any later stage that uses the sound
    audio_index = audio_stream_for(item.video, info.stream_index) if info.has_audio else None
    if item.transcripts is not None:
        sentences = _dataset_sentences(item, report, notes)
        source = item.transcripts.format
    else:
        cues, source = _find_cues(item, audio_index, report, notes, asr)
        sentences = split_sentences(cues or [])
    segments = align(sentences, item.id, n_clips, config.fps, config.clip_frames)
    if len(segments) < len(sentences):
        notes.append(f"{len(sentences) - len(segments)} sentences outside the video left out")
    write_segments(out / f"{item.id}.parquet", segments)
    return {
        "id": item.id,
        "video": str(item.video),
        "subtitle": str(item.subtitle) if item.subtitle else None,
        "transcript_source": source,
        "duration": round(duration, 3),
        "declared_duration": (None if info.declared_duration is None
                              else round(info.declared_duration, 3)),
        "n_clips": n_clips,
        "n_segments": len(segments),
        "width": info.width,
        "height": info.height,
        "source_fps": round(info.fps, 3),
        "rotation": info.rotation,
        "stream_index": info.stream_index,
        "has_audio": info.has_audio,
        "audio_stream_index": audio_index,
        "notes": notes,
        "complete": True,
    }


def _find_cues(item: Item, audio_index: int | None, report: StageReport, notes: list[str],
               asr: _Asr) -> tuple[list[Cue] | None, str]:
    """``(cues, transcript_source)``: the subtitle file, else an embedded subtitle stream,
    else speech recognition; ``(None, "none")`` without any (``notes`` say why)."""
    assert item.video is not None
    cues, source = None, "none"
    if item.subtitle is not None:
        if not item.subtitle.is_file():
            report.skip(item.subtitle, "subtitle file not found")
        else:
            cues = _read_subtitle(item.subtitle, report, notes)
            source = item.subtitle.suffix.lower().lstrip(".") if cues else "none"
    if cues is None and item.subtitle is None:
        embedded = read_embedded(item.video)  # before speech recognition: the author's text
        if embedded is not None:
            cues, source = embedded[0], "embedded"
            notes.append(f"transcript from the embedded {embedded[1]} subtitle stream")
    if cues is None:
        if audio_index is None:
            notes.append("no subtitles and no audio track")
        else:
            cues = asr(item.video, notes, audio_index)
            if cues is None and not notes:
                notes.append("no subtitles; speech recognition off" if asr.error is None
                             else f"no subtitles; {asr.error}")
            elif not cues:
                notes.append("no subtitles and no speech found")
            else:
                source = "asr"
    return cues, source


def measured_duration(video: Path, info: VideoInfo, notes: list[str],
                      report: StageReport) -> float:
    """Seconds of video that can be read: from packet timestamps (fast), and from decoding
    when the packets stop short of the header's duration (a file cut off after its index was
    written). A shortfall is a truncated file: noted and reported, the readable part kept."""
    end = stream_end(video)
    declared = info.declared_duration
    slack = max(0.5, 3.0 / info.fps)  # header rounding, a last frame's duration, edit lists
    if declared is None or end >= declared - slack:
        return end
    end = min(end, decoded_end(video))
    message = f"truncated: decoded {end:.2f} s of {declared:.2f} s"
    notes.append(message)
    report.skip(video, f"{message} (the header promises more; the readable part is kept)")
    return end


# ---------------------------------------------------------------------------------------------
# The stage.


def _previous_entries(out: Path, config: IngestConfig) -> dict[str, dict[str, Any]]:
    """Complete entries of an earlier run with the same config, whose parquet still exists."""
    path = out / "manifest.json"
    if not path.exists():
        return {}
    try:
        previous = read_json(path)
    except (OSError, ValueError):
        return {}
    if previous.get("config") != to_dict(config):
        return {}  # other fps / clip length: everything is redone
    return {
        e["id"]: e
        for e in previous.get("videos", [])
        if e.get("complete") and (out / f"{e['id']}.parquet").exists()
    }


def run_ingest(
    source: str | Path,
    out: str | Path,
    config: IngestConfig | None = None,
    progress: bool = True,
    force: bool = False,
    recursive: bool = False,
    transcripts: str | Path | None = None,
    video_list: str | Path | None = None,
) -> StageReport:
    """Ingest a folder (videos and same-stem subtitles) or a CSV/JSONL manifest into ``out``.

    ``transcripts``: a dataset-wide file (YouCook2 annotations, HowTo100M caption.json) that
    gives the text of the videos it names, by id, before their own subtitles. ``video_list``:
    only the videos whose id it lists (HowTo100M_v1.csv, or one id per line); the listed ids
    without a video are written to ``out/missing.txt`` and noted.

    A video is redone when its fingerprint (video size + mtime, subtitle content) differs from
    the one recorded in ``out/manifest.json``, or when ``force``; the others are reused.

    Raises FileNotFoundError/ValueError when the input itself is unusable; skipped files are
    in the returned report and in ``out/manifest.json``.
    """
    config = config or IngestConfig()
    source, out = Path(source), Path(out)
    report = StageReport("ingest")
    items = find_inputs(source, report, recursive)
    dataset = DatasetTranscripts.load(transcripts) if transcripts is not None else None
    listed = None
    if video_list is not None:  # read before OUT exists: a bad list leaves nothing behind
        from videobert.formats.howto100m import read_video_list

        listed = read_video_list(Path(video_list))
    out.mkdir(parents=True, exist_ok=True)
    if video_list is not None and listed is not None:
        items = keep_listed(items, Path(video_list), listed, out / "missing.txt", report)
    if dataset is not None:
        attach_transcripts(items, dataset, report)
    previous = _previous_entries(out, config)
    asr = _Asr(config)

    entries: list[dict[str, Any]] = []
    ids: dict[str, Path] = {}
    reused = 0
    for item in tqdm(items, desc="ingest", unit="video", disable=not progress):
        if item.video is None:
            report.skip(item.subtitle, "subtitle without a video")
            continue
        item.id = safe_id(item.id)
        if item.id in ids:
            report.skip(item.video, f"duplicate id {item.id!r} (also {ids[item.id]})")
            continue
        ids[item.id] = item.video
        old = None if force else previous.get(item.id)
        fingerprint = input_fingerprint(item.video, item.subtitle, None if item.transcripts
                                        is None else item.transcripts.fingerprint(item.key))
        same_input = old and old["video"] == str(item.video) and old["subtitle"] == (
            str(item.subtitle) if item.subtitle else None) and same_fingerprint(
            old.get("fingerprint"), fingerprint)
        if same_input:
            for problem in old.get("problems", []):  # still true of the input: report again
                report.skip(problem["file"], problem["reason"])
            entries.append(old)
            reused += 1
            continue
        before = len(report.skipped)
        try:
            entry = ingest_video(item, out, config, report, asr)
        except Exception as exc:  # one odd file must not stop the other videos
            report.skip(item.video, f"unexpected error: {type(exc).__name__}: {exc}")
            continue
        if entry is not None:
            entry["fingerprint"] = fingerprint
            # problems of a kept video (bad subtitle cues) travel with its entry for re-runs
            entry["problems"] = report.to_list()[before:]
            entries.append(entry)

    manifest = {
        "stage": "ingest",
        "config": to_dict(config),
        "source": str(source),
        "transcripts": None if dataset is None else {"file": str(_norm(dataset.path)),
                                                     "format": dataset.format},
        "video_list": None if video_list is None else str(_norm(Path(video_list))),
        "videos": entries,
        "skipped": report.to_list(),
        "notes": report.notes,
        "counts": {
            "videos": len(entries),
            "reused": reused,
            "segments": sum(e["n_segments"] for e in entries),
            "clips": sum(e["n_clips"] for e in entries),
            "skipped": len(report.skipped),
        },
    }
    if asr.error:
        manifest["asr_error"] = asr.error
    write_json(out / "manifest.json", manifest)  # last: its presence means the stage finished
    report.finish(len(entries))
    return report
