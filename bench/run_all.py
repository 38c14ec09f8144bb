"""Run every benchmark in bench/ in turn (quick settings), printing each one's figures.

`make bench` calls this. Each script prints our figure and its baseline side by side; the latest
full-size figures and the commands behind them are in docs/benchmarks.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK_ARGS = {
    "extraction.py": ["--quick"],
    "ingest_decode.py": ["--quick"],
    "codebook.py": ["--quick"],
    "pretrain_throughput.py": ["--quick"],
}


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("*.py")):
        if script.name == Path(__file__).name or script.name.startswith("_"):
            continue
        args = QUICK_ARGS.get(script.name, []) + sys.argv[1:]
        print(f"\n=== {script.name} {' '.join(args)}", flush=True)
        if subprocess.call([sys.executable, str(script), *args]) != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
