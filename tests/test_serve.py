"""`videobert serve`: a real uvicorn server on loopback in front of a real (tiny) model, asked
over HTTP the way a browser or a client would. Bad input must be a 4xx with a JSON reason."""

from __future__ import annotations

import io
import tempfile
import threading
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx", reason="the dev extra (httpx) is not installed")
pytest.importorskip("fastapi", reason="the serve extra (fastapi, uvicorn) is not installed")


def save_untrained_captioner(model_dir: Path) -> None:
    """A captioner of the right shapes (its words are noise): the server's plumbing is under
    test here; test_end_to_end captions with a trained one."""
    import json

    import numpy as np
    from transformers import AutoTokenizer

    from videobert.artifacts.codebook import CodebookFolder
    from videobert.tasks.caption_model import CaptionModelConfig, CaptionTransformer, CaptionVocab
    from videobert.tasks.captioner import CAPTIONER_DIR, SavedCaptioner
    from videobert.tasks.captioning import DEFAULT_TEMPLATE, SAVED_ROW

    hidden = json.loads((model_dir / "config.json").read_text())["hidden_size"]
    dim = 2 * hidden + CodebookFolder.open(model_dir / "codebook").centroids().shape[1]
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    vocab = CaptionVocab(tokenizer.encode("cut the tomato", add_special_tokens=False))
    model = CaptionTransformer(CaptionModelConfig(dim, len(vocab))).eval()
    SavedCaptioner(model, vocab, np.zeros(dim, np.float32), np.ones(dim, np.float32), SAVED_ROW,
                   DEFAULT_TEMPLATE, {"beam_size": 2, "length_alpha": 0.6,
                                      "max_caption_tokens": 5, "max_clips": 32}
                   ).save(model_dir / CAPTIONER_DIR)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny model trained on 4 synthetic videos, and an index of two of them."""
    import torch

    from tiny_trained import train_tiny_model
    from videobert.api import Pipeline
    from videobert.index import ClipIndex

    root = tmp_path_factory.mktemp("serve")
    model_dir, data = train_tiny_model(root)
    save_untrained_captioner(model_dir)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        pipeline = Pipeline.from_pretrained(model_dir, device="cpu")
        videos = sorted((data / "videos").glob("*.mp4"))
        index = ClipIndex.open(root / "index", create=True)
        index.add(pipeline, videos[:2])
    finally:
        torch.set_num_threads(before)
    verbs = (data / "verbs.txt").read_text().split()
    nouns = (data / "nouns.txt").read_text().split()
    return pipeline, ClipIndex.open(root / "index"), videos, verbs, nouns


@pytest.fixture(scope="module")
def server(world):
    import uvicorn

    from videobert.serve import ServeConfig, create_app

    pipeline, index, _videos, verbs, nouns = world
    config = ServeConfig(tuple(verbs), tuple(nouns), max_upload_mb=1.0, timeout_s=120)
    app = create_app(pipeline, config, index)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    with httpx.Client(base_url=f"http://{host}:{port}", timeout=120) as client:
        yield client
    server.should_exit = True
    thread.join(10)


def uploads_left() -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob("videobert-upload-*"))


def test_health_and_the_openapi_schema(server):
    health = server.get("/health").json()
    assert health["status"] == "ok" and health["index"] > 0
    paths = server.get("/openapi.json").json()["paths"]
    for path in ("/health", "/analyze", "/classify", "/storyboard", "/search"):
        assert path in paths, path
    page = server.get("/")
    assert page.status_code == 200 and "<h1>videobert</h1>" in page.text


def test_an_uploaded_video_gets_a_timeline_and_is_deleted(world, server):
    _pipeline, _index, videos, verbs, nouns = world
    before = uploads_left()
    with videos[3].open("rb") as f:
        answer = server.post("/analyze", files={"video": ("mine.mp4", f, "video/mp4")},
                             data={"window": "3"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["name"] == "mine.mp4" and body["bytes"] == videos[3].stat().st_size
    assert body["steps"] and all(s["verb"] in verbs and s["noun"] in nouns
                                 for s in body["steps"])
    assert sum(len(s["words"]) for s in body["steps"]) == len(body["words"])
    assert all(isinstance(s["caption"], str) for s in body["steps"])  # the model can caption
    assert uploads_left() == before  # the upload is gone


@pytest.mark.parametrize("payload, status", [
    (b"", 415), (b"this is not a video" * 10, 415), (b"\0" * (2 << 20), 413)])
def test_bad_uploads_are_client_errors_with_a_reason(server, payload, status):
    before = uploads_left()
    answer = server.post("/analyze", files={"video": ("x.mp4", io.BytesIO(payload), "video/mp4")})
    assert answer.status_code == status, answer.text
    assert isinstance(answer.json()["detail"], str) and "/tmp" not in answer.json()["detail"]
    assert uploads_left() == before


def test_indexed_videos_are_classified_and_served_by_id_only(world, server):
    _pipeline, index, videos, _verbs, _nouns = world
    video_id = index.items["video_id"][0]
    listed = server.get("/videos").json()["videos"]
    assert video_id in [v["video_id"] for v in listed]
    body = server.post("/classify", json={"video_id": video_id, "window": 1.5}).json()
    assert body["url"] == f"/media/{video_id}" and len(body["steps"]) == len(body["words"])
    # a window of 2 s covers 2 clips of 1.5 s, as classify's stretches do: each step's words
    # are its own clips' words
    two = server.post("/classify", json={"video_id": video_id, "window": 2}).json()
    assert [w for s in two["steps"] for w in s["words"]] == two["words"]
    assert all(len(s["words"]) == 2 for s in two["steps"][:-1])
    assert all(s["end"] - s["start"] == pytest.approx(1.5 * len(s["words"])) for s in two["steps"])
    media = server.get(body["url"])
    assert media.status_code == 200 and media.content == Path(index.items["video"][0]).read_bytes()
    assert server.post("/classify", json={"video_id": "nope"}).status_code == 404
    captions = server.post("/caption", json={"video_id": video_id, "window": 3}).json()
    assert captions["captions"] and all(c["end"] > c["start"] for c in captions["captions"])
    assert server.post("/caption", json={"video_id": "nope"}).status_code == 404
    for bad in ("/media/nope", "/media/..%2F..%2Fetc%2Fpasswd", "/media/%2Fetc%2Fpasswd"):
        assert server.get(bad).status_code == 404, bad
    assert server.post("/classify", json={"video_id": video_id, "verbs": []}).status_code == 422


def test_storyboard_search_and_exemplars(world, server):
    pipeline = world[0]
    story = server.post("/storyboard", json={"text": "cut the tomato", "n_words": 4}).json()
    assert len(story["words"]) == 4
    assert all(0 <= w < pipeline.codebook_folder.n_words for w in story["words"])
    image = server.get(story["exemplars"][0])
    assert image.status_code in (200, 404)
    if image.status_code == 200:
        assert image.headers["content-type"] == "image/jpeg" and image.content[:2] == b"\xff\xd8"
    assert server.get("/exemplars/100000").status_code == 404
    assert server.get("/exemplars/abc").status_code == 422
    hits = server.post("/search", json={"text": "cut the tomato", "k": 3}).json()["hits"]
    assert len(hits) == 3 and hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]
    assert all(h["url"].startswith(f"/media/{h['video_id']}#t=") for h in hits)
    thumb = server.get(hits[0]["thumbnail"])  # the window's own middle frame
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    assert server.get("/thumbnails/100000").status_code == 404


@pytest.mark.parametrize("path, body", [
    ("/storyboard", {"text": ""}), ("/storyboard", {"text": "x", "n_words": 0}),
    ("/search", {"k": 3}), ("/search", {"text": "x", "k": "many"}), ("/classify", {})])
def test_malformed_requests_are_422(server, path, body):
    answer = server.post(path, json=body)
    assert answer.status_code == 422 and "detail" in answer.json()


def test_serve_binds_to_loopback_by_default():
    import argparse

    from videobert.serve.command import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["model"])
    assert args.host == "127.0.0.1" and args.max_upload_mb > 0 and args.timeout > 0


SCREENSHOT = Path(__file__).resolve().parents[1] / "build" / "screenshots" / "web_page.png"


def test_the_page_in_a_real_browser_uploads_a_video_and_shows_its_timeline(world, server):
    """Playwright drives Debian's chromium (installed by `make setup` as root): upload a
    built-in video, see its timeline; type a sentence, see its storyboard and search hits."""
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                                   "(the dev extra)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium browser: `apt-get install chromium` (make setup does it as root)")
    videos = world[2]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            page.goto(str(server.base_url))
            page.wait_for_function(
                "document.getElementById('status').textContent.startsWith('model')")
            page.set_input_files("#file", str(videos[3]))
            page.click("#upload button")
            page.wait_for_selector("#timeline .step", timeout=120_000)
            labels = page.locator("#timeline .step .label").all_text_contents()
            assert labels and all(" the " in label for label in labels)
            assert page.locator("#timeline .step img").count() > 0  # visual-word exemplars
            page.click("#sentence button")
            page.wait_for_selector("#storyboard img", timeout=60_000)
            page.wait_for_selector("#hits li a", timeout=60_000)
            assert page.locator("#hits li").count() == 5
            assert page.locator("#hits li img").count() == 5
            assert page.text_content("#error") == ""
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert SCREENSHOT.stat().st_size > 10_000


def test_no_request_the_schema_allows_is_a_server_error(server):
    """Schemathesis generates requests from the OpenAPI schema (valid and edge-case bodies,
    uploads of arbitrary bytes) for every operation; the server answers each below 500."""
    schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed "
                                       "(the dev extra)")
    hypothesis = pytest.importorskip("hypothesis")
    base = str(server.base_url)
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    checked, statuses = [], set()
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(max_examples=8, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck))
        def no_server_error(case):
            response = case.call(base_url=base, timeout=120)
            statuses.add(response.status_code // 100)
            assert response.status_code < 500, (case.operation.label, response.status_code,
                                                response.text[:300])

        no_server_error()
        checked.append(operation.label)
    assert {"POST /analyze", "POST /classify", "POST /search", "GET /media/{video_id}"} <= \
        set(checked)
    assert statuses == {2, 4}  # both answered and refused requests were generated


def test_a_request_the_model_cannot_finish_in_time_is_a_504(tmp_path):
    """The model call runs in a worker thread under the request timeout."""
    from fastapi.testclient import TestClient

    from videobert.serve import ServeConfig, create_app

    class Slow:
        model_dir = tmp_path
        can_caption = False

        def storyboard(self, text: str, n_words: int):
            time.sleep(1.0)

    app = create_app(Slow(), ServeConfig(("cut",), ("tomato",), timeout_s=0.1))
    with TestClient(app) as client:
        answer = client.post("/storyboard", json={"text": "cut the tomato"})
    assert answer.status_code == 504 and "longer than 0.1 s" in answer.json()["detail"]
