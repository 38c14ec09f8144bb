"""The ``corpus`` stage: segments + codebook + tokenizer -> Parquet shards (docs/formats.md).

Each sentence becomes one example: its WordPiece ids and the visual words of the clips it spans
(``first_clip..last_clip``, clamped to the clips the video has). ``videos.parquet`` keeps every
clip's word of every video, for video-only examples and alignment negatives. The visual-word
count in the vocabulary layout is read from the codebook, never typed in.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from videobert.artifacts.segments import read_manifest, read_segment_table
from videobert.config import CorpusConfig, to_dict
from videobert.io import Skip, StageReport, atomic_path, write_json
from videobert.log import get_logger
from videobert.sequences.tokenizer import (
    BUNDLED_NAME,
    encode_texts,
    load_tokenizer,
    tokenizer_source,
)
from videobert.vocab import VocabLayout

SHARD_SCHEMA = pa.schema(
    [
        ("video_id", pa.string()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("text", pa.string()),
        ("text_ids", pa.list_(pa.int32())),
        ("visual_ids", pa.list_(pa.int32())),
        ("first_clip", pa.int32()),
        ("last_clip", pa.int32()),
    ]
)
VIDEOS_SCHEMA = pa.schema([("video_id", pa.string()), ("visual_ids", pa.list_(pa.int32()))])
TOKENIZER_DIR = "tokenizer"  # a copy of the tokenizer, so the corpus is self-contained


_LOG = get_logger("corpus")



def codebook_words(codebook_dir: Path) -> tuple[int, dict[str, np.ndarray]]:
    """``n_words`` (from ``centroids.npy``) and each video's word per clip, in clip order."""
    from videobert.artifacts.codebook import CodebookFolder

    n_words = CodebookFolder.open(codebook_dir).n_words
    from videobert.artifacts.words import VisualWords

    return n_words, VisualWords.open(codebook_dir).strict_by_video(n_words)


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest() if path.exists() else ""


def _segments_sha1(manifest: Path) -> str:
    """Of the manifest's videos and skips only: a re-run of ingest that reuses every video
    rewrites its run counters but leaves the corpus inputs, and this hash, unchanged."""
    data = read_manifest(manifest.parent)
    payload = json.dumps([data.get("videos"), data.get("skipped")], sort_keys=True)
    return hashlib.sha1(payload.encode()).hexdigest()


def _fingerprint(segments_dir: Path, codebook_dir: Path, config: CorpusConfig) -> dict[str, Any]:
    return {
        "config": to_dict(config),
        "segments": str(segments_dir.resolve()),
        "segments_sha1": _segments_sha1(segments_dir / "manifest.json"),
        "codebook": str(codebook_dir.resolve()),
        "codebook_meta_sha1": _sha1(codebook_dir / "meta.json"),
        "videos_sha1": _sha1(Path(config.videos)) if config.videos else None,
    }


def _already_done(out_dir: Path, fingerprint: dict[str, Any]) -> dict | None:
    from videobert.artifacts.complete import is_complete

    return is_complete(out_dir, fingerprint, files=["videos.parquet"])


class ShardWriter:
    """Buffers example rows and writes ``shard-NNNNN.parquet`` every ``shard_size`` rows."""

    def __init__(self, out_dir: Path, shard_size: int) -> None:
        self.out_dir, self.shard_size = out_dir, max(1, shard_size)
        self.rows: dict[str, list] = {name: [] for name in SHARD_SCHEMA.names}
        self.names: list[str] = []
        self.n_rows = 0

    def add(self, **row: Any) -> None:
        for name in SHARD_SCHEMA.names:
            self.rows[name].append(row[name])
        if len(self.rows["video_id"]) >= self.shard_size:
            self.flush()

    def flush(self) -> None:
        n = len(self.rows["video_id"])
        if n == 0:
            return
        name = f"shard-{len(self.names):05d}.parquet"
        table = pa.table(self.rows, schema=SHARD_SCHEMA)
        with atomic_path(self.out_dir / name) as tmp:
            pq.write_table(table, tmp)
        self.names.append(name)
        self.n_rows += n
        self.rows = {name: [] for name in SHARD_SCHEMA.names}


def read_video_list(path: str | Path) -> set[str]:
    """Video ids, one per line (blank lines and ``#`` comments ignored)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: video list not found (corpus.videos)")
    lines = (ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines())
    return {ln for ln in lines if ln}


def check_codebook_matches(segments_dir: Path, codebook_dir: Path, video_ids: list[str],
                           words_of: dict[str, np.ndarray]) -> None:
    """Refuse a codebook made from another dataset's features: it has visual words for none
    (or few) of the segments' videos, and every video would be "skipped" one by one.

    At least half of the videos must have words (features may skip a few corrupt videos);
    fewer is accepted only from a codebook whose ``meta.json`` says it was made for these very
    segments (its features then skipped many videos, and each is reported)."""
    if not video_ids:
        return
    matched = [v for v in video_ids if v in words_of]
    if 2 * len(matched) >= len(video_ids):
        return
    from videobert.artifacts.codebook import CodebookFolder

    made_for = CodebookFolder.open(codebook_dir).meta.get("segments")
    if matched and made_for and Path(made_for).resolve() == segments_dir.resolve():
        return

    def some(ids: list[str]) -> str:
        return ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")

    source = f", it was made for the segments in {made_for}" if made_for else ""
    raise ValueError(
        f"codebook {codebook_dir} does not match segments {segments_dir}: only {len(matched)} "
        f"of the {len(video_ids)} videos of the segments have visual words in "
        f"{codebook_dir / 'assignments.parquet'} (the segments' videos: "
        f"{some(sorted(video_ids))}; the codebook's: {some(sorted(words_of))}{source}). "
        "Use the codebook made from these segments' features (`videobert features SEGMENTS "
        "FEATURES`, then `videobert codebook FEATURES CODEBOOK`)")


def run_corpus(
    segments_dir: str | Path,
    codebook_dir: str | Path,
    out_dir: str | Path,
    config: CorpusConfig,
    force: bool = False,
) -> StageReport:
    """Write the corpus folder for ``segments_dir`` and ``codebook_dir`` into ``out_dir``."""
    from tqdm.auto import tqdm

    segments_dir, codebook_dir, out_dir = Path(segments_dir), Path(codebook_dir), Path(out_dir)
    report = StageReport("corpus")
    manifest = read_manifest(segments_dir)  # before anything else: is ingest finished?
    fingerprint = _fingerprint(segments_dir, codebook_dir, config)
    if not force and (previous := _already_done(out_dir, fingerprint)) is not None:
        _LOG.info(f"{out_dir} already holds a complete corpus for these inputs; nothing to do")
        report.skipped.extend(Skip(**item) for item in previous.get("skipped", []))
        return report

    n_words, words_of = codebook_words(codebook_dir)
    wanted = read_video_list(config.videos) if config.videos is not None else None
    listed = [str(e["id"]) for e in manifest.get("videos", [])]
    # before the output folder is touched: a wrong codebook must not cost an existing corpus
    check_codebook_matches(segments_dir, codebook_dir,
                           [v for v in listed if wanted is None or v in wanted], words_of)
    tokenizer = load_tokenizer(config.tokenizer)
    layout = VocabLayout.from_tokenizer(tokenizer, n_words)

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "meta.json").unlink(missing_ok=True)  # incomplete until meta.json is back
    for stale in out_dir.glob("shard-*.parquet"):
        stale.unlink()

    notes: list[dict[str, str]] = []
    writer = ShardWriter(out_dir, config.shard_size)
    n_text_tokens = n_visual_tokens = 0
    with_examples: set[str] = set()
    entries = manifest.get("videos", [])
    if wanted is not None:
        entries = [e for e in entries if str(e["id"]) in wanted]
        words_of = {v: w for v, w in words_of.items() if v in wanted}
        _LOG.info(f"{len(entries)} videos of the segments manifest are listed in {config.videos}")
    for entry in tqdm(entries, desc="tokenising segments", unit="video"):
        video_id = str(entry["id"])
        path = segments_dir / f"{video_id}.parquet"
        if not path.exists():
            report.skip(path, "listed in the segments manifest but missing")
            continue
        try:
            columns = read_segment_table(path)
        except ValueError as exc:
            report.skip(path, str(exc))
            continue
        if not columns["text"]:
            continue  # a video without speech: it still gives video-only examples
        words = words_of.get(video_id)
        if words is None:
            report.skip(path, "the codebook has no visual words for this video (no features?)")
            continue
        text_ids = encode_texts(tokenizer, [t or "" for t in columns["text"]])
        no_clips, no_text = [], []
        rows = sorted(range(len(text_ids)), key=lambda i: (columns["start"][i], i))
        for i in rows:
            first, last = columns["first_clip"][i], columns["last_clip"][i]
            if first is None or last is None:
                no_clips.append(i)
                continue
            first, last = max(int(first), 0), min(int(last), len(words) - 1)
            if first > last:
                no_clips.append(i)
                continue
            if not text_ids[i]:
                no_text.append(i)
                continue
            visual = words[first : last + 1]
            writer.add(
                video_id=video_id,
                start=float(columns["start"][i]),
                end=float(columns["end"][i]),
                text=columns["text"][i],
                text_ids=text_ids[i],
                visual_ids=visual.tolist(),
                first_clip=first,
                last_clip=last,
            )
            with_examples.add(video_id)
            n_text_tokens += len(text_ids[i])
            n_visual_tokens += len(visual)
        for dropped, why in ((no_clips, "no clips of the video"), (no_text, "no text tokens")):
            if dropped:
                note = {"file": str(path), "reason": f"{len(dropped)} segment(s) with {why}: "
                        f"rows {dropped[:10]}{' ...' if len(dropped) > 10 else ''}"}
                notes.append(note)
                _LOG.info(f"note: {note['file']}: {note['reason']}")
    writer.flush()

    video_ids = sorted(words_of)
    videos = pa.table(
        {"video_id": video_ids, "visual_ids": [words_of[v].tolist() for v in video_ids]},
        schema=VIDEOS_SCHEMA,
    )
    with atomic_path(out_dir / "videos.parquet") as tmp:
        pq.write_table(videos, tmp)
    tokenizer.save_pretrained(str(out_dir / TOKENIZER_DIR))

    meta = {
        "tokenizer": {
            "name": config.tokenizer or BUNDLED_NAME,
            "path": tokenizer_source(config.tokenizer),
            "class": type(tokenizer).__name__,
        },
        "tokenizer_dir": TOKENIZER_DIR,
        "layout": layout.to_dict(),
        "vocab_size": layout.size,
        **fingerprint,
        "shards": writer.names,
        "counts": {
            "examples": writer.n_rows,
            "videos": len(video_ids),
            "videos_with_examples": len(with_examples),
            "text_tokens": n_text_tokens,
            "visual_tokens": n_visual_tokens,
            "clips": int(sum(len(w) for w in words_of.values())),
            "segments_dropped": sum(int(n["reason"].split()[0]) for n in notes),
        },
        "notes": notes,
        "skipped": report.to_list(),
    }
    write_json(out_dir / "meta.json", meta)
    report.finish(len(entries), record="meta.json")
    _LOG.info(f"{writer.n_rows} examples in {len(writer.names)} shard(s); vocabulary {layout.size} "
              f"= {layout.n_text} WordPiece + [>] + {layout.n_visual} visual words")
    return report

