"""Progress lines go through logging: one prefix, one stream, rank-0 gating in one place."""

from __future__ import annotations

import logging

from videobert.log import get_logger


def test_a_stage_logger_writes_prefixed_lines_on_stderr(capsys):
    get_logger("codebook").info("fitting 144 words")
    captured = capsys.readouterr()
    assert captured.err.strip() == "[codebook] fitting 144 words" and captured.out == ""


def test_only_rank_zero_writes_progress_but_every_rank_warns(capsys, monkeypatch):
    log = get_logger("pretrain")
    monkeypatch.setenv("RANK", "1")
    log.info("step 10")
    log.warning("no tokenizer")
    assert capsys.readouterr().err.strip().splitlines() == ["[pretrain] no tokenizer"]
    monkeypatch.setenv("RANK", "0")
    log.info("step 10")
    assert "[pretrain] step 10" in capsys.readouterr().err


def test_users_can_silence_the_progress_lines(capsys):
    root = logging.getLogger("videobert")
    before = root.level
    root.setLevel(logging.WARNING)
    try:
        get_logger("features").info("extracting")
        assert capsys.readouterr().err == ""
    finally:
        root.setLevel(before)
