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
from videobert.visual_words.hkmeans import usable_cpus


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


def side_by_side_possible() -> bool:
    """Two independent CPU pretrainings finish sooner side by side, each on half the cores,
    than one after the other on all of them: a small model's matrices are too small to keep
    two threads busy (tiny preset, 750 steps on 2 cores: 87 s for both against 108 s,
    ``bench/demo_pretrain.py``). On a GPU they run one after the other."""
    import torch

    return not torch.cuda.is_available() and usable_cpus() >= 2


def _pretrain_in_child(corpus: Path, run_dir: Path, config: Any, threads: int,
                       log_path: Path) -> None:
    import contextlib
    import traceback

    import torch

    from videobert.train.loop import pretrain

    torch.set_num_threads(threads)
    with open(log_path, "a") as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        try:
            pretrain(corpus, run_dir, config, resume=True)
        except BaseException:
            traceback.print_exc()  # into the log, whose end the parent quotes
            raise


def run_pretrains_side_by_side(
    first: tuple[Path, Path], second: tuple[Path, Path], config: Any, watch: Stopwatch,
    stage: str,
) -> None:
    """Pretrain ``(corpus, run_dir)`` ``first`` here and ``second`` in a child process at the
    same time, each with half the CPU threads, both resuming. The child's progress goes to
    ``second``'s ``pretrain.log``; if it fails, this raises with the end of that log."""
    import multiprocessing

    import torch

    def both() -> None:
        threads = max(1, usable_cpus() // 2)
        log_path = second[1] / "pretrain.log"
        second[1].mkdir(parents=True, exist_ok=True)
        child = multiprocessing.get_context("spawn").Process(
            target=_pretrain_in_child, args=(*second, config, threads, log_path))
        child.start()
        print(f"[demo] {second[1]} pretrains beside it in process {child.pid} "
              f"(its log: {log_path})", flush=True)
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            from videobert.train.loop import pretrain

            pretrain(first[0], first[1], config, resume=True)
        except BaseException:
            child.terminate()  # not minutes of waiting for it: a rerun resumes it
            raise
        finally:
            torch.set_num_threads(previous)
            child.join()
        if child.exitcode != 0:
            tail = "".join(log_path.read_text(errors="replace").splitlines(True)[-20:])
            raise RuntimeError(f"pretraining {second[1]} failed (exit {child.exitcode}); the "
                               f"end of {log_path}:\n{tail}")

    watch.run(stage, both)
