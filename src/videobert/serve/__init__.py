"""`videobert serve`: the model behind an HTTP API, and a web page (see ``serve.app``)."""

from videobert.serve.app import ServeConfig, create_app

__all__ = ["ServeConfig", "create_app"]
