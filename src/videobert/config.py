"""Configuration: frozen dataclasses are the schema, YAML presets, dotted CLI overrides.

A preset is a YAML file whose top-level keys name sections (``ingest``, ``features``, ...), each a
mapping onto that section's dataclass. ``load_section(IngestConfig, "tiny", ["fps=10"])`` reads the
section, applies ``key=value`` overrides (types follow the dataclass field), and returns a frozen
instance; unknown keys are errors, not silently ignored.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

CONFIG_DIR = Path(__file__).resolve().parent / "configs"  # shipped inside the package
T = TypeVar("T")


class ConfigError(ValueError):
    """A preset or override that does not fit the schema."""


# ---------------------------------------------------------------------------------------------
# Stage configs of the data pipeline (model/training configs live beside their code).


@dataclasses.dataclass(frozen=True)
class IngestConfig:
    fps: float = 20.0  # frames per second after resampling
    clip_frames: int = 30  # frames per clip: 30 at 20 fps = 1.5 s, as in the paper
    min_last_clip: float = 0.5  # keep a trailing partial clip if it has this share of frames
    asr_model: str = "tiny.en"  # faster-whisper model name or folder when there are no subtitles
    asr: bool = True  # transcribe speech when a video has no subtitles

    def __post_init__(self) -> None:
        validate(self, "ingest")


MOTIONS = ("flow",)  # values of FeaturesConfig.motion besides None (features/motion.py)


@dataclasses.dataclass(frozen=True)
class FeaturesConfig:
    backbone: str = "i3d"  # i3d (offline default) | s3d (torchvision, downloads weights) | npy
    weights: str | None = None  # a weights file; None = the backbone's default source
    size: int = 224  # square input side in pixels
    batch_size: int = 8  # clips per forward pass
    workers: int = 1  # decoding DataLoader workers
    precision: str = "auto"  # auto | fp32 | bf16
    # seconds without a batch from the decoding workers before the run stops (0 = no limit)
    worker_timeout: float = 300.0
    # clips between partial checkpoints of a video in flight (0 = whole videos only): 256
    # clips are 6.4 min of video at the defaults, a few minutes of I3D on a CPU
    checkpoint_every: int = 256
    # Augmented views per clip, extracted beside the plain features into OUT/views/1..N/ (each a
    # features folder): a random crop of at least view_min_scale of the side, resized back, the
    # clip played up to view_speed faster or slower, mirrored at random if view_flip (off: it
    # turns left-right actions into each other). Pretraining draws them with data.view_prob.
    views: int = 0
    view_min_scale: float = 0.7
    view_speed: float = 0.2
    view_flip: bool = False
    # A motion stream appended to each clip's row: "flow" = histograms of dense optical flow
    # (features/motion.py, needs OpenCV); None = the network's feature alone. The rows then
    # hold two blocks, normalised apart wherever the features are normalised.
    motion: str | None = None
    # The network sees every frame_stride-th frame of a clip (the flow stream sees them all):
    # 2 halves I3D's time; on the built-in data its probes tie with every frame (verb 0.493
    # against 0.452, noun 0.932 against 0.945; docs/benchmarks.md, "A cheaper demo")
    frame_stride: int = 1

    def __post_init__(self) -> None:
        validate(self, "features")


@dataclasses.dataclass(frozen=True)
class CodebookConfig:
    k: int = 12  # branching factor
    depth: int = 4  # levels: k**depth words
    sample_size: int = 200_000  # clips sampled to fit the tree
    seed: int = 0
    niter: int = 20  # k-means iterations per node
    exemplars: int = 4  # nearest clips whose middle frames make a word's thumbnail
    # What the words are fit on: "none" = the raw features; "l2" = each clip L2-normalised;
    # "center_l2" = each video's mean clip removed, then L2 (clusters then follow what changes
    # within a video - the action - more than the video's background; docs/benchmarks.md)
    normalize: str = "center_l2"
    # With rows of several streams (features.motion): fit and assign the words on this block
    # alone (0 = the network's feature, 1 = the motion stream); None = the whole row. The model's
    # clip features keep every block. Words on the appearance block name objects (storyboards);
    # the features beside them carry the motion (docs/benchmarks.md, "A cheaper demo").
    word_block: int | None = None

    def __post_init__(self) -> None:
        validate(self, "codebook")


@dataclasses.dataclass(frozen=True)
class CorpusConfig:
    tokenizer: str | None = None  # WordPiece folder or hub id; None = bundled all-MiniLM-L6-v2
    shard_size: int = 10_000  # examples per Parquet shard
    # A text file of video ids (one per line): only these videos enter the corpus, e.g. the
    # train split, so that evaluation videos are never pretrained on. None = every video.
    videos: str | None = None

    def __post_init__(self) -> None:
        validate(self, "corpus")


# ---------------------------------------------------------------------------------------------
# Allowed values, checked when a config is built: a bad value is one message naming the key,
# the value and the range at the start, not a ZeroDivisionError in every video later on.


@dataclasses.dataclass(frozen=True)
class Range:
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself is not allowed
    high_open: bool = False

    def allows(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return not (self.high is not None
                    and (value > self.high or (self.high_open and value == self.high)))

    def __str__(self) -> str:
        if self.high is None:
            return f"must be {'>' if self.low_open else '>='} {self.low:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"must be in {left}{self.low:g}, {self.high:g}{right}"


POSITIVE, NON_NEGATIVE, AT_LEAST_1 = Range(0, low_open=True), Range(0), Range(1)
PROBABILITY, FRACTION = Range(0, 1), Range(0, 1, high_open=True)  # FRACTION: 1 excluded

# class name -> field -> a Range or the allowed choices. By class name, so that this module
# needs no import of the model/train/sequences packages whose configs it also checks.
RULES: dict[str, dict[str, Range | tuple[str, ...]]] = {
    "IngestConfig": {"fps": POSITIVE, "clip_frames": AT_LEAST_1, "min_last_clip": PROBABILITY},
    "FeaturesConfig": {"backbone": ("i3d", "s3d", "npy"), "size": Range(32),
                       "batch_size": AT_LEAST_1, "workers": NON_NEGATIVE,
                       "precision": ("auto", "fp32", "bf16"), "worker_timeout": NON_NEGATIVE,
                       "checkpoint_every": NON_NEGATIVE, "views": NON_NEGATIVE,
                       "view_min_scale": Range(0, 1, low_open=True),
                       "view_speed": FRACTION, "motion": MOTIONS,
                       "frame_stride": AT_LEAST_1},
    "CodebookConfig": {"k": Range(2), "depth": AT_LEAST_1, "sample_size": AT_LEAST_1,
                       "word_block": NON_NEGATIVE,
                       "seed": NON_NEGATIVE, "niter": AT_LEAST_1, "exemplars": NON_NEGATIVE,
                       "normalize": ("none", "l2", "center_l2")},
    "CorpusConfig": {"shard_size": AT_LEAST_1},
    "ModelSpec": {"hidden_dropout": FRACTION, "attention_dropout": FRACTION},
    "LossWeights": {"text": NON_NEGATIVE, "video": NON_NEGATIVE, "joint": NON_NEGATIVE,
                    "alignment": NON_NEGATIVE},
    "TrainConfig": {"steps": AT_LEAST_1, "batch_size": AT_LEAST_1, "grad_accum": AT_LEAST_1,
                    "lr": POSITIVE, "weight_decay": NON_NEGATIVE, "beta1": FRACTION,
                    "beta2": FRACTION, "eps": POSITIVE, "warmup_steps": NON_NEGATIVE,
                    "clip_grad": NON_NEGATIVE, "precision": ("auto", "fp32", "bf16"),
                    "workers": NON_NEGATIVE, "seed": NON_NEGATIVE, "log_every": AT_LEAST_1,
                    "eval_every": NON_NEGATIVE, "eval_batch_size": AT_LEAST_1,
                    "eval_max_examples": NON_NEGATIVE, "save_every": NON_NEGATIVE,
                    "keep_last": AT_LEAST_1, "stop_after": NON_NEGATIVE},
    "SequenceConfig": {"max_len": Range(5), "text_prob": PROBABILITY,
                       "video_prob": PROBABILITY, "joint_prob": PROBABILITY,
                       "negative_prob": PROBABILITY, "same_video_negative_prob": PROBABILITY,
                       "concat_prob": PROBABILITY, "max_sentences": AT_LEAST_1,
                       "max_stride": AT_LEAST_1, "min_video_window": AT_LEAST_1,
                       "val_fraction": FRACTION, "bucket_multiplier": AT_LEAST_1,
                       "joint_text_side": PROBABILITY, "joint_video_side": PROBABILITY,
                       "text_side_mask_prob": PROBABILITY, "video_side_mask_prob": PROBABILITY,
                       "visual_word_dropout": PROBABILITY,
                       "negative_start": FRACTION,
                       "view_prob": PROBABILITY},
    "TextAugmentConfig": {"word_dropout": PROBABILITY, "word_replace": PROBABILITY},
    "MaskingConfig": {"mask_prob": PROBABILITY, "replace_mask": PROBABILITY,
                      "replace_random": PROBABILITY, "min_masks": NON_NEGATIVE},
}
# fields that must not all be 0 / must not add up to more than 1
SUM_RULES: dict[str, list[tuple[tuple[str, ...], Range]]] = {
    "SequenceConfig": [(("text_prob", "video_prob", "joint_prob"), POSITIVE),
                       (("joint_text_side", "joint_video_side"), PROBABILITY)],
    "MaskingConfig": [(("replace_mask", "replace_random"), PROBABILITY)],
    "TextAugmentConfig": [(("word_dropout", "word_replace"), PROBABILITY)],
    "LossWeights": [(("text", "video", "joint", "alignment"), POSITIVE)],
}


def validate(config: Any, where: str) -> None:
    """Check ``config`` (and the dataclasses inside it) against ``RULES``; raise a
    ``ConfigError`` such as ``ingest.fps = 0 is out of range: must be > 0``."""
    rules = RULES.get(type(config).__name__, {})
    for field in dataclasses.fields(config):
        value, key = getattr(config, field.name), f"{where}.{field.name}"
        if dataclasses.is_dataclass(value):
            validate(value, key)
            continue
        rule = rules.get(field.name)
        if rule is None or value is None:
            continue
        if isinstance(rule, tuple):
            if value not in rule:
                raise ConfigError(f"{key} = {value!r} is not allowed: choose one of "
                                  f"{', '.join(rule)}")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key} = {value!r} is not a number ({rule})")
        elif value != value or not rule.allows(value):  # value != value: NaN
            raise ConfigError(f"{key} = {value!r} is out of range: {rule}")
    for names, rule in SUM_RULES.get(type(config).__name__, []):
        total = sum(getattr(config, n) for n in names)
        if not rule.allows(total):
            raise ConfigError(f"{where}.{' + '.join(names)} = {total:g} is out of range: "
                              f"the sum {rule}")


# ---------------------------------------------------------------------------------------------
# Loading and overriding.


def preset_path(preset: str | Path) -> Path:
    """A preset name (``tiny``) or a path to a YAML file."""
    path = Path(preset)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    candidate = CONFIG_DIR / f"{preset}.yaml"
    if candidate.exists():
        return candidate
    known = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")) if CONFIG_DIR.exists() else []
    raise ConfigError(f"unknown preset {preset!r}: not a YAML file, and not one of {known}")


def read_preset(preset: str | Path | None, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A preset's sections; ``extends: NAME`` (a preset name or a YAML path, relative to the
    file) starts from that preset and overrides it key by key."""
    if preset is None:
        return {}
    path = preset_path(preset).resolve()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise ConfigError(f"preset {path} extends itself: {chain}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"preset {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"preset {path} must be a mapping of sections")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    relative = path.parent / str(parent)
    parent_ref = relative if relative.suffix in (".yaml", ".yml") and relative.exists() else parent
    return _merge(read_preset(parent_ref, (*_seen, path)), data)


def _coerce(value: Any, annotation: Any, name: str) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        is_none = value is None or (isinstance(value, str) and value.lower() in ("none", "null"))
        if is_none and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, name)
            except (ConfigError, ValueError, TypeError):
                continue
        raise ConfigError(f"{name}: cannot read {value!r} as {annotation}")
    if origin in (tuple, list):
        (item_type, *_rest) = typing.get_args(annotation) or (Any,)
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        return origin(_coerce(v, item_type, name) for v in value)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}: {value!r} is not a boolean")
    if annotation in (int, float, str):
        try:
            if annotation is int and isinstance(value, str):
                return int(float(value)) if "e" in value.lower() else int(value)
            return annotation(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name}: {value!r} is not a {annotation.__name__}") from exc
    return value


def build(cls: type[T], values: dict[str, Any], where: str = "") -> T:
    """Instantiate dataclass ``cls`` from a mapping, coercing types and rejecting unknown keys."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(values) - set(fields)
    if unknown:
        raise ConfigError(f"{where or cls.__name__}: unknown keys {sorted(unknown)}")
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            kwargs[name] = build(hint, value, f"{where}.{name}" if where else name)
        else:
            kwargs[name] = _coerce(value, hint, f"{where}.{name}" if where else name)
    return cls(**kwargs)


def parse_overrides(overrides: list[str] | None) -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` -> ``{"a": {"b": "1"}, "c": "x"}`` (values typed later by ``build``)."""
    tree: dict[str, Any] = {}
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not key=value")
        key, value = item.split("=", 1)
        node = tree
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(value) if value.strip() else value
    return tree


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_section(
    cls: type[T],
    section: str,
    preset: str | Path | None = None,
    overrides: list[str] | None = None,
) -> T:
    """The ``section`` of a preset as a ``cls`` instance, with dotted overrides applied.

    Overrides are relative to the section (``fps=10``) or name it (``ingest.fps=10``).
    """
    data = read_preset(preset).get(section, {}) or {}
    tree = parse_overrides(overrides)
    scoped = tree.pop(section, {})
    data = _merge(_merge(data, tree), scoped)
    return build(cls, data, section)


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def save_yaml(config: Any, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
