"""A trained captioner kept beside its model: ``MODEL/captioner/`` (``config.json``,
``model.safetensors``, ``standardiser.npz``), so ``Pipeline.caption(video)`` can caption a
video the model never saw.

It is the captioning task's ``videobert+clip`` row (``evaluate`` saves it when
``evaluate.save_captioner`` is on; the demo does): a transformer from each clip's
[VideoBERT state ; template state ; clip feature] sequence to WordPiece ids.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from videobert.tasks.caption_model import CaptionModelConfig, CaptionTransformer, CaptionVocab

CAPTIONER_DIR = "captioner"


@dataclasses.dataclass
class SavedCaptioner:
    model: CaptionTransformer
    vocab: CaptionVocab
    mean: np.ndarray  # the standardiser of the training inputs
    std: np.ndarray
    row: str  # the input variant, e.g. "videobert+clip"
    template: str  # the prompt whose [MASK] states are part of the input
    settings: dict[str, Any]  # beam_size, length_alpha, max_caption_tokens, max_clips

    def save(self, folder: str | Path) -> Path:
        from safetensors.torch import save_file

        from videobert.io import atomic_path, write_json

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").unlink(missing_ok=True)  # incomplete until rewritten last
        state = {k: v.detach().contiguous().cpu() for k, v in self.model.state_dict().items()}
        with atomic_path(folder / "model.safetensors") as tmp:
            save_file(state, str(tmp))
        with atomic_path(folder / "standardiser.npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, mean=self.mean, std=self.std)
        write_json(folder / "config.json", {
            "model": dataclasses.asdict(self.model.config), "pieces": self.vocab.pieces,
            "row": self.row, "template": self.template, "settings": self.settings})
        return folder

    @classmethod
    def load(cls, folder: str | Path, device: str = "cpu") -> SavedCaptioner:
        from safetensors.torch import load_file

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"{folder} holds no captioner: `videobert evaluate` saves one there with "
                "--set evaluate.save_captioner=true (`make demo` does)")
        meta = json.loads((folder / "config.json").read_text())
        model = CaptionTransformer(CaptionModelConfig(**meta["model"]))
        model.load_state_dict(load_file(str(folder / "model.safetensors"), device="cpu"))
        stats = np.load(folder / "standardiser.npz")
        return cls(model.to(device).eval(), CaptionVocab(meta["pieces"]), stats["mean"],
                   stats["std"], meta["row"], meta["template"], meta["settings"])

    def standardise(self, sequences: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [((s - self.mean) / self.std).astype(np.float32) for s in sequences]


def caption_spans(
    captioner: SavedCaptioner,
    model: Any,
    tokenizer: Any,
    words: np.ndarray,
    features: np.ndarray | None,
    raw_features: np.ndarray,
    spans: Sequence[tuple[int, int]],
) -> list[str]:
    """A sentence for each ``(first, last)`` clip span of one video.

    ``words``: each clip's visual word; ``features``: the normalised clip features the model
    reads beside them (None for a model that reads words only); ``raw_features``: the
    backbone's features as the features stage stores them (the captioner's own input).
    """
    from videobert.tasks.captioning import SAVED_ROW, generate, to_text
    from videobert.tasks.captioning import videobert_feature_sequences as states
    from videobert.tasks.inputs import Clips, evenly_spaced

    if captioner.row != SAVED_ROW:
        raise ValueError(f"the saved captioner reads {captioner.row!r}, not {SAVED_ROW!r}")
    limit = int(captioner.settings["max_clips"])
    items, clip_rows = [], []
    for lo, hi in spans:  # at most max_clips clips, evenly spaced, as in training
        idx = lo + evenly_spaced(hi - lo + 1, limit)
        items.append(Clips(tuple(int(w) for w in words[idx]),
                           None if features is None else features[idx]))
        clip_rows.append(np.asarray(raw_features[idx], np.float32))
    vb = states(model, tokenizer, items, captioner.template, progress=False,
                appearance_width=int(captioner.settings.get("appearance_width", 0)))
    inputs = captioner.standardise([np.concatenate([v, c], axis=1)
                                    for v, c in zip(vb, clip_rows, strict=True)])
    settings = captioner.settings
    out = generate(captioner.model, inputs, int(settings["beam_size"]),
                   int(settings["max_caption_tokens"]), float(settings["length_alpha"]))
    return [to_text(tokenizer, captioner.vocab, c) for c in out]
