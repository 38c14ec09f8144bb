"""`videobert demo`: the whole system end to end on the built-in dataset, offline.

synth -> ingest -> features -> codebook -> corpus -> pretrain -> evaluate, with the preset's
settings for every stage (``small``: I3D and the flow stream, a 256-wide model). ``--data-size``
adds a pretraining on half of the train split, the report's data-size table. Re-running
resumes: every stage skips what is already complete. Ends by printing the summary tables and
the report's path.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from videobert.cli_options import add_config_arguments
from videobert.pipeline import (
    PipelinePaths,
    Stopwatch,
    banner,
    run_data_stages,
    run_pretrain,
    run_pretrains_side_by_side,
    side_by_side_possible,
)


def split_lists(ground_truth: Path, out: Path, seed: int) -> tuple[Path, Path]:
    """Files of the train-split video ids, all and a seeded half (the data-size comparison)."""
    gt = json.loads(ground_truth.read_text())
    train = sorted(v for v, rec in gt["videos"].items() if rec["split"] == "train")
    half = sorted(random.Random(seed).sample(train, len(train) // 2))
    full_path, half_path = out / "train_videos.txt", out / "train_videos_half.txt"
    full_path.write_text("\n".join(train) + "\n")
    half_path.write_text("\n".join(half) + "\n")
    return full_path, half_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo_out"),
                        help="work folder (default: %(default)s)")
    parser.add_argument("--n-videos", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    add_config_arguments(parser, "every stage's", default_preset="small")
    parser.add_argument("--workers", type=int, default=2, help="processes rendering videos")
    parser.add_argument("--data-size", action="store_true",
                        help="also pretrain on half of the train split (the report's data-size "
                        "table), beside the full run, each on half the cores: the demo takes "
                        "longer")
    parser.add_argument("--no-data-size", action="store_false", dest="data_size",
                        help=argparse.SUPPRESS)  # the default since the small preset


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from videobert.config import ConfigError
    from videobert.evaluate import run_evaluate
    from videobert.report import summary_tables
    from videobert.sequences.corpus import run_corpus
    from videobert.settings import SECTIONS, load_settings
    from videobert.synth import generate

    unknown = [o for o in args.overrides if o.split(".", 1)[0] not in SECTIONS or "=" not in o]
    if unknown:
        print(f"videobert demo: error: overrides must be SECTION.KEY=VALUE with a section of "
              f"{', '.join(SECTIONS)}; got {unknown}")
        return 2
    try:  # every section checked before ten minutes of work, not when its stage starts
        settings = load_settings(args.preset, args.overrides)
    except ConfigError as exc:
        print(f"videobert demo: error: {exc}")
        return 2
    began = time.perf_counter()
    out: Path = args.out.resolve()
    paths = PipelinePaths(out)
    watch = Stopwatch()
    data = out / "data"
    watch.run("synth", lambda: generate(data, n_videos=args.n_videos, seed=args.seed,
                                        workers=args.workers))
    train_list, half_list = split_lists(data / "ground_truth.json", out, args.seed)

    # Codebook on every clip (unsupervised), corpus on the train split only: evaluation
    # videos are never seen in pretraining.
    full = dataclasses.replace(settings, corpus=dataclasses.replace(settings.corpus,
                                                                    videos=str(train_list)))
    reports = run_data_stages(data / "manifest.jsonl", paths, full, watch)

    runs = {"full corpus": paths.run("full")}
    extra = {}
    if not args.data_size:
        run_pretrain(paths.corpus, runs["full corpus"], settings.pretrain(), watch,
                     "pretrain (train split)")
    else:
        half_corpus = out / "corpus_half"
        half = dataclasses.replace(settings.corpus, videos=str(half_list))
        watch.run("corpus (half of the train split)",
                  lambda: run_corpus(paths.segments, paths.codebook, half_corpus, half))
        extra["half corpus"] = paths.run("half")
        jobs = [(paths.corpus, runs["full corpus"]), (half_corpus, extra["half corpus"])]
        if side_by_side_possible():
            run_pretrains_side_by_side(*jobs, settings.pretrain(), watch,
                                       "pretrain (train split, and half of it beside)")
        else:
            run_pretrain(*jobs[0], settings.pretrain(), watch, "pretrain (train split)")
            run_pretrain(*jobs[1], settings.pretrain(), watch,
                         "pretrain (half of the train split)")

    report_dir = out / "report"
    # zero-shot averages the prompts the narration itself uses (no labels; docs/benchmarks.md)
    evaluate = dataclasses.replace(settings.evaluate, templates_from=str(paths.corpus))
    watch.run("evaluate", lambda: run_evaluate(
        runs["full corpus"], data / "ground_truth.json", report_dir, extra_runs=extra,
        config=evaluate, words_dir=paths.codebook))
    banner("summary")
    print(summary_tables(report_dir))
    print("\n" + watch.table())
    skipped = sum(len(r.skipped) for r in reports.values())
    print(f"\ndemo finished in {(time.perf_counter() - began) / 60:.1f} min; "
          f"{skipped} input(s) skipped; report: {report_dir / 'README.md'}")
    (report_dir / "timings.md").write_text(watch.table() + "\n")
    return 0
