"""The HTTP server: one model loaded once, behind FastAPI, and the web page that uses it.

Endpoints (OpenAPI schema at ``/openapi.json``, docs at ``/docs``):

- ``GET /health``: the model folder, the index size, the limits.
- ``POST /analyze``: upload a video (multipart ``video``); its clips' visual words and, per
  window of ``window`` seconds, the zero-shot verb and noun. The upload is deleted afterwards.
- ``POST /classify``: the same for a video of the index, by its ``video_id``. Both add a
  caption per window when the model folder has a captioner (``MODEL/captioner``).
- ``POST /caption``: the captions alone, per window, of an indexed video.
- ``POST /storyboard``: the visual words the model imagines for a sentence, with exemplar URLs.
- ``POST /search``: the indexed windows closest to a sentence, with a playable URL at their time.
- ``GET /media/{video_id}``: an indexed video's file (only indexed ids: no path is taken from a
  request). ``GET /exemplars/{word}``: a visual word's exemplar image; ``GET /thumbnails/{row}``
  an indexed window's middle frame. ``GET /``: the page.

Bad input is a 4xx with ``{"detail": ...}``: 413 for an upload over the size limit, 415 for a
file that does not decode as video, 404 for an unknown id, 422 for a malformed request; 504 when
the model takes longer than the request timeout.
"""

# no `from __future__ import annotations`: FastAPI reads the endpoint annotations, some
# of them classes local to create_app
import asyncio
import dataclasses
import tempfile
import threading
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar

from videobert.log import get_logger

_LOG = get_logger("serve")
T = TypeVar("T")
CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class ServeConfig:
    verbs: tuple[str, ...]
    nouns: tuple[str, ...]
    max_upload_mb: float = 200.0
    timeout_s: float = 120.0
    window_s: float = 3.0  # default length of a classified stretch of video


def create_app(pipeline: Any, config: ServeConfig, index: Any = None) -> Any:
    """The FastAPI app for a loaded ``videobert.api.Pipeline`` (and a ``ClipIndex`` or None)."""
    from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
    from fastapi.responses import FileResponse, HTMLResponse, Response
    from pydantic import BaseModel, Field

    from videobert.api import clip_spans
    from videobert.ingest.video import VideoError

    app = FastAPI(title="videobert", version="0.1.0",
                  description="Zero-shot actions, storyboards and clip search on raw video.")
    model_lock = threading.Lock()  # one model, shared: one request at a time uses it
    limit = int(config.max_upload_mb * (1 << 20))

    async def run_model(fn: Callable[..., T], *args: Any) -> T:
        def locked() -> T:
            with model_lock:
                return fn(*args)
        try:
            return await asyncio.wait_for(asyncio.to_thread(locked), config.timeout_s)
        except asyncio.TimeoutError as exc:
            raise HTTPException(504, f"the model took longer than {config.timeout_s:g} s") \
                from exc

    class Labels(BaseModel):
        window: float = Field(config.window_s, gt=0, le=3600, description="seconds per answer")
        verbs: list[str] | None = Field(None, min_length=1, max_length=500)
        nouns: list[str] | None = Field(None, min_length=1, max_length=500)

    class ClassifyRequest(Labels):
        video_id: str = Field(min_length=1, max_length=200)

    class CaptionRequest(BaseModel):
        video_id: str = Field(min_length=1, max_length=200)
        window: float = Field(config.window_s, gt=0, le=3600, description="seconds per caption")

    class TextRequest(BaseModel):
        text: str = Field(min_length=1, max_length=500)

    class StoryboardRequest(TextRequest):
        n_words: int = Field(8, ge=1, le=32)

    class SearchRequest(TextRequest):
        k: int = Field(5, ge=1, le=100)

    def timeline(video: Path, window: float, verbs: Sequence[str] | None,
                 nouns: Sequence[str] | None, shown: str | None = None) -> dict[str, Any]:
        verbs, nouns = list(verbs or config.verbs), list(nouns or config.nouns)
        if not verbs or not nouns:
            raise HTTPException(422, "no verbs or nouns to choose from: give them in the "
                                "request or start the server with --verbs and --nouns")
        try:
            words = pipeline.clip_words(video)
            steps = pipeline.classify(words, verbs, nouns, window=window)
            captions = (pipeline.caption(words, window=window) if pipeline.can_caption
                        else [None] * len(steps))
        except VideoError as exc:  # the server's own paths stay out of the answer
            reason = exc.reason.replace(str(video), shown or video.name)
            raise HTTPException(415, f"not a decodable video: {reason}") from exc
        except ValueError as exc:
            raise HTTPException(422, str(exc).replace(str(video), shown or video.name)) \
                from exc
        spans = clip_spans(len(words.words), words.clip_seconds, window)  # as classify's
        return {
            "clip_seconds": words.clip_seconds,
            "words": [int(w) for w in words.words],
            "steps": [{"start": p.start, "end": p.end,
                       "words": [int(w) for w in words.words[lo : hi + 1]],
                       "verb": p.verb, "noun": p.noun,
                       "caption": None if c is None else c.text,
                       "verbs": [[v, round(s, 4)] for v, s in p.verbs],
                       "nouns": [[n, round(s, 4)] for n, s in p.nouns]}
                      for (lo, hi), p, c in zip(spans, steps, captions, strict=True)],
        }

    def indexed(video_id: str) -> Path:
        if index is None:
            raise HTTPException(404, "the server has no index (start it with --index)")
        ids = index.items["video_id"]
        if video_id not in ids:
            raise HTTPException(404, f"no indexed video {video_id!r}")
        path = Path(index.items["video"][ids.index(video_id)])
        if not path.is_file():
            raise HTTPException(404, f"indexed video {video_id!r} is no longer on disk")
        return path

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "model": str(pipeline.model_dir),
                "index": None if index is None else len(index),
                "max_upload_mb": config.max_upload_mb, "timeout_s": config.timeout_s,
                "captions": pipeline.can_caption,
                "verbs": list(config.verbs), "nouns": list(config.nouns)}

    @app.post("/analyze")
    async def analyze(request: Request, video: Annotated[UploadFile, File()],
                      window: Annotated[float, Form(gt=0, le=3600)] = config.window_s,
                      ) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit + CHUNK:
            raise HTTPException(413, f"upload over {config.max_upload_mb:g} MB")
        with tempfile.TemporaryDirectory(prefix="videobert-upload-") as tmp:
            path = Path(tmp) / "upload"
            size = 0
            with path.open("wb") as out:
                while chunk := await video.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise HTTPException(413, f"upload over {config.max_upload_mb:g} MB")
                    out.write(chunk)
            if size == 0:
                raise HTTPException(415, "the upload is empty")
            result = await run_model(timeline, path, window, None, None,
                                     video.filename or "upload")
        return {"name": video.filename, "bytes": size, **result}  # the upload is gone now

    @app.post("/classify")
    async def classify(body: ClassifyRequest) -> dict[str, Any]:
        path = indexed(body.video_id)
        result = await run_model(timeline, path, body.window, body.verbs, body.nouns)
        return {"video_id": body.video_id, "url": f"/media/{body.video_id}", **result}

    @app.post("/caption")
    async def caption(body: CaptionRequest) -> dict[str, Any]:
        path = indexed(body.video_id)
        if not pipeline.can_caption:
            raise HTTPException(404, "this model folder has no captioner (MODEL/captioner: "
                                "`videobert evaluate --save-captioner` writes one)")
        try:
            found = await run_model(pipeline.caption, path, body.window)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"video_id": body.video_id, "captions": [
            {"start": c.start, "end": c.end, "text": c.text} for c in found]}

    @app.post("/storyboard")
    async def storyboard(body: StoryboardRequest) -> dict[str, Any]:
        generation = await run_model(pipeline.storyboard, body.text, body.n_words)
        words = [int(w) for w in generation.words]
        return {"text": body.text, "words": words,
                "exemplars": [f"/exemplars/{w}" for w in words]}

    @app.post("/search")
    async def search(body: SearchRequest) -> dict[str, Any]:
        if index is None:
            raise HTTPException(404, "the server has no index (start it with --index)")
        hits = await run_model(index.search, pipeline, body.text, min(body.k, len(index)))
        return {"text": body.text, "hits": [
            {"video_id": h.video_id, "start": h.start, "end": h.end, "score": h.score,
             "words": h.words, "url": f"/media/{h.video_id}#t={h.start:g},{h.end:g}",
             "thumbnail": f"/thumbnails/{h.row}" if index.thumbnail(h.row) else None}
            for h in hits]}

    @app.get("/media/{video_id}", response_class=FileResponse)
    def media(video_id: str):
        return FileResponse(indexed(video_id), media_type="video/mp4")

    @app.get("/thumbnails/{row}", response_class=Response)
    def thumbnail(row: int):
        if index is None or not 0 <= row < len(index) or not index.thumbnail(row):
            raise HTTPException(404, f"no thumbnail for window {row}")
        return Response(index.thumbnail(row), media_type="image/jpeg")

    @app.get("/videos")
    def videos() -> dict[str, Any]:
        if index is None:
            return {"videos": []}
        seen = dict.fromkeys(index.items["video_id"])
        return {"videos": [{"video_id": v, "url": f"/media/{v}"} for v in seen]}

    @app.get("/exemplars/{word}", response_class=FileResponse)
    def exemplar(word: int):
        if not 0 <= word < pipeline.codebook_folder.n_words:
            raise HTTPException(404, f"no visual word {word}")
        path = pipeline.model_dir / "codebook" / "exemplars" / f"word_{word:05d}.jpg"
        if not path.is_file():
            raise HTTPException(404, f"visual word {word} has no exemplar image")
        return FileResponse(path, media_type="image/jpeg")

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return resources.files("videobert.serve").joinpath("page.html").read_text()

    return app
