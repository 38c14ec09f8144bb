"""The one config tree: every section a preset may hold, in one root dataclass, and one loader.

``load_settings("tiny", ["train.lr=3e-4", "features.size=64"])`` reads the preset (following
``extends:``), applies section-qualified overrides, and checks every section at once: an
unknown section, key or out-of-range value anywhere is a ``ConfigError`` before any work
starts. Each verb reads only its sections (``settings.features``, ``settings.pretrain()``...);
the stage verbs that take one section still load it alone with ``config.load_section``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from videobert.config import (
    CodebookConfig,
    ConfigError,
    CorpusConfig,
    FeaturesConfig,
    IngestConfig,
    _merge,
    build,
    parse_overrides,
    read_preset,
)
from videobert.sequences.dataset import SequenceConfig
from videobert.tasks.registry import TaskConfig
from videobert.train.config import ModelSpec, PretrainConfig, TrainConfig


@dataclasses.dataclass(frozen=True)
class Settings:
    ingest: IngestConfig = dataclasses.field(default_factory=IngestConfig)
    features: FeaturesConfig = dataclasses.field(default_factory=FeaturesConfig)
    codebook: CodebookConfig = dataclasses.field(default_factory=CodebookConfig)
    corpus: CorpusConfig = dataclasses.field(default_factory=CorpusConfig)
    model: ModelSpec = dataclasses.field(default_factory=ModelSpec)
    data: SequenceConfig = dataclasses.field(default_factory=SequenceConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    evaluate: TaskConfig = dataclasses.field(default_factory=TaskConfig)

    def pretrain(self) -> PretrainConfig:
        """The ``model``/``data``/``train`` sections as the trainer takes them (checked)."""
        return PretrainConfig(self.model, self.data, self.train)


SECTIONS = tuple(f.name for f in dataclasses.fields(Settings))


def load_settings(preset: str | Path | None = "tiny",
                  overrides: list[str] | None = None) -> Settings:
    data = read_preset(preset)
    tree = parse_overrides(overrides)
    for where, sections in (("preset", data), ("overrides", tree)):
        stray = sorted(set(sections) - set(SECTIONS))
        if stray:
            raise ConfigError(f"{where}: unknown section(s) {stray}; the sections are "
                              f"{', '.join(SECTIONS)} (an override is SECTION.KEY=VALUE)")
    settings = build(Settings, _merge(data, tree))
    settings.pretrain()  # the trainer's own checks (model size, precision, ranges)
    return settings
