"""A bounded load test of `videobert serve`, on loopback only: requests/s and p50/p99 latency
of `search` and `classify`, beside the same calls made straight through the Python API.

    python bench/serve_load.py demo_out                      # after `make demo`
    python bench/serve_load.py demo_out --requests 40 --concurrency 4 --time-limit 120

The server (uvicorn, in this process, bound to 127.0.0.1 on a free port) serves the demo's model
and an index of ``--videos`` of its videos, built in a temporary folder. Each endpoint gets a
fixed number of requests from ``--concurrency`` client threads, and stops early at the time
limit; the baseline is the same work called directly (``Pipeline.search`` /
``Pipeline.classify``) one call at a time, so the difference is what HTTP, JSON and queueing on
the one shared model cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

QUERIES = ["cut the tomato", "roll the dough", "spin the bread", "pour the milk",
           "lift the fish", "squeeze the lemon", "shake the onion", "drop the egg"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load(client_factory, make_request, n: int, concurrency: int, limit_s: float) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + limit_s

    def worker(indices: list[int]) -> None:
        nonlocal errors
        with client_factory() as client:
            for i in indices:
                if time.perf_counter() > deadline:
                    return
                began = time.perf_counter()
                ok = make_request(client, i)
                with lock:
                    latencies.append(time.perf_counter() - began)
                    errors += not ok

    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, [list(range(k, n, concurrency)) for k in range(concurrency)]))
    wall = time.perf_counter() - began
    return {"done": len(latencies), "errors": errors, "rps": len(latencies) / wall,
            "p50": percentile(latencies, 0.5) * 1e3, "p99": percentile(latencies, 0.99) * 1e3}


def direct(call, n: int, limit_s: float) -> dict:
    latencies = []
    deadline = time.perf_counter() + limit_s
    for i in range(n):
        if time.perf_counter() > deadline:
            break
        began = time.perf_counter()
        call(i)
        latencies.append(time.perf_counter() - began)
    return {"done": len(latencies), "p50": statistics.median(latencies) * 1e3,
            "rps": len(latencies) / sum(latencies)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="a `make demo` work folder")
    parser.add_argument("--requests", type=int, default=40, help="per endpoint (search)")
    parser.add_argument("--classify-requests", type=int, default=8,
                        help="classify decodes and runs the backbone on a whole video each time")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--videos", type=int, default=3, help="videos in the index")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per endpoint")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", "2")))
    args = parser.parse_args()

    import httpx
    import torch
    import uvicorn

    from videobert.api import Pipeline
    from videobert.index import ClipIndex
    from videobert.serve import ServeConfig, create_app
    from videobert.tasks.steps import read_word_list

    torch.set_num_threads(args.threads)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs at the start")
    pipe = Pipeline.from_pretrained(args.work / "runs" / "full" / "model", device="cpu")
    videos = sorted((args.work / "data" / "videos").glob("*.mp4"))[: args.videos]
    verbs = read_word_list(args.work / "data" / "verbs.txt")
    nouns = read_word_list(args.work / "data" / "nouns.txt")
    with tempfile.TemporaryDirectory() as tmp:
        index = ClipIndex.open(Path(tmp) / "index", create=True)
        index.add(pipe, videos)
        index = ClipIndex.open(Path(tmp) / "index")
        app = create_app(pipe, ServeConfig(tuple(verbs), tuple(nouns)), index)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        base = f"http://{host}:{port}"
        ids = list(dict.fromkeys(index.items["video_id"]))

        def client():
            return httpx.Client(base_url=base, timeout=args.time_limit)

        def search(c, i):
            r = c.post("/search", json={"text": QUERIES[i % len(QUERIES)], "k": 5})
            return r.status_code == 200

        def classify(c, i):
            r = c.post("/classify", json={"video_id": ids[i % len(ids)], "window": 3})
            return r.status_code == 200

        def same_as_classify(path):  # what the endpoint does: words, answers, captions
            words = pipe.clip_words(path)
            pipe.classify(words, verbs, nouns, window=3)
            if pipe.can_caption:
                pipe.caption(words, window=3)

        paths = {v: Path(p) for v, p in zip(index.items["video_id"], index.items["video"],
                                            strict=True)}
        rows = [
            ("search", load(client, search, args.requests, args.concurrency, args.time_limit),
             direct(lambda i: pipe.search(QUERIES[i % len(QUERIES)], index, 5), args.requests,
                    args.time_limit)),
            ("classify", load(client, classify, args.classify_requests, args.concurrency,
                              args.time_limit),
             direct(lambda i: same_as_classify(paths[ids[i % len(ids)]]),
                    args.classify_requests, args.time_limit)),
        ]
        server.should_exit = True
        thread.join(10)
    print(f"index: {len(index)} windows of {len(ids)} videos; {args.concurrency} client "
          f"threads; torch threads {args.threads}; classify captions too: {pipe.can_caption}")
    print("| endpoint | requests done | errors | HTTP req/s | HTTP p50 ms | HTTP p99 ms "
          "| API direct req/s (baseline) | API direct p50 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, http, api in rows:
        print(f"| {name} | {http['done']} | {http['errors']} | {http['rps']:.2f} | "
              f"{http['p50']:.0f} | {http['p99']:.0f} | {api['rps']:.2f} | {api['p50']:.0f} |")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0 if all(http["errors"] == 0 for _, http, _ in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
