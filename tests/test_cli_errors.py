"""Outputs that cannot be written and evaluate inputs that cannot be used: every verb answers
with one line naming the file and the problem, and a documented exit status (1), never a
traceback. Real folders, real processes (``ulimit -f``, another user for read-only)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from test_features_extract import GRID, _encode
from test_tasks_fixtures import make_layout, make_model, make_tokenizer
from videobert import cli
from videobert.ingest.video import count_clips
from videobert.io import EXIT_FAILED

REPO = Path(__file__).resolve().parents[1]
STAGE_ARGS = {  # verb -> its arguments with the output folder as "{out}"
    "ingest": ["{inp}", "{out}"],
    "features": ["{inp}", "{out}"],
    "codebook": ["{inp}", "{out}"],
    "corpus": ["{inp}", "{inp}", "{out}"],
    "pretrain": ["{inp}", "--out", "{out}"],
    "evaluate": ["{inp}", "--ground-truth", "{inp}/gt.json", "--out", "{out}"],
}


def _argv(verb: str, inp: Path, out: Path) -> list[str]:
    return [verb, *(a.format(inp=inp, out=out) for a in STAGE_ARGS[verb])]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}


def _one_line(err: str, verb: str) -> str:
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"videobert {verb}: error: ")
    return line


@pytest.mark.parametrize("verb", list(STAGE_ARGS))
def test_an_output_path_that_is_a_file_is_refused_by_every_stage(verb, tmp_path, capsys):
    taken = tmp_path / "taken.txt"
    taken.write_text("someone's notes\n")
    assert cli.main(_argv(verb, tmp_path, taken)) == EXIT_FAILED
    line = _one_line(capsys.readouterr().err, verb)
    assert f"{taken} is an existing file, not a folder" in line
    assert taken.read_text() == "someone's notes\n"  # untouched


@pytest.mark.parametrize("verb", ["features", "corpus"])
def test_an_output_folder_under_a_file_is_refused(verb, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "sub" / "out"
    assert cli.main(_argv(verb, tmp_path, out)) == EXIT_FAILED
    line = _one_line(capsys.readouterr().err, verb)
    assert f"{tmp_path / 'file'} is a file, not a folder" in line


def _unprivileged_prefix() -> list[str] | None:
    """A command prefix that runs as ``nobody`` (root may write anywhere), or None when that
    user cannot run this checkout (e.g. a clone under a private temporary folder)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        return None
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import videobert.cli, torch"],
                           env=_env(), capture_output=True, text=True, timeout=120)
    return prefix if probe.returncode == 0 else None


@pytest.mark.parametrize("verb", ["ingest", "codebook", "pretrain"])
def test_a_read_only_output_folder_is_refused(verb, monkeypatch, capsys):
    """A real unprivileged process writing into a folder it cannot write; where this checkout
    is not readable by such a user, the same check in-process with the permission denied."""
    prefix = _unprivileged_prefix()
    base = Path(tempfile.mkdtemp(prefix="videobert-ro-"))  # readable by that user
    try:
        base.chmod(0o755)
        ro = base / "ro"
        ro.mkdir(mode=0o555)
        ro.chmod(0o555)
        if prefix is None:
            real_access = os.access
            monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == ro
                                else real_access(p, mode))
        for out in (ro, ro / "new"):
            if prefix is None:
                assert cli.main(_argv(verb, base, out)) == EXIT_FAILED
                err = capsys.readouterr().err
            else:
                proc = subprocess.run([*prefix, sys.executable, "-m", "videobert.cli",
                                       *_argv(verb, base, out)],
                                      env={**_env(), "HOME": str(base)},
                                      capture_output=True, text=True, timeout=60)
                assert proc.returncode == EXIT_FAILED, proc.stderr
                err = proc.stderr
            line = _one_line(err, verb)
            assert f"{out} is not writable" in line and "read-only" in line
    finally:
        shutil.rmtree(base)


def test_a_file_size_limit_names_the_file_and_keeps_finished_videos(tmp_path):
    """``ulimit -f 4``: the first video's features (2 clips, 4 KiB + header) cannot be written
    (EFBIG, a short write): exit 1, the file named, no temporary files left."""
    video = _encode(tmp_path / "a.mp4", 1.6, 0)
    seg = tmp_path / "seg"
    seg.mkdir()
    (seg / "manifest.json").write_text(json.dumps({"config": GRID, "skipped": [], "videos": [
        {"id": "a", "video": str(video), "n_clips": count_clips(video, **GRID)}]}))
    out = tmp_path / "features"
    cmd = (f"ulimit -f 4 && exec {sys.executable} -m videobert.cli features {seg} {out} "
           "--weights random --size 32 --workers 0 --no-progress")
    proc = subprocess.run(["bash", "-c", cmd], env=_env(), capture_output=True, text=True,
                          timeout=90)
    assert proc.returncode == EXIT_FAILED, proc.stderr
    line = _one_line(proc.stderr, "features")
    assert f"cannot write {out / 'a.npy'}" in line and "ulimit -f" in line
    assert "rerun to continue" in line
    assert list(out.iterdir()) == []  # no half-written a.npy, no temporary file


def test_a_full_disk_names_the_file(tmp_path, capsys, monkeypatch):
    """ENOSPC while the codebook stage writes its centroids (monkeypatched np.save: a real
    full disk is not something a test can make)."""
    features = tmp_path / "features"
    features.mkdir()
    rng = np.random.default_rng(0)
    np.save(features / "v.npy", rng.normal(size=(40, 8)).astype(np.float16))
    (features / "manifest.json").write_text(json.dumps({
        "backbone": "npy", "weights": "x", "dim": 8, "fps": 10.0, "clip_frames": 8,
        "size": None, "videos": {"v": {"n_clips": 40}}, "skipped": []}))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "save", full)
    out = tmp_path / "codebook"
    code = cli.main(["codebook", str(features), str(out), "--k", "2", "--depth", "1"])
    assert code == EXIT_FAILED
    line = _one_line(capsys.readouterr().err, "codebook")
    assert f"cannot write {out / 'centroids.npy'}: no space left on device (ENOSPC)" in line
    assert not (out / "meta.json").exists()  # the stage is not marked complete


# ---------------------------------------------------------------------------------------------
# evaluate: run folders and ground truth


@pytest.fixture
def run_folder(world, tmp_path) -> Path:
    """A finished run: a real (tiny) model folder with the world's codebook."""
    run = tmp_path / "run"
    make_model(make_layout()).save_pretrained(run / "model", tokenizer=make_tokenizer(),
                                              codebook_dir=world.codebook)
    return run


GOOD_VIDEO = {"split": "train", "steps": [{"verb": "cut", "noun": "onion", "start": 0.0,
                                           "end": 2.0}]}
BAD_GROUND_TRUTH = {
    "missing": (None, "does not exist"),
    "not_json": ("{verbs: [", "is not valid JSON"),
    "a_list": ([1, 2], "the top level must be an object"),
    "no_videos": ({"verbs": ["cut"], "nouns": ["onion"]}, "has no 'videos' key"),
    "verbs_not_a_list": ({"verbs": "cut", "nouns": ["onion"], "videos": {}},
                         "'verbs' must be a non-empty list of strings"),
    "videos_a_list": ({"verbs": ["cut"], "nouns": ["onion"], "videos": []},
                      "'videos' must be an object"),
    "no_split": ({"verbs": ["cut"], "nouns": ["onion"], "videos": {"v": {"steps": []}}},
                 "video 'v' needs 'split' and 'steps'"),
    "step_without_end": ({"verbs": ["cut"], "nouns": ["onion"], "videos": {"v": {
        "split": "val", "steps": [{"verb": "cut", "noun": "onion", "start": 0}]}}},
        "video 'v' step 0 lacks ['end']"),
    "start_a_string": ({"verbs": ["cut"], "nouns": ["onion"], "videos": {"v": {
        "split": "val", "steps": [{"verb": "cut", "noun": "onion", "start": "0:01",
                                   "end": 2}]}}}, "'start' must be a number of seconds"),
    "ends_before_start": ({"verbs": ["cut"], "nouns": ["onion"], "videos": {"v": {
        "split": "val", "steps": [{"verb": "cut", "noun": "onion", "start": 3, "end": 1}]}}},
        "ends (1) before it starts (3)"),
    "no_val_steps": ({"verbs": ["cut"], "nouns": ["onion"], "videos": {"v": GOOD_VIDEO}},
                     "need train and val steps"),
}


@pytest.mark.parametrize("case", list(BAD_GROUND_TRUTH))
def test_evaluate_reports_a_bad_ground_truth_in_one_line(case, run_folder, tmp_path, capsys):
    content, expected = BAD_GROUND_TRUTH[case]
    gt = tmp_path / "gt.json"
    if content is not None:
        gt.write_text(content if isinstance(content, str) else json.dumps(content))
    code = cli.main(["evaluate", str(run_folder), "--ground-truth", str(gt), "--out",
                     str(tmp_path / "report")])
    assert code == EXIT_FAILED
    line = _one_line(capsys.readouterr().err, "evaluate")
    assert expected in line and str(gt) in line


def _break(run: Path, how: str) -> Path:
    if how == "missing":
        return run.parent / "no-such-run"
    if how == "a_file":
        (run.parent / "run.txt").write_text("x")
        return run.parent / "run.txt"
    if how == "no_model":
        shutil.rmtree(run / "model")
    elif how == "no_weights":
        (run / "model" / "model.safetensors").unlink()
    elif how == "no_words":  # the training codebook's words are gone and no --words given
        fit = json.loads((run / "model" / "codebook" / "meta.json").read_text())["fit_folder"]
        (Path(fit) / "assignments.parquet").unlink()
    elif how == "meta_not_json":
        (run / "model" / "codebook" / "meta.json").write_text("{")
    return run


RUN_PROBLEMS = {"missing": "does not exist", "a_file": "is a file, not a run folder",
                "no_model": "has no finished model", "no_weights": "lacks",
                "no_words": "give --words", "meta_not_json": "is not valid JSON"}


@pytest.mark.parametrize("how", list(RUN_PROBLEMS))
def test_evaluate_reports_an_unusable_run_folder_in_one_line(how, run_folder, world, capsys):
    run = _break(run_folder, how)
    code = cli.main(["evaluate", str(run), "--ground-truth", str(world.ground_truth)])
    assert code == EXIT_FAILED
    line = _one_line(capsys.readouterr().err, "evaluate")
    assert RUN_PROBLEMS[how] in line and str(run) in line


def test_evaluate_compare_run_and_features_folder_are_checked(run_folder, world, tmp_path,
                                                              capsys):
    gt = str(world.ground_truth)
    code = cli.main(["evaluate", str(run_folder), "--ground-truth", gt,
                     "--compare", f"half={tmp_path / 'nothing'}"])
    assert code == EXIT_FAILED
    assert "--compare half: run folder" in _one_line(capsys.readouterr().err, "evaluate")
    code = cli.main(["evaluate", str(run_folder), "--ground-truth", gt,
                     "--features", str(tmp_path)])
    assert code == EXIT_FAILED
    assert "has no manifest.json" in _one_line(capsys.readouterr().err, "evaluate")
    assert cli.main(["evaluate", str(run_folder), "--ground-truth", gt, "--compare", "x"]) == 2
