"""A persistent, searchable index of video clips built from a model folder (faiss).

``ClipIndex.open(folder)`` / ``ClipIndex.add(pipeline, videos)`` / ``ClipIndex.search(pipeline,
text, k)``; ``videobert index add|search`` on the command line. See ``index.store``.
"""

from videobert.index.store import ClipIndex, Hit

__all__ = ["ClipIndex", "Hit"]
