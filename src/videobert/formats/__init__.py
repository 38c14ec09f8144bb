"""Public datasets' own files, read as they are distributed (no conversion step).

- ``youcook2``: ``youcookii_annotations_trainval.json`` (segments with sentences, the split
  of each video): transcripts for ingest and the ground truth of the tasks;
- ``howto100m``: ``caption.json`` (each video's ASR captions) and the ``HowTo100M_v1.csv``
  video list: transcripts and the list of videos for ingest (pretraining data, no labels);
- ``verb_noun``: the verb and noun of a step description, and the top-K vocabularies built
  from them, for YouCook2's zero-shot labels.

Each reader checks the shape it relies on and raises ``FormatError`` naming the file and the
key; nothing here imports torch or the ingest stage.
"""

from __future__ import annotations

from pathlib import Path


class FormatError(ValueError):
    """A dataset file that is not in the expected format; the message names the file and the
    place in it (``database['abc'].annotations[2].segment``)."""

    def __init__(self, path: str | Path, where: str, problem: str) -> None:
        super().__init__(f"{path}: {where} {problem}" if where else f"{path}: {problem}")
        self.path = str(path)
