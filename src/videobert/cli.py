"""`videobert <verb>`: one verb per stage, plus demo/evaluate/serve.

Each verb lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``;
only the chosen verb's module is imported, so `videobert --help` stays fast and an inference
user never imports training code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

# verb -> (module, one-line help). Order follows the data flow.
VERBS: dict[str, tuple[str, str]] = {
    "synth": ("videobert.synth.command", "write the built-in synthetic how-to dataset"),
    "ingest": ("videobert.ingest.command", "decode videos, read subtitles/speech, align to clips"),
    "features": ("videobert.features.command", "extract 3D-CNN clip features (sharded, resumable)"),
    "codebook": ("videobert.visual_words.command",
                 "fit hierarchical k-means visual words (`codebook assign`: apply one)"),
    "oracle-codebook": ("videobert.diagnostics.oracle",
                        "diagnostic: visual words read off the ground truth's step labels"),
    "corpus": ("videobert.sequences.command", "tokenise text and visual words into Parquet shards"),
    "pretrain": ("videobert.train.command", "multi-task self-supervised pretraining"),
    "prepare": ("videobert.prepare",
                "new videos -> segments, features, visual words, with a model's settings"),
    "zeroshot": ("videobert.tasks.zero_shot",
                 "zero-shot verb/noun classification (3 rows; 4 with a motion stream)"),
    "retrieval": ("videobert.tasks.retrieval", "text -> video retrieval (R@k, median rank)"),
    "text2video": ("videobert.tasks.text_to_video", "sentence -> visual words -> storyboard"),
    "forecast": ("videobert.tasks.forecasting", "predict the next clips' visual words"),
    "caption": ("videobert.tasks.captioning", "captioning from clip / VideoBERT features (3 rows)"),
    "summarize": ("videobert.tasks.summarize",
                  "a video's key steps (span, caption, frame) -> summary.md"),
    "qa": ("videobert.tasks.qa", "answer a question about a video (multiple choice or fill-in)"),
    "finetune": ("videobert.tasks.finetune", "fine-tune a step classifier: `finetune train|eval`"),
    "evaluate": ("videobert.evaluate", "run every task on a dataset with ground truth -> report/"),
    "index": ("videobert.index.command",
              "a searchable index of video clips: `index add`, `index search`"),
    "serve": ("videobert.serve.command",
              "HTTP API + web page: classify, storyboard, search, upload (FastAPI)"),
    "export": ("videobert.export", "the model as ONNX (encoder + heads) for deployment"),
    "demo": ("videobert.demo", "the whole pipeline on the built-in dataset, offline, one command"),
}


# "verb subverb" -> (module, help): verbs whose first word picks another command
SUBVERBS: dict[tuple[str, str], tuple[str, str]] = {
    ("codebook", "assign"): ("videobert.visual_words.assign",
                             "apply an existing codebook to new clip features (no re-fit)"),
}


def build_parser(verbs: dict[str, tuple[str, str]] | None = None) -> argparse.ArgumentParser:
    verbs = VERBS if verbs is None else verbs
    parser = argparse.ArgumentParser(prog="videobert", description=__doc__.splitlines()[0])
    from videobert import __version__

    parser.add_argument("--version", action="version", version=f"videobert {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for name, (_module, help_text) in verbs.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0] not in VERBS:
        parser.parse_args(argv)  # prints help / version / an error for unknown verbs
        parser.print_help()
        return 2
    verb, rest = argv[0], argv[1:]
    module_name, help_text = VERBS[verb]
    if rest and (verb, rest[0]) in SUBVERBS:
        module_name, help_text = SUBVERBS[(verb, rest[0])]
        verb, rest = f"{verb} {rest[0]}", rest[1:]
    module = importlib.import_module(module_name)
    from videobert.cli_options import EXIT_STATUS_HELP

    verb_parser = argparse.ArgumentParser(prog=f"videobert {verb}", description=help_text,
                                          epilog=EXIT_STATUS_HELP)
    module.add_arguments(verb_parser)
    args = verb_parser.parse_args(rest)
    return run_verb(verb, module.run, args)


def run_verb(verb: str, run: Callable[[argparse.Namespace], int | None],
             args: argparse.Namespace) -> int:
    """Run a verb; its output folder (``args.out``, every verb's name for it) is checked first,
    and an output that cannot be written (disk full, file size limit, read-only, a file in
    the way) ends the run with one line naming the file, not a traceback."""
    from videobert.config import ConfigError
    from videobert.io import EXIT_FAILED, EXIT_USAGE, check_output_dir, describe_os_error

    try:
        if getattr(args, "out", None) is not None:
            check_output_dir(args.out)
        return int(run(args) or 0)
    except ConfigError as exc:  # a verb that lets a bad config value through: still exit 2
        print(f"videobert {verb}: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    except OSError as exc:
        print(f"videobert {verb}: error: {describe_os_error(exc)}", file=sys.stderr, flush=True)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
