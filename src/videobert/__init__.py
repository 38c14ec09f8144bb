"""videobert: joint video-language representations the VideoBERT way."""

__version__ = "0.1.0"
