"""Run every benchmark in bench/ in turn (quick settings), printing each one's figures.

`make bench` calls this. Each script prints our figure and its baseline side by side; the latest
full-size figures and the commands behind them are in docs/benchmarks.md. The scripts that read
a `make demo` folder get ``demo_out`` (``--demo DIR`` for another), which is made first when it
is not there (`videobert demo` resumes a partial one).
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
    "synth_look.py": ["--seeds", "0"],
}
NEEDS_DEMO = {"learning.py": ["--quick"], "motion.py": ["--seeds", "0"], "quantisation.py": [],
              "serve_load.py": []}


def main() -> int:
    argv = sys.argv[1:]
    demo = Path("demo_out")
    if "--demo" in argv:
        at = argv.index("--demo")
        demo, argv = Path(argv[at + 1]), argv[:at] + argv[at + 2:]
    failed = []
    for script in sorted(HERE.glob("*.py")):
        if script.name == Path(__file__).name or script.name.startswith("_"):
            continue
        args = QUICK_ARGS.get(script.name, []) + argv
        if script.name in NEEDS_DEMO:
            if not (demo / "report" / "README.md").exists():
                print(f"\n=== {demo} is not a finished demo folder: videobert demo --out {demo}")
                subprocess.check_call([sys.executable, "-m", "videobert.cli", "demo", "--out",
                                       str(demo)])
            args = [str(demo), *NEEDS_DEMO[script.name]]
        print(f"\n=== {script.name} {' '.join(args)}", flush=True)
        if subprocess.call([sys.executable, str(script), *args]) != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
