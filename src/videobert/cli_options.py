"""The options every verb shares, declared once: ``--preset``/``--set`` (config), ``--device``,
and the exit-status convention every verb's ``--help`` ends with."""

from __future__ import annotations

import argparse

EXIT_STATUS_HELP = (
    "exit status: 0 done; 3 done, but some inputs were skipped (listed with the reason in the "
    "output's manifest); 2 bad arguments or config values; 1 failed (one line on stderr names "
    "the file and the problem)"
)


def add_config_arguments(parser: argparse.ArgumentParser, sections: str,
                         default_preset: str | None = None) -> None:
    """``--preset`` and repeatable ``--set`` (into ``args.overrides``); ``sections`` names the
    preset sections the verb reads, for the help text."""
    default = f" (default: {default_preset})" if default_preset else ""
    parser.add_argument("--preset", default=default_preset,
                        help=f"a shipped preset (tiny, small, demo, base, paper) or a YAML "
                        f"file; this verb reads its {sections} section(s){default}")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.KEY=VALUE",
                        help="override a config value, e.g. --set train.lr=1e-4 (repeatable; "
                        "a verb with one section also takes KEY=VALUE)")


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default=None,
                        help="torch device: cpu, cuda, cuda:1 ... (default: cuda if available, "
                        "else cpu)")


def resolve_device(device: str | None) -> str:
    """``None`` (the default everywhere) -> cuda when available, else cpu."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
