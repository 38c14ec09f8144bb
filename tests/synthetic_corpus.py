"""A tiny corpus folder (docs/formats.md) with learnable structure, for the training tests.

Each segment shows one "step" of a how-to: its words come from that step's 10 text words and
its clips from that step's 3 visual words. So masked words are predictable from their
neighbours in either modality, and a text matches its own clips but not another step's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from videobert.vocab import VocabLayout

LAYOUT = VocabLayout(n_text=400, n_visual=32, cls_id=101, sep_id=102, mask_id=103, pad_id=0,
                     unk_id=100)
N_STEPS, TEXT_PER_STEP, VISUAL_PER_STEP = 8, 10, 3


def write_corpus(folder: Path, n_videos: int = 12, segments_per_video: int = 6,
                 seed: int = 0, shards: int = 2) -> Path:
    rng = np.random.default_rng(seed)
    text_words = 200 + np.arange(N_STEPS * TEXT_PER_STEP).reshape(N_STEPS, TEXT_PER_STEP)
    visual_words = np.arange(N_STEPS * VISUAL_PER_STEP).reshape(N_STEPS, VISUAL_PER_STEP)
    rows, videos = [], []
    for v in range(n_videos):
        vid = f"video{v:03d}"
        clips: list[int] = []
        for s in range(segments_per_video):
            step = int(rng.integers(N_STEPS))
            text = rng.choice(text_words[step], size=int(rng.integers(4, 11))).tolist()
            words = rng.choice(visual_words[step], size=int(rng.integers(3, 9))).tolist()
            first = len(clips)
            clips.extend(words)
            rows.append({
                "video_id": vid, "start": float(s * 10), "end": float(s * 10 + 9),
                "text": " ".join(f"w{t}" for t in text), "text_ids": text, "visual_ids": words,
                "first_clip": first, "last_clip": len(clips) - 1,
            })
        videos.append({"video_id": vid, "visual_ids": clips})
    folder.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([
        ("video_id", pa.string()), ("start", pa.float64()), ("end", pa.float64()),
        ("text", pa.string()), ("text_ids", pa.list_(pa.int32())),
        ("visual_ids", pa.list_(pa.int32())), ("first_clip", pa.int32()),
        ("last_clip", pa.int32()),
    ])
    for k, part in enumerate(np.array_split(np.arange(len(rows)), shards)):
        table = pa.Table.from_pylist([rows[i] for i in part], schema=schema)
        pq.write_table(table, folder / f"shard-{k:05d}.parquet")
    pq.write_table(pa.Table.from_pylist(videos, schema=pa.schema(
        [("video_id", pa.string()), ("visual_ids", pa.list_(pa.int32()))])),
        folder / "videos.parquet")
    meta = {"layout": LAYOUT.to_dict(), "tokenizer": None, "codebook": None,
            "counts": {"videos": n_videos, "segments": len(rows)}}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))
    return folder
