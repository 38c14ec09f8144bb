"""Every verb shares one set of options and one exit-status convention."""

from __future__ import annotations

import pytest

from videobert import cli

TASKS_WITH_A_MODEL = ["zeroshot", "retrieval", "text2video", "forecast", "caption"]


def help_text(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        cli.main([*argv, "--help"])
    assert stop.value.code == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("verb", [*cli.VERBS, "codebook assign", "finetune train"])
def test_every_help_states_the_exit_statuses(verb, capsys):
    text = help_text(verb.split(), capsys)
    if verb == "finetune train":  # a sub-parser: its own help, the parent's epilog
        text = help_text(["finetune"], capsys)
    assert "exit status: 0 done; 3 done, but some inputs were skipped" in text
    assert "2 bad arguments or config values; 1 failed" in text


@pytest.mark.parametrize("verb", [*TASKS_WITH_A_MODEL, "finetune train", "finetune eval"])
def test_tasks_take_the_model_as_an_option_and_one_device_default(verb, capsys):
    text = help_text(verb.split(), capsys)
    assert "--model MODEL" in text
    assert "--device DEVICE torch device: cpu, cuda, cuda:1 ... (default: cuda if available" in text


@pytest.mark.parametrize("verb", ["ingest", "features", "codebook", "corpus", "pretrain", "demo"])
def test_stages_take_preset_and_set_the_same_way(verb, capsys):
    text = help_text([verb], capsys)
    assert ("--preset PRESET a shipped preset (tiny, small, demo, base, paper) or a YAML file"
            in text)
    assert "--set SECTION.KEY=VALUE" in text


def test_resolve_device_defaults_to_what_the_machine_has():
    import torch

    from videobert.cli_options import resolve_device

    assert resolve_device("cpu") == "cpu"
    assert resolve_device(None) == ("cuda" if torch.cuda.is_available() else "cpu")
