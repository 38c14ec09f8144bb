"""Codebook benchmark: hierarchical k-means with faiss (ours) vs the same hierarchy with
scikit-learn's MiniBatchKMeans (what the popular VideoBERT re-implementation used).

Same data, same run: fit time, peak memory over the data, quantisation error, and assignment
time per 10k vectors for our batched tree walk, a per-node faiss loop, and the sklearn tree.

    python bench/codebook.py                 # 200k x 1024, k=12, depth=4 (paper size)
    python bench/codebook.py --n 50000       # smaller
    python bench/codebook.py --quick         # ~15 s, one thread (make bench)
"""

from __future__ import annotations

import argparse
import os
import platform
import threading
import time

import numpy as np
import psutil

from videobert.visual_words.hkmeans import Codebook, nearest


class PeakRSS:
    """Peak resident memory above the level at entry, sampled every 5 ms in a thread (covers
    the native allocations of faiss and BLAS that tracemalloc does not see)."""

    def __enter__(self) -> PeakRSS:
        self.process = psutil.Process()
        self.base = self.peak = self.process.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc) -> None:
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def gb(self) -> float:
        return (self.peak - self.base) / 1e9


def clustered_data(n: int, dim: int, seed: int, n_centres: int = 500) -> np.ndarray:
    """Clustered-ish float32 data: Gaussian blobs of varied size around random centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_centres, dim), dtype=np.float32) * 2
    x = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 20000):  # in chunks: no float64 temporaries of the full size
        m = min(20000, n - start)
        labels = rng.zipf(1.5, m) % n_centres  # uneven cluster sizes, as real clips are
        x[start : start + m] = centres[labels] + rng.standard_normal((m, dim), dtype=np.float32)
    return x


# ---------------------------------------------------------------------------------------------
# Baseline: the same hierarchy with scikit-learn, the way the re-implementations write it
# (boolean-mask copies of the data at every node, one MiniBatchKMeans per node).


def sklearn_fit(x: np.ndarray, k: int, depth: int, seed: int) -> list[list]:
    from sklearn.cluster import MiniBatchKMeans

    models: list[list] = [[None] * k**level for level in range(depth)]
    todo = [(0, 0, x)]
    while todo:
        level, node, points = todo.pop()
        if len(points) < k:  # same fallback as ours: the points themselves, repeated
            fill = points[np.arange(k) % len(points)] if len(points) else np.zeros((k, x.shape[1]))
            models[level][node] = fill.astype(np.float32)
            labels = nearest(points, models[level][node]) if len(points) else np.zeros(0, int)
        else:
            model = MiniBatchKMeans(n_clusters=k, random_state=seed).fit(points)
            models[level][node] = model
            labels = model.labels_
        if level + 1 < depth:
            for child in range(k):
                todo.append((level + 1, node * k + child, points[labels == child]))
    return models


def _predict(model, points: np.ndarray) -> np.ndarray:
    return nearest(points, model) if isinstance(model, np.ndarray) else model.predict(points)


def sklearn_assign(models: list[list], x: np.ndarray, k: int) -> np.ndarray:
    return _per_node_walk(lambda level, node, pts: _predict(models[level][node], pts), x, k,
                          len(models))


def sklearn_leaf_centroids(models: list[list], k: int, dim: int) -> np.ndarray:
    last = models[-1]
    return np.concatenate(
        [m if isinstance(m, np.ndarray) else m.cluster_centers_ for m in last]
    ).astype(np.float32).reshape(len(last) * k, dim)


def faiss_per_node_assign(codebook: Codebook, x: np.ndarray) -> np.ndarray:
    """Our tree, walked one node at a time with a faiss flat index per node."""
    import faiss

    def search(level: int, node: int, pts: np.ndarray) -> np.ndarray:
        index = faiss.IndexFlatL2(codebook.dim)
        index.add(codebook.levels[level][node])
        return index.search(pts, 1)[1][:, 0]

    return _per_node_walk(search, x, codebook.k, codebook.depth)


def _per_node_walk(child_of, x: np.ndarray, k: int, depth: int) -> np.ndarray:
    words = np.zeros(len(x), dtype=np.int64)
    todo = [(0, 0, np.arange(len(x)))]
    while todo:
        level, node, members = todo.pop()
        child = np.asarray(child_of(level, node, x[members]), dtype=np.int64)
        if level + 1 == depth:
            words[members] = node * k + child
            continue
        for c in range(k):
            subset = members[child == c]
            if len(subset):
                todo.append((level + 1, node * k + c, subset))
    return words


def quantisation_error(x: np.ndarray, words: np.ndarray, leaf: np.ndarray) -> float:
    return float(((x - leaf[words]) ** 2).sum(1).mean())


def timed(fn, *args):
    started = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="vectors to fit on")
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--k", type=int, default=12)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--assign-n", type=int, default=10_000, help="vectors to assign")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-sklearn", action="store_true", help="skip the (slow) baseline fit")
    parser.add_argument(
        "--quick", action="store_true", help="n=20000, dim=256, depth=3, one thread (CI smoke)"
    )
    parser.add_argument(
        "--threads", type=int, help="cap threads of faiss, torch and BLAS (default: all cores)"
    )
    args = parser.parse_args()
    if args.quick:
        args.n, args.dim, args.depth, args.assign_n = 20_000, 256, 3, 5_000
        # one thread: OpenMP/BLAS threads spinning on a shared CI machine take minutes here
        args.threads = args.threads or 1
    if args.threads:
        import faiss
        import torch
        from threadpoolctl import threadpool_limits

        faiss.omp_set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)  # numpy's and sklearn's BLAS / OpenMP pools

    import faiss  # imported before any memory is measured: library pages are not the fit's
    import sklearn.cluster  # noqa: F401
    import torch  # noqa: F401

    x = clustered_data(args.n, args.dim, args.seed)
    probe = x[np.random.default_rng(args.seed + 1).choice(args.n, args.assign_n, replace=False)]
    per10k = 10_000 / args.assign_n
    print(
        f"codebook benchmark: fit on {args.n} x {args.dim} float32 ({x.nbytes / 1e9:.2f} GB), "
        f"k={args.k} depth={args.depth} ({args.k**args.depth} words); assign {args.assign_n}; "
        f"{os.cpu_count()} CPUs, threads {args.threads or 'all'}, load {os.getloadavg()[0]:.1f}, "
        f"{platform.processor() or platform.machine()}",
        flush=True,
    )

    with PeakRSS() as ours_mem:
        codebook, ours_fit = timed(
            lambda: Codebook.fit(
                x, args.k, args.depth, args.seed, progress=False, threads=args.threads
            )
        )
    codebook.assign(probe[:100])  # warm-up (torch import, thread pool)
    ours_words, ours_assign = timed(codebook.assign, probe)
    loop_words, loop_assign = timed(faiss_per_node_assign, codebook, probe)
    agree = float((ours_words == loop_words).mean())
    ours_err = quantisation_error(probe, ours_words, codebook.leaf_centroids)
    ours_used = len(np.unique(codebook.assign(x)))

    rows = [
        ("fit (s)", f"{ours_fit:.1f}"),
        ("peak memory over the data (GB)", f"{ours_mem.gb:.2f}"),
        ("assign, batched walk (s / 10k)", f"{ours_assign * per10k:.3f}"),
        ("assign, per-node faiss loop (s / 10k)", f"{loop_assign * per10k:.3f}"),
        ("quantisation error (mean sq. dist)", f"{ours_err:.1f}"),
        ("words used (of all fitted vectors)", f"{ours_used}"),
    ]
    base = ["-"] * len(rows)
    if not args.no_sklearn:
        with PeakRSS() as sk_mem:
            models, sk_fit = timed(sklearn_fit, x, args.k, args.depth, args.seed)
        sk_words, sk_assign = timed(sklearn_assign, models, probe, args.k)
        sk_leaf = sklearn_leaf_centroids(models, args.k, args.dim)
        sk_err = quantisation_error(probe, sk_words, sk_leaf)
        sk_used = len(np.unique(sklearn_assign(models, x, args.k)))
        base = [f"{sk_fit:.1f}", f"{sk_mem.gb:.2f}", "-", f"{sk_assign * per10k:.3f}",
                f"{sk_err:.1f}", f"{sk_used}"]

    print(f"\n{'':40s} {'ours (faiss)':>14s} {'sklearn MiniBatchKMeans':>24s}")
    for (name, ours), theirs in zip(rows, base, strict=True):
        print(f"{name:40s} {ours:>14s} {theirs:>24s}")
    if not args.no_sklearn:
        print(f"\nfit speed-up: {sk_fit / ours_fit:.1f}x; assignment speed-up over the sklearn "
              f"tree: {sk_assign / ours_assign:.1f}x, over the per-node faiss loop: "
              f"{loop_assign / ours_assign:.1f}x")
    print(f"batched walk == per-node faiss loop on {agree:.2%} of vectors "
          "(float rounding can flip exact ties)")


if __name__ == "__main__":
    main()
