"""Ingest: decode and clip videos, read subtitles or speech, align sentences to clips.

``video`` (probe, iter_clips, read_frame) is the decoder API every stage uses; importing this
package imports nothing heavy.
"""
