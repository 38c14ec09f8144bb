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
