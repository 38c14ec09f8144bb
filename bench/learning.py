"""Does pretraining learn to read the video? Recipe x codebook ablation on a demo folder.

For each codebook (the oracle read off the ground truth, and the real visual words of the
folder) and each recipe (pretraining overrides on the tiny preset), build the train-split
corpus, pretrain, and print the zero-shot cross-modal top-1 on the val split beside the
language prior (95% bootstrap intervals over steps), plus the share of top-1 answers that change
when the video is swapped for another step's. Baseline = the recipe before the learning fix.

    python bench/learning.py demo_out                 # every recipe, both codebooks
    python bench/learning.py demo_out --quick         # the default recipe on the oracle only
    python bench/learning.py demo_out --recipe default --codebook real --seeds 0 1

``demo_out`` is a `make demo` work folder (data/, segments/, codebook/, train_videos.txt).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

JOINT_ONLY = ["data.text_prob=0", "data.video_prob=0", "data.joint_prob=1"]
RECIPES: dict[str, list[str]] = {
    # the recipe before the fix: task mix .25/.25/.5, half the joint examples negatives from
    # the start, neighbour concatenation, both sides masked at 15%, piece-wise, 300 steps,
    # lr 1e-3, visual words only
    "before": ["model.clip_features=false", "data.text_prob=0.25", "data.video_prob=0.25",
               "data.joint_prob=0.5", "data.negative_prob=0.5", "data.negative_start=0",
               "data.concat_prob=0.3", "data.joint_text_side=0", "data.joint_video_side=0",
               "data.masking.whole_word=false", "train.steps=300", "train.lr=1e-3"],
    "default": [],  # src/videobert/configs/tiny.yaml as shipped
    # the ablations behind the default (docs/benchmarks.md, "Learning from video")
    "paper mix, one-side masking at 15%": [
        "data.text_prob=0.25", "data.video_prob=0.25", "data.joint_prob=0.5",
        "data.negative_prob=0.5", "data.negative_start=0", "data.concat_prob=0.3",
        "data.text_side_mask_prob=0.15"],
    "mix .1/.1/.8, negatives .2, concat .1": [
        "data.text_prob=0.1", "data.video_prob=0.1", "data.joint_prob=0.8",
        "data.negative_prob=0.2", "data.negative_start=0", "data.concat_prob=0.1"],
    "10% text-only + 10% video-only, no negatives": [
        "data.text_prob=0.1", "data.video_prob=0.1", "data.joint_prob=0.8",
        "data.negative_prob=0"],
    "joint only, no negatives": [*JOINT_ONLY, "data.negative_prob=0"],
    "joint only, negatives .2 from the start": [
        *JOINT_ONLY, "data.negative_prob=0.2", "data.negative_start=0"],
    "default, 3000 steps": ["train.steps=3000"],
    # the learning rate around tiny's 1e-3 (docs/benchmarks.md, "Learning rate"): 3e-3 helps
    # real words but leaves oracle words at the prior; 4e-3 fails on both, warmup 150 or not
    "default, lr 5e-4": ["train.lr=5e-4"],
    "default, lr 2e-3": ["train.lr=2e-3"],
    "default, lr 3e-3": ["train.lr=3e-3"],
    "default, lr 4e-3": ["train.lr=4e-3"],
    "default, lr 3e-3, warmup 150": ["train.lr=3e-3", "train.warmup_steps=150"],
    "default, lr 4e-3, warmup 150": ["train.lr=4e-3", "train.warmup_steps=150"],
    "default, lr 3e-3, dropout .2": ["train.lr=3e-3", "model.hidden_dropout=0.2",
                                     "model.attention_dropout=0.2"],
    # video-side examples masking BERT's 15% of their visual words (the default masks them all)
    "default, video side at 15%": ["data.video_side_mask_prob=0.15"],
    # half the visible visual words' ids hidden, their features kept (a tie: off by default)
    "default + visual-word dropout .5": ["data.visual_word_dropout=0.5"],
    # visual words only, as the paper (the default adds each clip's feature to its token)
    "default, words only": ["model.clip_features=false"],
    # text augmentation (docs/benchmarks.md, "Augmentation")
    "default + word dropout .15": ["data.augment.word_dropout=0.15"],
    "default + word replacement .15": ["data.augment.word_replace=0.15"],
    # augmented feature views (needs --views N: extracted into WORK/features/views first)
    "default + views .5": ["data.view_prob=0.5"],
}


def corpus_for(work: Path, codebook: str, out: Path) -> Path:
    from videobert.config import CorpusConfig
    from videobert.diagnostics.oracle import write_oracle_codebook
    from videobert.sequences.corpus import run_corpus

    codebook_dir = work / "codebook"
    if codebook == "oracle":
        codebook_dir = out / "oracle_codebook"
        if not (codebook_dir / "meta.json").exists():
            write_oracle_codebook(work / "data" / "ground_truth.json", work / "segments",
                                  codebook_dir)
    corpus = out / f"corpus_{codebook}"
    run_corpus(work / "segments", codebook_dir, corpus,
               CorpusConfig(videos=str(work / "train_videos.txt")))
    return corpus


def run_dir(out: Path, codebook: str, name: str, seed: int) -> Path:
    """Where one pretraining run of the ablation goes (other benches reuse finished ones)."""
    return out / f"{codebook}_{name.replace(' ', '_').replace('=', '')}_seed{seed}"


def extract_views(work: Path, n: int) -> None:
    """Augmented views of the demo folder's clips, with the features its codebook was fit on
    (the plain features are complete, so only the views are extracted)."""
    import dataclasses

    from videobert.features.extract import run_features
    from videobert.settings import load_settings

    began = time.perf_counter()
    features = load_settings("small", []).features  # the demo's preset
    run_features(work / "segments", work / "features", dataclasses.replace(features, views=n))
    print(f"{n} augmented view(s) extracted in {time.perf_counter() - began:.0f} s")


def measure(corpus: Path, run: Path, ground_truth: Path, overrides: list[str]) -> dict:
    from videobert.diagnostics.reliance import modality_reliance
    from videobert.tasks.cli_common import load_task_data
    from videobert.tasks.zero_shot import evaluate_zero_shot
    from videobert.train import pretrain
    from videobert.train.config import load_pretrain_config

    began = time.perf_counter()
    if not (run / "model" / "config.json").exists():
        pretrain(corpus, run, load_pretrain_config("tiny", overrides))
    data = load_task_data(run / "model", ground_truth)  # words: the codebook it was fit on
    model, tokenizer, gt, val = data.model, data.tokenizer, data.ground_truth, data.split("val")
    result = evaluate_zero_shot(model, tokenizer, val, gt.verbs, gt.nouns)
    reliance = modality_reliance(model, tokenizer, val, gt.verbs, gt.nouns)
    prior, cross = (r.method for r in result.rows[:2])
    return {
        **{f"{k}_{what}": result.interval(m, f"{what}_top1")
           for k, m in (("cross", cross), ("prior", prior)) for what in ("verb", "noun")},
        "swap": reliance.changed_when_swapped, "seconds": time.perf_counter() - began,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="a `make demo` work folder")
    parser.add_argument("--out", type=Path, help="where runs go (default: WORK/bench_learning)")
    parser.add_argument("--recipe", action="append", choices=sorted(RECIPES))
    parser.add_argument("--codebook", action="append", choices=("oracle", "real"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", "2")))
    parser.add_argument("--quick", action="store_true", help="default recipe, oracle only")
    parser.add_argument("--views", type=int, default=0,
                        help="extract this many augmented views of WORK's clips first "
                             "(features.views, the demo's feature settings)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="one more override for every recipe")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    recipes = args.recipe or (["default"] if args.quick else list(RECIPES))
    codebooks = args.codebook or (["oracle"] if args.quick else ["oracle", "real"])
    out = args.out or args.work / "bench_learning"
    out.mkdir(parents=True, exist_ok=True)
    ground_truth = args.work / "data" / "ground_truth.json"
    if args.views:
        extract_views(args.work, args.views)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs at the start")
    print("| codebook | recipe | seed | verb top-1: cross-modal | prior | noun top-1: "
          "cross-modal | prior | answers changed by a swapped video (verb / noun) | s |")
    print("|---|---|---|---|---|---|---|---|---:|")
    for codebook in codebooks:
        corpus = corpus_for(args.work, codebook, out)
        for recipe in recipes:
            for seed in args.seeds:
                name = " ".join([recipe, *args.overrides])
                run = run_dir(out, codebook, name, seed)
                m = measure(corpus, run, ground_truth,
                            [*RECIPES[recipe], *args.overrides, f"train.seed={seed}"])
                print(f"| {codebook} | {name} | {seed} | {m['cross_verb']} | {m['prior_verb']} "
                      f"| {m['cross_noun']} | {m['prior_noun']} | {m['swap']['verb']:.2f} / "
                      f"{m['swap']['noun']:.2f} | {m['seconds']:.0f} |", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
