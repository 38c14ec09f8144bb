"""Downstream tasks on a trained model folder: the paper's evaluation protocols.

- ``zero_shot``: action classification from the template "now let me show you how to [MASK] the
  [MASK]" followed by the clip's visual words (plus the language prior and a linear probe).
- ``retrieval``: text -> video retrieval by the alignment head and by pooled embeddings.
- ``text_to_video``: predict visual words from a sentence and render them as a storyboard.
- ``forecasting``: predict the next clips' visual words from a clip's words.
- ``storyboard``: the shared rendering of visual words as exemplar-frame tiles.

Each task is a plain function taking a loaded model, a tokenizer and data, returning a dataclass
of figures, plus ``add_arguments``/``run`` for its CLI verb. This package imports ``model`` and
``vocab`` only, never ``train``; submodules are imported on use so this file stays light.
"""
