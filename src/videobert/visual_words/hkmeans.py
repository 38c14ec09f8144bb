"""Hierarchical k-means visual words (VideoBERT: k=12, depth=4 -> 20736 words).

The tree is stored level by level: ``levels[l]`` has shape ``(k**l, k, D)`` and holds, for each
node of level ``l`` (in breadth-first order), the centroids of its ``k`` children. A vector's
word is the path of child choices read as a base-``k`` number, which is also the index of its
leaf in ``leaf_centroids``.

Assignment is a batched tree walk: at every level all vectors descend at once. Vectors are
grouped by their current node into fixed-height tiles, so one ``torch.bmm`` scores every tile
against its node's ``k`` children; each node's centroids are read once per tile instead of once
per vector (a per-vector gather would move ``k * D`` floats per vector per level, which makes a
tree walk memory-bound).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from videobert.io import atomic_path, read_json, write_json

TREE_FILE = "tree.npz"
CENTROIDS_FILE = "centroids.npy"
META_FILE = "meta.json"
LABEL_CHUNK = 4096  # node members labelled per faiss search (16 MiB of float32 at D=1024)

# Each node's k-means trains on at most this many points per centroid (faiss's own default
# subsampling); k-means centroids of 12 clusters are stable well before 256 * 12 points.
MAX_POINTS_PER_CENTROID = 256


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def as_float32(features: np.ndarray) -> np.ndarray:
    """Float32, C-contiguous, 2-D: what faiss and the tree walk need (copies only if needed)."""
    x = np.asarray(features)
    if x.ndim != 2:
        raise ValueError(f"features must be 2-D (n, dim), got shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float32)


def nearest(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest row of ``centroids`` (m, D) for each row of ``x`` (n, D).

    ``||x||^2`` is the same for every candidate, so ``||c||^2 - 2 x.c`` ranks them; ties go to the
    lowest index (so duplicated centroids always resolve to the first copy).
    """
    scores = (centroids * centroids).sum(1)[None, :] - 2.0 * (x @ centroids.T)
    return scores.argmin(1)


def _fill_children(points: np.ndarray, parent: np.ndarray, k: int) -> np.ndarray:
    """Children of a node with fewer than ``k`` points: the points themselves, repeated.

    The tree stays full (``k**depth`` word ids whatever the data); the duplicates never win an
    argmin against their first copy, so they stay unused words. An empty node's children are
    copies of the node's own centroid.
    """
    if len(points) == 0:
        return np.repeat(parent[None, :], k, axis=0)
    return points[np.arange(k) % len(points)].copy()


def kmeans_plus_plus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii, 2007): each new centre is drawn with probability
    proportional to the squared distance to the nearest centre so far. faiss starts from random
    points, which on well-separated data often puts two centres in one cluster for good."""
    sq = np.einsum("nd,nd->n", points, points, dtype=np.float64)  # (n,) ||p||^2
    pick = int(rng.integers(len(points)))
    picks = [pick]
    # ||p - c||^2 = ||p||^2 + ||c||^2 - 2 p.c: no (n, D) temporaries
    d2 = np.maximum(sq + sq[pick] - 2.0 * (points @ points[pick]), 0.0)
    for _ in range(1, k):
        total = d2.sum()
        n = len(points)
        pick = int(rng.integers(n) if total <= 0 else rng.choice(n, p=d2 / total))
        picks.append(pick)
        d2 = np.minimum(d2, np.maximum(sq + sq[pick] - 2.0 * (points @ points[pick]), 0.0))
    return points[picks].astype(np.float32)


def _kmeans(points: np.ndarray, k: int, seed: int, niter: int) -> np.ndarray:
    """Centroids ``(k, D)`` of ``points``: k-means++ seeding, then faiss's Lloyd iterations."""
    import faiss  # imported here: only fitting needs it

    km = faiss.Kmeans(
        points.shape[1],
        k,
        niter=niter,
        seed=seed,
        verbose=False,
        min_points_per_centroid=1,  # small leaf nodes are expected; don't warn for each one
        max_points_per_centroid=-(-len(points) // k),  # the caller has subsampled already
    )
    km.train(points, init_centroids=kmeans_plus_plus(points, k, np.random.default_rng(seed)))
    return np.asarray(km.centroids, dtype=np.float32).reshape(k, points.shape[1])


def _children_of_node(x, members, parent, k, seed, niter, max_ppc):
    """Fit one node in a worker thread: its children ``(k, D)`` and each member's child.

    Memory stays small whatever the node size: k-means trains on a seeded subsample of at most
    ``max_ppc * k`` members (as faiss would), and members are labelled in chunks.
    """
    import faiss

    # One OpenMP thread per worker (the setting is per calling thread): a node trains on at most
    # max_ppc * k points, too little work to share, and nodes run in parallel instead.
    faiss.omp_set_num_threads(1)
    if len(members) < k:
        points = x[members]
        children = _fill_children(points, parent, k)
        return children, nearest(points, children) if len(points) else np.zeros(0, np.int64)
    rng = np.random.default_rng(seed)
    limit = max_ppc * k
    train = members if len(members) <= limit else np.sort(rng.choice(members, limit, False))
    children = _kmeans(x[train], k, seed, niter)
    index = faiss.IndexFlatL2(children.shape[1])
    index.add(children)
    labels = np.empty(len(members), dtype=np.int64)
    for start in range(0, len(members), LABEL_CHUNK):
        rows = x[members[start : start + LABEL_CHUNK]]
        labels[start : start + len(rows)] = index.search(rows, 1)[1][:, 0]
    return children, labels


def fit_levels(
    features: np.ndarray,
    k: int,
    depth: int,
    seed: int = 0,
    niter: int = 20,
    max_points_per_centroid: int = MAX_POINTS_PER_CENTROID,
    progress: bool = True,
    threads: int | None = None,
) -> list[np.ndarray]:
    """Fit the hierarchy; returns ``levels`` (level ``l``: ``(k**l, k, D)`` float32).

    The data is never copied per level: each level keeps one int array of node ids, and a
    worker gathers only its node's training subsample and one chunk of members at a time.
    Nodes of a level are fitted in parallel by ``threads`` worker threads (None: one
    per CPU), each running faiss single-threaded; faiss releases the GIL. Per-node seeds make
    the tree independent of the number of threads and of scheduling.
    """
    from tqdm.auto import tqdm

    if k < 2 or depth < 1:
        raise ValueError(f"need k >= 2 and depth >= 1, got k={k}, depth={depth}")
    x = as_float32(features)
    n, dim = x.shape
    if n == 0:
        raise ValueError("cannot fit a codebook on zero vectors")
    workers = max(1, threads or usable_cpus())
    node_of = np.zeros(n, dtype=np.int64)  # node of each vector at the current level
    levels: list[np.ndarray] = []
    parents = x.mean(0, keepdims=True)  # centroid of each node of the current level
    bar = tqdm(total=sum(k**lv for lv in range(depth)), desc="k-means nodes", disable=not progress)
    with ThreadPoolExecutor(workers) as pool:
        for level in range(depth):
            n_nodes = k**level
            first_id = (n_nodes - 1) // (k - 1)  # nodes in the levels above: a global node id
            order = np.argsort(node_of, kind="stable")
            bounds = np.searchsorted(node_of[order], np.arange(n_nodes + 1))
            members = [order[bounds[i] : bounds[i + 1]] for i in range(n_nodes)]
            jobs = [
                pool.submit(
                    _children_of_node, x, members[i], parents[i], k,
                    seed * 1_000_003 + first_id + i, niter, max_points_per_centroid,
                )
                for i in range(n_nodes)
            ]
            children = np.empty((n_nodes, k, dim), dtype=np.float32)
            next_node = np.empty_like(node_of)
            for i, job in enumerate(jobs):
                children[i], child = job.result()
                next_node[members[i]] = i * k + child
                bar.update(1)
            levels.append(children)
            parents = children.reshape(n_nodes * k, dim)
            node_of = next_node
    bar.close()
    return levels


def squared_norms(levels: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``||c||^2`` of every child centroid, per level ``(k**l, k)`` (computed once per tree)."""
    return [np.einsum("nkd,nkd->nk", lv, lv) for lv in levels]


def walk(
    levels: Sequence[np.ndarray],
    features: np.ndarray,
    batch_size: int = 32768,
    norms: Sequence[np.ndarray] | None = None,
    return_distances: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Batched tree walk: the word (leaf index) of every vector, int64.

    ``norms``: ``squared_norms(levels)``, if the caller keeps them (``Codebook`` does).
    ``return_distances``: also return each vector's squared distance to its word's centroid
    (float32), from the last level's scores: no second pass over the centroids.
    """
    import torch

    x_all = as_float32(features)
    k = levels[0].shape[1]
    dim = levels[0].shape[2]
    if x_all.shape[1] != dim:
        raise ValueError(f"features have dim {x_all.shape[1]}, codebook has dim {dim}")
    tables = [torch.from_numpy(np.ascontiguousarray(lv)) for lv in levels]  # (k**l, k, D)
    norms = squared_norms(levels) if norms is None else norms
    sq_norms = [torch.from_numpy(np.ascontiguousarray(n, dtype=np.float32)) for n in norms]
    # scratch tensors reused across levels and batches (see _buffer)
    scratch: dict[str, torch.Tensor] = {}
    words = np.empty(len(x_all), dtype=np.int64)
    distances = np.empty(len(x_all), dtype=np.float32)
    for start in range(0, len(x_all), batch_size):
        x = torch.from_numpy(x_all[start : start + batch_size])  # (B, D)
        # the root has one node: a plain matmul against its k children
        best, node = (sq_norms[0][0][None, :] - 2.0 * (x @ tables[0][0].T)).min(1)  # (B,)
        for table, sq in zip(tables[1:], sq_norms[1:], strict=True):
            best, child = _descend(x, node, table, sq, scratch)
            node = node * k + child
        words[start : start + len(x)] = node.numpy()
        if return_distances:  # ||x - c||^2 = ||x||^2 + (||c||^2 - 2 x.c)
            distances[start : start + len(x)] = (best + (x * x).sum(1)).clamp_(min=0).numpy()
    return (words, distances) if return_distances else words


def _descend(x, node, table, sq_norm, scratch):
    """Best score and child index (B,) of each vector among its node's ``k`` children, with
    one batched matmul (score = ``||c||^2 - 2 x.c``).

    Vectors are sorted by node and cut into tiles of ``height`` rows that each belong to one
    node (the last tile of a node is padded with copies of row 0, whose scores are ignored).
    """
    import torch

    b, dim = x.shape
    k = table.shape[1]
    order = torch.argsort(node, stable=True)  # (B,) vectors grouped by node
    present, counts = torch.unique_consecutive(node[order], return_counts=True)  # (P,)
    height = _tile_height(counts, k)
    tiles_per_node = (counts + height - 1) // height  # (P,)
    first_row = (torch.cumsum(tiles_per_node, 0) - tiles_per_node) * height  # (P,) padded layout
    group_start = torch.cumsum(counts, 0) - counts  # (P,) sorted layout
    group = torch.repeat_interleave(torch.arange(len(present)), counts)  # (B,) sorted layout
    dest = first_row[group] + torch.arange(b) - group_start[group]  # (B,) row in padded layout
    n_tiles = int(tiles_per_node.sum())
    source = torch.zeros(n_tiles * height, dtype=torch.int64)
    source[dest] = order
    tile_node = torch.repeat_interleave(present, tiles_per_node)  # (T,)
    rows = torch.index_select(x, 0, source, out=_buffer(scratch, "rows", (n_tiles * height, dim)))
    centroids = torch.index_select(  # (T, k, D)
        table, 0, tile_node, out=_buffer(scratch, "centroids", (n_tiles, k, dim))
    )
    dots = torch.bmm(  # (T, H, k)
        rows.view(n_tiles, height, dim),
        centroids.transpose(1, 2),
        out=_buffer(scratch, "dots", (n_tiles, height, k)),
    )
    scores = dots.mul_(-2.0).add_(sq_norm.index_select(0, tile_node)[:, None, :])  # (T, H, k)
    # min over children: the first index wins ties, like argmin
    best_sorted, child_sorted = scores.view(-1, k).index_select(0, dest).min(1)  # (B,)
    child = torch.empty_like(child_sorted)
    child[order] = child_sorted
    best = torch.empty_like(best_sorted)
    best[order] = best_sorted
    return best, child


def _tile_height(counts, k: int) -> int:
    """Rows per tile that move the fewest bytes: each tile reads ``height`` padded rows and its
    node's ``k`` centroids, so cost(h) = tiles(h) * (h + k) rows of D floats."""
    best, best_cost = 1, None
    for height in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        cost = int(((counts + height - 1) // height).sum()) * (height + k)
        if best_cost is None or cost < best_cost:
            best, best_cost = height, cost
    return best


def _buffer(scratch: dict, name: str, shape: tuple[int, ...]):
    """A float32 tensor of ``shape`` carved from a reused, growing flat buffer: fresh multi-MB
    allocations cost page faults that are slower than the gathers themselves."""
    import torch

    size = math.prod(shape)
    if name not in scratch or scratch[name].numel() < size:
        scratch[name] = torch.empty(max(size, 2 * scratch[name].numel() if name in scratch else 0))
    return scratch[name][:size].view(shape)


def walk_naive(levels: Sequence[np.ndarray], features: np.ndarray) -> np.ndarray:
    """Reference assignment: one vector at a time, exact float64 distances to each child.

    Slow and obviously correct; the tests check ``walk`` against it.
    """
    x_all = np.asarray(features, dtype=np.float64)
    k = levels[0].shape[1]
    words = np.empty(len(x_all), dtype=np.int64)
    for i, x in enumerate(x_all):
        node = 0
        for table in levels:
            d = ((table[node].astype(np.float64) - x) ** 2).sum(1)
            node = node * k + int(np.argmin(d))
        words[i] = node
    return words


class Codebook:
    """A fitted hierarchical k-means codebook: ``assign`` maps features to visual-word ids."""

    def __init__(self, levels: Sequence[np.ndarray], meta: dict[str, Any] | None = None) -> None:
        levels = [np.ascontiguousarray(lv, dtype=np.float32) for lv in levels]
        if not levels:
            raise ValueError("a codebook needs at least one level")
        k, dim = levels[0].shape[1], levels[0].shape[2]
        for lv_index, lv in enumerate(levels):
            if lv.shape != (k**lv_index, k, dim):
                raise ValueError(
                    f"tree level {lv_index} has shape {lv.shape}, expected {(k**lv_index, k, dim)}"
                )
        self.levels = levels
        self._norms: list[np.ndarray] | None = None  # cached by assign()
        self.meta: dict[str, Any] = dict(meta or {})
        self.meta.update(k=self.k, depth=self.depth, n_words=self.n_words)
        self.meta.setdefault("dim", self.dim)  # the rows' width: wider with word_columns

    @property
    def k(self) -> int:
        return int(self.levels[0].shape[1])

    @property
    def depth(self) -> int:
        return len(self.levels)

    @property
    def dim(self) -> int:
        return int(self.levels[0].shape[2])

    @property
    def n_words(self) -> int:
        return self.k**self.depth

    @property
    def leaf_centroids(self) -> np.ndarray:
        """``(n_words, D)`` float32; row ``w`` is visual word ``w``."""
        return self.levels[-1].reshape(self.n_words, self.dim)

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        k: int = 12,
        depth: int = 4,
        seed: int = 0,
        niter: int = 20,
        max_points_per_centroid: int = MAX_POINTS_PER_CENTROID,
        progress: bool = True,
        threads: int | None = None,
    ) -> Codebook:
        started = time.perf_counter()
        levels = fit_levels(
            features, k, depth, seed, niter, max_points_per_centroid, progress, threads
        )
        meta = {
            "seed": seed,
            "niter": niter,
            "sample_size": len(features),
            "fit_seconds": round(time.perf_counter() - started, 3),
        }
        return cls(levels, meta)

    def assign(
        self, features: np.ndarray, batch_size: int = 32768, return_distances: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Visual-word id (int64) of each row of ``features`` (any float dtype); with
        ``return_distances``, also the squared distance to the word's centroid (float32)."""
        if self._norms is None:
            self._norms = squared_norms(self.levels)
        return walk(self.levels, self.word_input(features), batch_size, self._norms,
                    return_distances)

    def word_input(self, features: np.ndarray) -> np.ndarray:
        """The part of each row the words were fit on: the columns ``meta["word_columns"]``
        (``[lo, hi)``, one block of rows with several streams: ``codebook.word_block``), else
        the whole row."""
        columns = self.meta.get("word_columns")
        if columns is None:
            return features
        lo, hi = (int(c) for c in columns)
        if features.shape[-1] < hi:
            raise ValueError(f"the codebook's words read columns {lo}:{hi} of each row, but "
                             f"the rows have {features.shape[-1]}")
        return features[..., lo:hi]

    def assign_naive(self, features: np.ndarray) -> np.ndarray:
        return walk_naive(self.levels, self.word_input(features))

    def save(self, folder: str | Path) -> None:
        """``centroids.npy``, ``tree.npz``, then ``meta.json`` last (its presence = complete)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / CENTROIDS_FILE) as tmp, open(tmp, "wb") as f:
            np.save(f, self.leaf_centroids)
        arrays = {f"level_{i}": lv for i, lv in enumerate(self.levels)}
        with atomic_path(folder / TREE_FILE) as tmp, open(tmp, "wb") as f:
            np.savez(f, k=np.int64(self.k), depth=np.int64(self.depth), **arrays)
        write_json(folder / META_FILE, self.meta)

    @classmethod
    def load(cls, folder: str | Path) -> Codebook:
        folder = Path(folder)
        tree_path = folder / TREE_FILE
        if not tree_path.exists():
            raise FileNotFoundError(f"{tree_path}: no codebook here (run `videobert codebook`)")
        try:
            with np.load(tree_path) as tree:
                depth = int(tree["depth"])
                levels = [tree[f"level_{i}"] for i in range(depth)]
        except (KeyError, ValueError, OSError) as exc:
            raise ValueError(f"{tree_path}: not a codebook tree ({exc})") from exc
        meta_path = folder / META_FILE
        meta = read_json(meta_path) if meta_path.exists() else {}
        return cls(levels, meta)

    def __repr__(self) -> str:
        return f"Codebook(k={self.k}, depth={self.depth}, n_words={self.n_words}, dim={self.dim})"
