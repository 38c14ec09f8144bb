"""The evaluation report: plots (training curves, confusion matrices) and the markdown of
``report/README.md``, from figures ``evaluate`` has measured. Nothing here runs a model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from videobert.log import get_logger

_LOG = get_logger("report")
FINETUNE_COLUMNS = ("n_steps", "top1", "top5", "macro_f1", "chance_top1")



# ---------------------------------------------------------------------------------------------
# Plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_training_curves(metrics_jsonl: Path, path: Path) -> Path | None:
    """Per-objective training losses and held-out losses over steps."""
    if not metrics_jsonl.exists():
        return None
    records = []
    for n, line in enumerate(metrics_jsonl.read_text().splitlines(), 1):
        try:
            record = json.loads(line) if line.strip() else None
        except json.JSONDecodeError:
            record = None
            _LOG.info(f"{metrics_jsonl} line {n} is not JSON (a run killed mid-write?); left out")
        if isinstance(record, dict) and isinstance(record.get("step"), int | float):
            records.append(record)
    plt = _pyplot()
    fig, (ax_train, ax_eval) = plt.subplots(1, 2, figsize=(11, 4))
    for ax, prefix in ((ax_train, "loss/"), (ax_eval, "eval/")):
        keys = sorted({k for r in records for k in r if k.startswith(prefix) and "acc" not in k})
        for key in keys:
            pts = [(r["step"], r[key]) for r in records if key in r and r[key] > 0]
            if pts:
                ax.plot(*zip(*pts, strict=True), label=key.split("/", 1)[1], marker=".")
        ax.set_xlabel("step")
        ax.set_title("training loss" if prefix == "loss/" else "held-out loss")
        ax.legend()
    acc = [(r["step"], r["eval/alignment_acc"]) for r in records if "eval/alignment_acc" in r]
    if acc:
        twin = ax_eval.twinx()
        twin.plot(*zip(*acc, strict=True), color="black", linestyle="--", label="alignment acc")
        twin.set_ylim(0, 1)
        twin.set_ylabel("alignment accuracy (dashed)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_confusion(cm: np.ndarray, labels: list[str], title: str, path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for (i, j), v in np.ndenumerate(cm):
        if v:
            ax.text(j, i, int(v), ha="center", va="center", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------
# Markdown


def interval_cell(ci: Any) -> str:
    """A figure and its interval in a table cell: ``0.452 [0.34, 0.56]``."""
    return f"{ci.value:.3f} [{ci.low:.2f}, {ci.high:.2f}]"


def verdict(gap: Any) -> str:
    """How a paired difference's 95% interval reads: above, below or no different from 0."""
    if gap.low > 0:
        return "above"
    if gap.high < 0:
        return "below"
    return "no different from (the interval holds 0)"


def bars_markdown(bars: list[Any]) -> str:
    lines = ["| bar | ours | needed | result | figures |", "|---|---:|---:|---|---|"]
    for b in bars:
        lines.append(f"| {b.name} | {b.ours:.3f} | {b.target:.3f} | "
                     f"{'met' if b.passed else '**missed**'} | {b.detail} |")
    return "\n".join(lines) + "\n"


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = [f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def pretraining_summary(metrics_jsonl: Path) -> dict[str, Any]:
    """Held-out loss per objective at the first and last evaluation, and the mean share of
    each example type among the training examples."""
    if not metrics_jsonl.exists():
        return {}
    records = [json.loads(line) for line in metrics_jsonl.read_text().splitlines() if line.strip()]
    evals = [r for r in records if any(k.startswith("eval/") for k in r)]
    shares = [r for r in records if "share/joint" in r]
    out: dict[str, Any] = {"steps": max((r["step"] for r in records), default=0)}
    if evals:
        out["held_out_first"] = {k[5:]: v for k, v in evals[0].items() if k.startswith("eval/")}
        out["held_out_last"] = {k[5:]: v for k, v in evals[-1].items() if k.startswith("eval/")}
    if shares:
        keys = [k for k in shares[0] if k.startswith("share/")]
        out["example_share"] = {k[6:]: float(np.mean([r[k] for r in shares])) for k in keys}
    return out


def diagnostics_markdown(zero_shot, reliance, codebook_info, pretraining) -> str:
    probe = zero_shot.probe_row()
    feature_probe = {"verb": probe.verb_top1, "noun": probe.noun_top1} if probe else None
    parts = [
        "\n## Diagnostics: does the model read the video?\n",
        "\n### Modality reliance\n", reliance.to_markdown(),
        "\n### What the visual words keep\n", codebook_info.to_markdown(feature_probe),
    ]
    if pretraining.get("held_out_last"):
        first, last = pretraining["held_out_first"], pretraining["held_out_last"]
        share = pretraining.get("example_share", {})
        lines = ["| objective | held-out loss, start | held-out loss, end | share of training "
                 "examples |", "|---|---:|---:|---:|"]
        for k in ("text", "video", "joint", "alignment"):
            cell = f"{share[k]:.3f}" if k in share else "–"
            lines.append(f"| {k} | {first.get(k, float('nan')):.3f} | "
                         f"{last.get(k, float('nan')):.3f} | {cell} |")
        if "alignment_acc" in last:
            lines.append(f"\nHeld-out alignment accuracy {last['alignment_acc']:.3f} after "
                         f"{pretraining['steps']} steps.")
        parts += ["\n### Pretraining objectives\n", "\n".join(lines) + "\n"]
    return "".join(parts)


def ground_truth_markdown(vocabulary: dict[str, Any] | None) -> str:
    """What the ground truth's labels are, for the report's opening lines."""
    if not vocabulary:
        return "(val split: verb-noun combinations never seen in training).\n"
    outside = vocabulary.get("outside_vocabulary", {})
    no_words = vocabulary.get("no_verb_or_noun", {})
    counts = ", ".join(f"{split} {outside.get(split, 0)} + {no_words.get(split, 0)} of {n}"
                       for split, n in sorted(vocabulary.get("steps", {}).items()))
    return (f"({vocabulary['source']}: its splits; one step per annotated segment, its sentence "
            f"the caption). Verb and noun of each step: {vocabulary['method']}; the "
            f"{vocabulary['n_verbs']} verbs and {vocabulary['n_nouns']} nouns are the most common "
            f"of the {vocabulary['from_split']} split (at most {vocabulary['max_verbs']} and "
            f"{vocabulary['max_nouns']}). Steps outside them + without a verb or noun, left out "
            f"of classification (captioning and retrieval use every step): {counts}.\n")


def render_markdown(figures, zero_shot, retrieval, forecast, captioning, data_size, bars,
                    has_curves, has_overview, confusion_names,
                    generations, diagnostics: str = "", noun_probe=None,
                    summaries=None, qa=None) -> str:
    ft = figures["finetune"]
    parts = [
        "# VideoBERT evaluation report\n",
        f"Model: `{figures['run']}/model`; ground truth: `{figures['ground_truth']}` "
        + ground_truth_markdown(figures.get("vocabulary")),
        "## Quality bars\n", bars_markdown(bars),
        "\n## Zero-shot action classification (the paper's Table 1 layout)\n",
        zero_shot.to_markdown(),
        diagnostics,
        "\n## Captioning (the paper's Table 3 layout)\n",
        captioning.to_markdown() if captioning is not None else "not run (no features)\n",
        "\n## Text -> video retrieval\n", retrieval.to_markdown(),
        "\n## Text -> video generation (does the storyboard show the named noun?)\n",
        noun_probe.to_markdown() if noun_probe is not None else "not scored (no features)\n",
        "\n## Summarisation (key steps against the ground truth)\n",
        summaries.to_markdown() if summaries is not None else "not run\n",
        "\n## Video QA (multiple choice and fill-in)\n",
        qa.to_markdown() if qa is not None else "not run\n",
        "\n## Forecasting\n", forecast.to_markdown(),
        f"\n## Fine-tuning ({ft['label']} classifier on the pretrained model)\n",
        table([{"split": k, **{m: ft[k].get(m, float("nan")) for m in FINETUNE_COLUMNS}}
               for k in ("train", "val")], ["split", *FINETUNE_COLUMNS]),
        "\n## Pretraining data size (zero-shot, cross-modal)\n",
        table(data_size, ["corpus", "verb_top1", "verb_top5", "noun_top1", "noun_top5"]),
    ]
    parts.append("\n## Pictures\n")
    if has_curves:
        parts.append("![training curves](training_curves.png)\n")
    parts += [f"![{n}]({n})\n" for n in confusion_names]
    parts += [f"![text to video]({Path(g['storyboard']).name})\n" for g in generations
              if "storyboard" in g]
    parts += [f"![forecast]({Path(p).name})\n" for p in forecast.storyboards]
    if has_overview:
        parts.append("![codebook exemplars](codebook_exemplars.jpg)\n")
    return "".join(parts)


def summary_tables(report_dir: str | Path) -> str:
    """The report's key sections, for printing at the end of a run."""
    keep, out = False, []
    for line in (Path(report_dir) / "README.md").read_text().splitlines():
        if line.startswith("## "):
            keep = line[3:].startswith(("Quality bars", "Zero-shot", "Diagnostics", "Captioning",
                                        "Text -> video", "Summarisation", "Video QA",
                                        "Pretraining data size"))
        if keep:
            out.append(line)
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# One video's summary (`videobert summarize`)


def summary_markdown(title: str, steps: list[Any], duration: float,
                     frames: list[str | None]) -> str:
    """A table of key steps: span, caption, alignment, thumbnail (a file beside the page)."""
    lines = [f"# Key steps of {title}\n", f"{len(steps)} steps in {duration:.1f} s.\n",
             "| # | time | caption | alignment | frame |", "|---:|---|---|---:|---|"]
    for i, (step, frame) in enumerate(zip(steps, frames, strict=True), 1):
        picture = f"![step {i}]({frame})" if frame else "–"
        lines.append(f"| {i} | {step.start:.1f}-{step.end:.1f} s | {step.caption} | "
                     f"{step.alignment:.2f} | {picture} |")
    return "\n".join(lines) + "\n"


def write_summary(summary: Any, out: Path, title: str) -> Path:
    """``out/summary.md``, ``out/summary.json`` and ``out/frames/step_NN.jpg``; the page."""
    import dataclasses

    from PIL import Image

    from videobert.io import atomic_path, write_json

    frames: list[str | None] = []
    (out / "frames").mkdir(parents=True, exist_ok=True)
    for i in range(1, len(summary.steps) + 1):
        if i > len(summary.thumbnails):
            frames.append(None)
            continue
        name = f"frames/step_{i:02d}.jpg"
        with atomic_path(out / name) as tmp:
            Image.fromarray(summary.thumbnails[i - 1]).save(tmp, format="JPEG", quality=90)
        frames.append(name)
    write_json(out / "summary.json", {
        "video": title, "duration": summary.duration,
        "steps": [{**dataclasses.asdict(s), "frame": f}
                  for s, f in zip(summary.steps, frames, strict=True)]})
    page = out / "summary.md"
    with atomic_path(page) as tmp:
        tmp.write_text(summary_markdown(title, summary.steps, summary.duration, frames))
    return page
