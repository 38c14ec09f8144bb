"""`videobert index add VIDEOS --model M --out I` and `videobert index search I TEXT --model M`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from videobert.io import EXIT_FAILED, EXIT_SKIPPED


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from videobert.cli_options import add_device_argument

    sub = parser.add_subparsers(dest="action", required=True, metavar="{add,search}")
    add = sub.add_parser("add", help="embed new videos' clips into an index (created if new)")
    add.add_argument("videos", type=Path, help="a video, a folder of videos or a manifest")
    add.add_argument("--out", type=Path, required=True, help="index folder")
    add.add_argument("--window", type=int, default=2,
                     help="clips per indexed window (default 2 = 3 s; fixed by the first add)")
    add.add_argument("--stride", type=int, default=1, help="clips between windows (default 1)")
    search = sub.add_parser("search", help="the windows closest to a sentence")
    search.add_argument("index", type=Path, help="index folder")
    search.add_argument("text", help="the sentence, e.g. 'cut the tomato'")
    search.add_argument("-k", type=int, default=5, help="how many windows (default 5)")
    search.add_argument("--json", action="store_true", help="print JSON lines")
    for p in (add, search):
        p.add_argument("--model", type=Path, required=True, help="model folder")
        add_device_argument(p)


def run(args: argparse.Namespace) -> int:
    from videobert.api import Pipeline
    from videobert.index.store import ClipIndex, list_videos

    try:
        pipe = Pipeline.from_pretrained(args.model, args.device)
        if args.action == "add":
            index = ClipIndex.open(args.out, create=True)
            report = index.add(pipe, list_videos(args.videos), args.window, args.stride)
            print(f"added {len(report['added'])}, kept {len(report['kept'])}, skipped "
                  f"{len(report['skipped'])}; {len(index)} windows in {args.out}")
            return EXIT_SKIPPED if report["skipped"] else 0
        hits = ClipIndex.open(args.index).search(pipe, args.text, args.k)
    except (FileNotFoundError, ValueError) as exc:
        print(f"videobert index {args.action}: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for hit in hits:
        if args.json:
            print(json.dumps(hit.__dict__))
        else:
            print(f"{hit.score:6.3f}  {hit.video}  {hit.start:7.1f}-{hit.end:7.1f} s")
    return 0
