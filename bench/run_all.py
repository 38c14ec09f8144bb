"""Run every benchmark in bench/ in turn (quick settings), printing each one's figures.

`make bench` calls this. Each script prints our figure and its baseline side by side; the latest
full-size figures and the commands behind them are in docs/benchmarks.md. The scripts that read
a `make demo` folder get ``demo_out`` (``--demo DIR`` for another), which is made first when it
is not there (`videobert demo` resumes a partial one); `motion.py` compares the flow stream with
I3D alone, so it reads a demo folder of the tiny preset (no flow stream), ``DIR_tiny``.
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
DEMO_PRESET = {"motion.py": "tiny"}  # scripts that need a demo folder of another preset


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
            folder, preset = demo, DEMO_PRESET.get(script.name)
            extra = []
            if preset:
                folder, extra = Path(f"{demo}_{preset}"), ["--preset", preset]
            if not (folder / "report" / "README.md").exists():
                print(f"\n=== {folder} is not a finished demo folder: videobert demo --out "
                      f"{folder} {' '.join(extra)}")
                subprocess.check_call([sys.executable, "-m", "videobert.cli", "demo", "--out",
                                       str(folder), *extra])
            args = [str(folder), *NEEDS_DEMO[script.name]]
        print(f"\n=== {script.name} {' '.join(args)}", flush=True)
        if subprocess.call([sys.executable, str(script), *args]) != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
