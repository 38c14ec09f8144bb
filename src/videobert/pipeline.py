"""The whole data path in one call: videos (+ subtitles/speech) -> segments -> features ->
codebook -> corpus -> pretrained model. Each stage is the same function its CLI verb runs, so
a re-run skips what is already complete and a killed run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from videobert.io import StageReport


@dataclasses.dataclass
class StageTiming:
    stage: str
    seconds: float
    skipped: int


@dataclasses.dataclass
class PipelinePaths:
    """The folder layout of one pipeline run under ``work``."""

    work: Path

    @property
    def segments(self) -> Path:
        return self.work / "segments"

    @property
    def features(self) -> Path:
        return self.work / "features"

    @property
    def codebook(self) -> Path:
        return self.work / "codebook"

    @property
    def corpus(self) -> Path:
        return self.work / "corpus"

    @property
    def words(self) -> Path:
        """New videos' visual words under an existing codebook (`prepare`)."""
        return self.work / "words"

    def run(self, name: str) -> Path:
        return self.work / "runs" / name


def banner(text: str) -> None:
    print(f"\n=== {text}", flush=True)


class Stopwatch:
    """Times stages and keeps their skip counts for the summary."""

    def __init__(self) -> None:
        self.timings: list[StageTiming] = []

    def run(self, stage: str, fn: Callable[[], StageReport | Any]) -> Any:
        banner(stage)
        start = time.perf_counter()
        result = fn()
        skipped = len(result.skipped) if isinstance(result, StageReport) else 0
        self.timings.append(StageTiming(stage, time.perf_counter() - start, skipped))
        print(f"--- {stage}: {self.timings[-1].seconds:.1f} s", flush=True)
        return result

    def table(self) -> str:
        lines = ["| stage | seconds | skipped |", "|---|---:|---:|"]
        lines += [f"| {t.stage} | {t.seconds:.1f} | {t.skipped} |" for t in self.timings]
        lines.append(f"| total | {sum(t.seconds for t in self.timings):.1f} | |")
        return "\n".join(lines)


def run_data_stages(
    source: str | Path,
    paths: PipelinePaths,
    settings: Any,
    watch: Stopwatch,
) -> dict[str, StageReport]:
    """ingest -> features -> codebook -> corpus with the sections of ``settings``
    (``videobert.settings.Settings``)."""
    from videobert.features.extract import run_features
    from videobert.ingest.stage import run_ingest
    from videobert.sequences.corpus import run_corpus
    from videobert.visual_words.stage import run_codebook

    reports = {}
    reports["ingest"] = watch.run(
        "ingest", lambda: run_ingest(source, paths.segments, settings.ingest))
    reports["features"] = watch.run(
        "features", lambda: run_features(paths.segments, paths.features, settings.features))
    reports["codebook"] = watch.run(
        "codebook",
        lambda: run_codebook(paths.features, paths.codebook, settings.codebook,
                             segments_dir=paths.segments),
    )
    reports["corpus"] = watch.run(
        "corpus", lambda: run_corpus(paths.segments, paths.codebook, paths.corpus,
                                     settings.corpus))
    return reports


def run_pretrain(corpus: Path, run_dir: Path, config: Any, watch: Stopwatch,
                 stage: str = "pretrain"):
    """Pretrain on ``corpus`` into ``run_dir`` (resuming) with a ``PretrainConfig``."""
    from videobert.train.loop import pretrain

    return watch.run(stage, lambda: pretrain(corpus, run_dir, config, resume=True))
