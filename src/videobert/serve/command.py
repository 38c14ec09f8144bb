"""`videobert serve MODEL [--index I] [--verbs F --nouns F]`: FastAPI + uvicorn on loopback."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from videobert.io import EXIT_FAILED


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from videobert.cli_options import add_device_argument

    parser.add_argument("model", type=Path, help="model folder")
    parser.add_argument("--index", type=Path, help="clip index (`videobert index add`)")
    parser.add_argument("--verbs", type=Path, help="candidate verbs, one per line")
    parser.add_argument("--nouns", type=Path, help="candidate nouns, one per line")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default %(default)s: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="default %(default)s")
    parser.add_argument("--max-upload-mb", type=float, default=200.0,
                        help="largest upload accepted (default %(default)s MB)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds the model may take for one request (default %(default)s)")
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        print("videobert serve: error: needs the serve extra (pip install 'videobert[serve]')",
              file=sys.stderr)
        return EXIT_FAILED
    from videobert.api import Pipeline
    from videobert.index.store import ClipIndex
    from videobert.serve.app import ServeConfig, create_app
    from videobert.tasks.steps import read_word_list

    try:
        pipeline = Pipeline.from_pretrained(args.model, args.device)
        index = ClipIndex.open(args.index) if args.index else None
        verbs = tuple(read_word_list(args.verbs)) if args.verbs else ()
        nouns = tuple(read_word_list(args.nouns)) if args.nouns else ()
        config = ServeConfig(verbs, nouns, args.max_upload_mb, args.timeout)
    except (FileNotFoundError, ValueError) as exc:
        print(f"videobert serve: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    uvicorn.run(create_app(pipeline, config, index), host=args.host, port=args.port,
                log_level="info")
    return 0
