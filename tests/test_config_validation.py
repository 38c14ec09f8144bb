"""Config values out of range are refused when the config is built: one line naming the key,
the value and the allowed range, exit status 2 (like argparse's usage errors), nothing done."""

from __future__ import annotations

import pytest

from videobert import cli
from videobert.config import CodebookConfig, ConfigError, FeaturesConfig, IngestConfig
from videobert.io import EXIT_USAGE
from videobert.train.config import load_pretrain_config

CASES = {  # id -> (argv after the verb's folders, what the message must say)
    "features_size": (["features", "--size", "8"], "features.size = 8", "must be >= 32"),
    "features_batch": (["features", "--batch-size", "0"], "features.batch_size = 0",
                       "must be >= 1"),
    "features_workers": (["features", "--workers", "-1"], "features.workers = -1",
                         "must be >= 0"),
    "features_precision": (["features", "--set", "precision=fp8"],
                           "features.precision = 'fp8'", "choose one of auto, fp32, bf16"),
    "features_checkpoint": (["features", "--checkpoint-every", "-5"],
                            "features.checkpoint_every = -5", "must be >= 0"),
    "codebook_k": (["codebook", "--k", "1"], "codebook.k = 1", "must be >= 2"),
    "codebook_depth": (["codebook", "--depth", "0"], "codebook.depth = 0", "must be >= 1"),
    "corpus_shard": (["corpus", "--shard-size", "0"], "corpus.shard_size = 0", "must be >= 1"),
    "pretrain_lr": (["pretrain", "--set", "train.lr=-1e-4"], "train.lr = -0.0001",
                    "must be > 0"),
    "pretrain_mask_prob": (["pretrain", "--set", "data.masking.mask_prob=1.5"],
                           "data.masking.mask_prob = 1.5", "must be in [0, 1]"),
    "pretrain_val_fraction": (["pretrain", "--set", "data.val_fraction=1"],
                              "data.val_fraction = 1", "must be in [0, 1)"),
    "pretrain_dropout": (["pretrain", "--set", "model.hidden_dropout=-0.1"],
                         "model.hidden_dropout = -0.1", "must be in [0, 1)"),
    "pretrain_keep_last": (["pretrain", "--set", "train.keep_last=0"], "train.keep_last = 0",
                           "must be >= 1"),
    "pretrain_replacement_sum": (["pretrain", "--set", "data.masking.replace_mask=0.9",
                                  "--set", "data.masking.replace_random=0.2"],
                                 "data.masking.replace_mask + replace_random = 1.1",
                                 "the sum must be in [0, 1]"),
}
FOLDERS = {"features": ["{t}/seg", "{t}/out"], "codebook": ["{t}/feat", "{t}/out"],
           "corpus": ["{t}/seg", "{t}/cb", "{t}/out"], "pretrain": ["{t}/corpus", "--out",
                                                              "{t}/out"]}


@pytest.mark.parametrize("case", list(CASES))
def test_out_of_range_values_are_usage_errors_through_the_cli(case, tmp_path, capsys):
    (verb, *flags), key_value, allowed = CASES[case]
    folders = [f.format(t=tmp_path) for f in FOLDERS[verb]]
    assert cli.main([verb, *folders, *flags]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"videobert {verb}: ")
    assert key_value in line and allowed in line
    assert not (tmp_path / "out").exists()  # refused before any work


@pytest.mark.parametrize("flags, message", [
    (["--fps", "0"], "ingest.fps = 0.0 is out of range: must be > 0"),
    (["--clip-frames", "0"], "ingest.clip_frames = 0 is out of range: must be >= 1"),
    (["--set", "min_last_clip=1.5"], "ingest.min_last_clip = 1.5 is out of range: "
                                     "must be in [0, 1]"),
])
def test_ingest_refuses_fps_0_and_clip_frames_0_up_front(flags, message, tmp_path, capsys):
    """Used to fail every video with ZeroDivisionError; now one message before any video."""
    code = cli.main(["ingest", str(tmp_path), str(tmp_path / "out"), *flags])
    assert code != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_ingest_config_errors_exit_with_the_usage_status(tmp_path):
    assert cli.main(["ingest", str(tmp_path), str(tmp_path / "out"), "--fps", "0"]) == 2


def test_the_python_api_checks_the_same_ranges():
    with pytest.raises(ConfigError, match=r"features.batch_size = 0 .* must be >= 1"):
        FeaturesConfig(batch_size=0)
    with pytest.raises(ConfigError, match=r"ingest.fps = -1 .* must be > 0"):
        IngestConfig(fps=-1)
    with pytest.raises(ConfigError, match=r"codebook.niter = 0"):
        CodebookConfig(niter=0)
    with pytest.raises(ConfigError, match=r"data.text_prob \+ video_prob \+ joint_prob = 0"):
        load_pretrain_config("tiny", ["data.text_prob=0", "data.video_prob=0",
                                      "data.joint_prob=0"])
    for preset in ("tiny", "small", "demo", "base", "paper"):  # every shipped preset is in range
        load_pretrain_config(preset)
