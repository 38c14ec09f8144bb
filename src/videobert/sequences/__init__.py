"""Sequences: tokenised text + visual words (the corpus stage), examples, masking, batches.

Kept light on purpose: import the submodule you need (``videobert.sequences.corpus``,
``.tokenizer``, ``.dataset``, ``.masking``); nothing heavy is imported here.
"""
