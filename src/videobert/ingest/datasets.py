"""Dataset-wide transcripts: one file that holds the text of many videos, keyed by video id.

``--transcripts FILE`` takes either, told apart by their shape:
- YouCook2's ``youcookii_annotations_trainval.json``: every annotation becomes one sentence
  with its segment's times, as annotated (no re-splitting: the segments are the steps);
- HowTo100M's ``caption.json``: a video's ASR lines are its cues, split into sentences like
  any unpunctuated transcript (``sentences.split_sentences``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from videobert.formats import FormatError, howto100m, youcook2
from videobert.ingest.sentences import Sentence, split_sentences
from videobert.ingest.subtitles import json_cues

FORMATS = ("youcook2", "howto100m")


@dataclasses.dataclass
class DatasetTranscripts:
    path: Path
    format: str  # one of FORMATS: the manifest's transcript_source for these videos
    entries: dict[str, Any]  # video id -> youcook2.Video | caption.json entry

    @classmethod
    def load(cls, path: str | Path) -> DatasetTranscripts:
        """Read and check the file; ``FormatError`` (a ``ValueError``) names the file and the
        key when it is neither format or is malformed."""
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"transcripts file {path} does not exist")
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(path, "", f"is not valid JSON ({exc})") from exc
        if youcook2.is_annotation_file(data):
            return cls(path, "youcook2", youcook2.parse(data, path))
        if howto100m.is_caption_file(data):
            return cls(path, "howto100m", howto100m.check_captions(data, path))
        raise FormatError(path, "", "is neither a YouCook2 annotation file ({\"database\": "
                          "...}) nor a HowTo100M caption.json ({video_id: {start, end, text}})")

    def __contains__(self, video_id: str) -> bool:
        return video_id in self.entries

    def sentences(self, video_id: str) -> list[Sentence]:
        """The video's sentences. HowTo100M cues with bad times are dropped with a
        ``TranscriptWarning`` naming the file, the video and the cue."""
        entry = self.entries[video_id]
        if self.format == "youcook2":
            return [Sentence(*row) for row in youcook2.sentences(entry)]
        return split_sentences(json_cues(entry, self.path.with_name(
            f"{self.path.name}[{video_id!r}]")))

    def fingerprint(self, video_id: str) -> dict[str, Any]:
        """The video's own entry, as ``fingerprint.input_fingerprint`` records a subtitle:
        editing another video's entry does not redo this one."""
        entry = self.entries[video_id]
        record = dataclasses.asdict(entry) if dataclasses.is_dataclass(entry) else entry
        text = json.dumps(record, sort_keys=True).encode()
        return {"size": len(text), "sha1": hashlib.sha1(text).hexdigest()}
