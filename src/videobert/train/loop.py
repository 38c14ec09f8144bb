"""The pretraining loop: one explicit code path for one process and ``torchrun`` DDP.

Every rank computes the same global batch of ``train.batch_size`` examples per optimizer step
and builds its own slice (split further into ``train.grad_accum`` micro-batches). Losses are
normalised by the target counts of the whole global batch, so the gradient - and the logged
loss - do not depend on how the batch is spread over ranks and micro-batches.

Run folder: ``config.yaml``, ``metrics.jsonl``, ``checkpoints/step-*/``, ``model/`` (the final
self-contained model folder).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from videobert.artifacts.corpus import Corpus
from videobert.epochs import seed_everything, warmup_schedule
from videobert.io import atomic_path
from videobert.log import get_logger
from videobert.model.videobert import PRESETS, VideoBert
from videobert.sequences.dataset import (
    TASK_NAMES,
    DataPosition,
    GlobalBatchSampler,
    PretrainDataset,
    collate,
    micro_batches,
    rank_slice,
)
from videobert.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from videobert.train.config import ModelSpec, PretrainConfig, TrainConfig
from videobert.train.objectives import (
    OBJECTIVES,
    alignment_correct,
    loss_sums,
    target_counts,
    weight_vector,
    weighted_loss,
)

_LOG = get_logger("pretrain")

# ---------------------------------------------------------------------------------------------
# Processes


@dataclasses.dataclass
class DistEnv:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = dataclasses.field(default_factory=lambda: torch.device("cpu"))
    owns_group: bool = False  # we initialised the process group, so we tear it down

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str | None = None) -> DistEnv:
    """From torchrun's ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``: gloo on CPU, NCCL on CUDA."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
    dev = torch.device(f"cuda:{local}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    owns = False
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
        owns = True
    return DistEnv(rank, world, local, dev, owns)


def all_reduce_sum(t: torch.Tensor, env: DistEnv) -> torch.Tensor:
    if env.world_size > 1:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def print0(env: DistEnv, *args: Any) -> None:
    """A progress line from the main process only (``videobert.log`` gates by rank; ``env``
    also gates here for a process group started without ``RANK`` in the environment)."""
    if env.is_main:
        _LOG.info(" ".join(str(a) for a in args))


# ---------------------------------------------------------------------------------------------
# Model, optimizer, schedule


def build_model(spec: ModelSpec, corpus: Corpus, clip_feature_dim: int = 0) -> VideoBert:
    """The preset size with the spec's dropout; random init or converted from a BERT."""
    layout = corpus.layout
    config = PRESETS[spec.size](
        layout, hidden_dropout=spec.hidden_dropout, attention_dropout=spec.attention_dropout,
        clip_feature_dim=clip_feature_dim,
    )
    if spec.init is None:
        model = VideoBert(config)
        model.freeze_input_embeddings(spec.freeze_input_embeddings)
        return model
    from videobert.artifacts.codebook import CodebookFolder
    from videobert.model.convert import videobert_from_bert

    centroids = None
    codebook = corpus.codebook_dir()
    if codebook is not None and (codebook / "centroids.npy").exists():
        centroids = CodebookFolder.open(codebook).centroids()
    bert = None if spec.init == "minilm" else spec.init
    return videobert_from_bert(bert, layout, config, centroids, spec.freeze_input_embeddings)


def build_optimizer(model: torch.nn.Module, cfg: TrainConfig,
                    fused: bool | None = None) -> torch.optim.AdamW:
    """AdamW; no weight decay on biases and LayerNorm weights (every 1-D parameter).
    ``fused``: None = the fused kernel wherever every parameter can take it."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    # The fused kernel updates every parameter in one pass: on CPU a tiny-preset pretraining
    # runs 1.26x faster than with the per-tensor loop (bench/demo_pretrain.py).
    if fused is None:
        fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps,
                             fused=fused)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig):
    return warmup_schedule(optimizer, cfg.warmup_steps, cfg.steps)


def autocast_context(cfg: TrainConfig, device: torch.device):
    bf16 = cfg.precision == "bf16" or (
        cfg.precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported()
    )
    if not bf16:
        return contextlib.nullcontext
    return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import psutil

    return psutil.Process().memory_info().rss / 2**20


# ---------------------------------------------------------------------------------------------
# Training batches, optionally built ahead by DataLoader workers


class TrainBatches(torch.utils.data.IterableDataset):
    """This rank's micro-batches of each optimizer step, from a data position onwards.

    Items are ``(position, [Batch] * grad_accum)``. With DataLoader workers, worker ``w`` of
    ``W`` builds steps ``w, w+W, ...`` and the DataLoader hands them out round-robin, so the
    order - and every example - is the same as without workers."""

    def __init__(self, dataset: PretrainDataset, sampler: GlobalBatchSampler,
                 start: DataPosition, rank: int, world_size: int, accumulation: int) -> None:
        self.dataset, self.sampler, self.start = dataset, sampler, start
        self.rank, self.world_size, self.accumulation = rank, world_size, accumulation

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        pad = self.dataset.layout.pad_id
        for k, (position, global_batch) in enumerate(self.sampler.stream(self.start)):
            if k % workers != worker:
                continue
            mine = rank_slice(global_batch, self.rank, self.world_size)
            yield position, [collate(self.dataset.examples(part, position.epoch), pad)
                             for part in micro_batches(mine, self.accumulation)]


def train_batches(dataset: PretrainDataset, sampler: GlobalBatchSampler, start: DataPosition,
                  env: DistEnv, cfg: TrainConfig):
    stream = TrainBatches(dataset, sampler, start, env.rank, env.world_size, cfg.grad_accum)
    if cfg.workers <= 0:
        return stream
    return torch.utils.data.DataLoader(
        stream, batch_size=None, num_workers=cfg.workers, prefetch_factor=4,
        pin_memory=env.device.type == "cuda",
        # its own generator: seeding the workers must not draw from the global torch RNG,
        # or the dropout masks (and so the losses) would depend on the worker count
        generator=torch.Generator().manual_seed(cfg.seed),
    )


# ---------------------------------------------------------------------------------------------
# Evaluation on the held-out videos


def eval_indices(dataset: PretrainDataset, max_examples: int, seed: int) -> np.ndarray:
    """Held-out examples to score: all four kinds of a fixed random subset of segments."""
    kinds = dataset.EVAL_KINDS
    n_segments = len(dataset) // kinds
    keep = n_segments if max_examples <= 0 else min(n_segments, max(1, max_examples // kinds))
    segments = np.sort(np.random.default_rng(seed).permutation(n_segments)[:keep])
    return (segments[:, None] * kinds + np.arange(kinds)).reshape(-1)


@torch.no_grad()
def evaluate(
    model: VideoBert,
    dataset: PretrainDataset,
    indices: np.ndarray,
    env: DistEnv,
    batch_size: int,
    autocast,
) -> dict[str, float]:
    """Per-objective held-out losses (mean over targets) and alignment accuracy.
    Collective: batches are spread over ranks and the sums all-reduced."""
    order = indices[np.argsort(dataset.lengths()[indices], kind="stable")]
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    sums = torch.zeros(len(OBJECTIVES), device=env.device, dtype=torch.float64)
    counts = torch.zeros_like(sums)
    correct = torch.zeros((), device=env.device, dtype=torch.float64)
    was_training = model.training
    model.eval()
    for part in batches[env.rank :: env.world_size]:
        batch = collate(dataset.examples(part), dataset.layout.pad_id).to(env.device)
        with autocast():
            out = model(batch.input_ids, batch.token_type_ids, batch.attention_mask,
                        batch.mlm_labels, batch.clip_features)
        sums += loss_sums(out, batch).double()
        counts += target_counts(batch).double()
        correct += alignment_correct(out.alignment_logits.float(), batch.alignment_labels)
    model.train(was_training)
    packed = all_reduce_sum(torch.cat([sums, counts, correct[None]]), env)
    sums, counts, correct = packed[:4], packed[4:8], packed[8]
    result = {f"eval/{k}": float(sums[i] / counts[i].clamp(min=1)) for i, k in
              enumerate(OBJECTIVES)}
    result["eval/alignment_acc"] = float(correct / counts[3].clamp(min=1))
    return result


# ---------------------------------------------------------------------------------------------
# Logging


class MetricsLog:
    """Rank-0 ``metrics.jsonl`` (one JSON object per line), TensorBoard optional."""

    def __init__(self, path: Path, env: DistEnv, tensorboard: bool, resume_step: int) -> None:
        self.path, self.enabled = path, env.is_main
        self.writer = None
        if not self.enabled:
            return
        if resume_step and path.exists():  # drop what was logged after the checkpoint
            kept = [ln for ln in path.read_text().splitlines()
                    if ln.strip() and json.loads(ln).get("step", 0) <= resume_step]
            with atomic_path(path) as tmp:
                tmp.write_text("".join(ln + "\n" for ln in kept))
        elif path.exists():
            path.unlink()
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(path.parent / "tensorboard"))
            except ImportError:
                _LOG.warning("tensorboard is not installed; logging to metrics.jsonl only")

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)):
                    self.writer.add_scalar(key, value, record["step"])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def format_line(record: dict[str, Any]) -> str:
    parts = [f"step {record['step']}"]
    for key, value in record.items():
        if key == "step":
            continue
        if isinstance(value, float):
            parts.append(f"{key} {value:.4g}")
        else:
            parts.append(f"{key} {value}")
    return " | ".join(parts)


# ---------------------------------------------------------------------------------------------
# The loop


@dataclasses.dataclass
class PretrainResult:
    run_dir: Path
    step: int  # optimizer steps done
    stopped_early: bool  # train.stop_after reached (a resume drill)
    history: list[dict[str, float]]  # per-step training losses of this invocation
    evals: list[dict[str, float]]  # evaluation records of this invocation
    model_dir: Path | None  # the final model folder (None when stopped early)


def _load_tokenizer(corpus: Corpus):
    """The corpus's tokenizer, to ship inside the model folder (None if the corpus names none)."""
    source = corpus.tokenizer_source()
    if source is None:
        _LOG.warning("the corpus names no tokenizer; the model folder will have none")
        return None
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(source)


def pretrain(
    corpus_dir: str | Path,
    run_dir: str | Path,
    config: PretrainConfig,
    resume: bool = False,
    device: str | None = None,
    save_tokenizer: bool = True,
) -> PretrainResult:
    """Multi-task pretraining of VideoBERT on a corpus folder; see the module docstring."""
    env = init_distributed(device)
    try:
        return _pretrain(env, Path(corpus_dir), Path(run_dir), config, resume, save_tokenizer)
    finally:
        if env.owns_group:
            dist.destroy_process_group()


@dataclasses.dataclass
class _Run:
    """Everything a pretraining run holds between steps (built by ``_setup``)."""

    env: DistEnv
    config: PretrainConfig
    run_dir: Path
    corpus: Corpus
    train_set: PretrainDataset
    val_set: PretrainDataset | None
    val_indices: Any
    sampler: GlobalBatchSampler
    model: VideoBert
    ddp: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    autocast: Callable[[], contextlib.AbstractContextManager]
    weights: torch.Tensor
    step: int
    position: DataPosition

    @property
    def ckpt_dir(self) -> Path:
        return self.run_dir / "checkpoints"


def _setup(env: DistEnv, corpus_dir: Path, run_dir: Path, config: PretrainConfig,
           resume: bool) -> _Run:
    """Data, model, optimizer and schedule, restored from the latest checkpoint on resume."""
    cfg = config.train
    per_rank, rem = divmod(cfg.batch_size, env.world_size * cfg.grad_accum)
    if rem or per_rank == 0:
        raise ValueError(f"train.batch_size={cfg.batch_size} must be a multiple of "
                         f"world_size x grad_accum = {env.world_size} x {cfg.grad_accum}")
    ckpt_dir = run_dir / "checkpoints"
    latest = latest_checkpoint(ckpt_dir)
    if latest is not None and not resume:
        raise FileExistsError(f"{run_dir} already has checkpoints ({latest.name}); "
                              "pass --resume to continue it or choose another --out")

    # Data: the same on every rank. Held-out videos never appear in training batches.
    corpus = Corpus.load(corpus_dir)
    train_ids, val_ids = corpus.split(config.data.val_fraction, cfg.seed)
    features = corpus.clip_features() if config.model.clip_features else None
    if features is not None:
        print0(env, f"clip features beside the visual words, {len(features)} videos")
    elif config.model.clip_features:
        _LOG.warning(f"{corpus_dir}: its codebook names no features folder that still exists; "
                     "the model reads visual words only (model.clip_features needs them)")
    views = corpus.clip_views() if config.data.view_prob > 0 else []
    if config.data.view_prob > 0:
        if views:
            print0(env, f"{len(views)} augmented view(s) of the clips, drawn for "
                        f"{config.data.view_prob:.0%} of the examples")
        else:
            _LOG.warning(f"{corpus_dir}: data.view_prob > 0 but its features folder has no "
                         "complete views (features.views); training on the plain clips")
    train_set = PretrainDataset(corpus, train_ids, config.data, cfg.seed, "train", features,
                                views)
    val_set = (PretrainDataset(corpus, val_ids, config.data, cfg.seed + 1, "eval", features)
               if val_ids else None)
    sampler = GlobalBatchSampler(train_set.lengths(), cfg.batch_size, cfg.seed,
                                 config.data.bucket_multiplier)
    # alignment negatives join after data.negative_start of the steps, counted in epochs so
    # that an example stays a pure function of (seed, epoch, index)
    train_set.negatives_from_epoch = math.floor(config.data.negative_start * cfg.steps
                                                / len(sampler))
    val_indices = eval_indices(val_set, cfg.eval_max_examples, cfg.seed) if val_set else None

    # Model: identical initial weights on every rank (same seed); DDP checks that anyway.
    seed_everything(cfg.seed)
    feature_dim = next(iter(features.values())).shape[1] if features else 0
    model = build_model(config.model, corpus, feature_dim).to(env.device)
    optimizer = build_optimizer(model, cfg)
    scheduler = build_scheduler(optimizer, cfg)
    seed_everything(cfg.seed + 1000 * (env.rank + 1))  # dropout masks differ per rank
    step, position = 0, DataPosition()
    if resume and latest is not None:
        state = load_checkpoint(latest, model, optimizer, scheduler, env.rank, env.device)
        step, position = int(state["step"]), DataPosition(**state["position"])
        saved = state.get("config", {})
        changed = [k for k in ("model", "data") if saved.get(k) != config.to_dict()[k]]
        if changed:
            print0(env, f"warning: the {' and '.join(changed)} config differs from the "
                        "checkpoint's; the resumed run will not repeat the interrupted one")
        if not state["rng_restored"]:  # resumed on another world size
            seed_everything(cfg.seed + 1000 * (env.rank + 1) + step)
        print0(env, f"resumed from {latest} at step {step} (epoch {position.epoch}, "
                    f"batch {position.batch})")
    elif resume:
        print0(env, f"no checkpoint in {ckpt_dir}; starting from scratch")

    if env.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(run_dir / "config.yaml") as tmp:
            tmp.write_text(config.to_yaml())
        print0(env, "resolved config:\n" + config.to_yaml().rstrip())
        print0(env, f"corpus {corpus_dir}: {len(train_set)} training segments from "
                    f"{len(train_ids)} videos, {len(val_ids)} held-out videos; "
                    f"{len(sampler)} steps per epoch; world size {env.world_size}; "
                    f"model {config.model.size} ({model.num_parameters():,} parameters) "
                    f"on {env.device}")

    ddp = model
    if env.world_size > 1:
        ddp = DistributedDataParallel(
            model, device_ids=[env.device.index] if env.device.type == "cuda" else None
        )
    return _Run(env, config, run_dir, corpus, train_set, val_set, val_indices, sampler, model,
                ddp, optimizer, scheduler, autocast_context(cfg, env.device),
                weight_vector(cfg.loss_weights, env.device), step, position)


@dataclasses.dataclass
class _StepResult:
    losses: dict[str, float]  # loss/<objective> and the weighted total "loss"
    grad_norm: float
    lr: float  # the rate this step used
    tokens: float  # tokens in the global batch
    task_share: torch.Tensor  # share of each example type in the global batch


def _train_step(run: _Run, micro: list[Any]) -> _StepResult:
    """One optimizer step on a global batch (this rank's micro-batches); losses are global."""
    env, cfg = run.env, run.config.train
    micro = [b.to(env.device) for b in micro]
    local = torch.stack([target_counts(b) for b in micro]).sum(0)
    tokens = torch.tensor([float(sum(b.num_tokens for b in micro))], device=env.device)
    tasks = sum(torch.bincount(b.task, minlength=len(TASK_NAMES)) for b in micro).float()
    packed = all_reduce_sum(torch.cat([local, tasks, tokens]), env)
    counts, global_tokens = packed[: len(OBJECTIVES)], float(packed[-1])
    task_share = packed[len(OBJECTIVES):-1] / packed[len(OBJECTIVES):-1].sum()
    sums = torch.zeros(len(OBJECTIVES), device=env.device)
    for i, batch in enumerate(micro):
        last = i == len(micro) - 1
        sync = run.ddp.no_sync() if (env.world_size > 1 and not last) else contextlib.nullcontext()
        with sync:
            with run.autocast():
                out = run.ddp(batch.input_ids, batch.token_type_ids, batch.attention_mask,
                              batch.mlm_labels, batch.clip_features)
            part = loss_sums(out, batch)
            # DDP averages gradients over ranks; scale by world size to get the global sum
            (weighted_loss(part, counts, run.weights) * env.world_size).backward()
        sums += part.detach()
    parameters = run.model.parameters
    if cfg.clip_grad > 0:
        grad_norm = float(torch.nn.utils.clip_grad_norm_(parameters(), cfg.clip_grad))
    else:
        grad_norm = float(torch.nn.utils.get_total_norm(
            [p.grad for p in parameters() if p.grad is not None]))
    lr = run.scheduler.get_last_lr()[0]
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    sums = all_reduce_sum(sums, env)
    losses = {f"loss/{k}": float(sums[i] / counts[i].clamp(min=1))
              for i, k in enumerate(OBJECTIVES)}
    losses["loss"] = float(weighted_loss(sums, counts, run.weights))
    return _StepResult(losses, grad_norm, lr, global_tokens, task_share)


def _save_model(run: _Run, save_tokenizer: bool) -> Path:
    model_dir = run.run_dir / "model"
    if run.env.is_main:
        tokenizer = _load_tokenizer(run.corpus) if save_tokenizer else None
        run.model.save_pretrained(model_dir, tokenizer=tokenizer,
                                  codebook_dir=run.corpus.codebook_dir())
        print0(run.env, f"model saved to {model_dir}")
    if run.env.world_size > 1:
        dist.barrier()
    return model_dir


def _pretrain(
    env: DistEnv, corpus_dir: Path, run_dir: Path, config: PretrainConfig, resume: bool,
    save_tokenizer: bool,
) -> PretrainResult:
    """The step loop: set up, then train, log, evaluate and checkpoint at their intervals."""
    run = _setup(env, corpus_dir, run_dir, config, resume)
    cfg = config.train
    log = MetricsLog(run_dir / "metrics.jsonl", env, cfg.tensorboard, run.step)
    history: list[dict[str, float]] = []
    evals: list[dict[str, float]] = []

    def run_eval(at: int) -> None:
        if run.val_set is None:
            return
        record = {"step": at, **evaluate(run.model, run.val_set, run.val_indices, env,
                                         cfg.eval_batch_size, run.autocast)}
        evals.append(record)
        log.write(record)
        print0(env, format_line(record))

    if run.step == 0:
        run_eval(0)
    batches = iter(train_batches(run.train_set, run.sampler, run.position, env, cfg))
    progress = tqdm(total=cfg.steps, initial=run.step, desc="pretrain",
                    disable=not env.is_main, dynamic_ncols=True)
    stopped = False
    window_tokens, window_start = 0.0, time.perf_counter()
    run.model.train()
    while run.step < cfg.steps:
        position, micro = next(batches)
        done = _train_step(run, micro)
        run.step += 1
        step = run.step
        position = run.position = DataPosition(position.epoch, position.batch + 1)
        losses = done.losses
        if not math.isfinite(losses["loss"]):
            raise FloatingPointError(f"non-finite loss at step {step}: {losses}; lower train.lr "
                                     "or check the corpus")
        history.append({"step": step, **losses})
        window_tokens += done.tokens
        progress.update(1)
        progress.set_postfix(loss=f"{losses['loss']:.3f}")

        if step % max(1, cfg.log_every) == 0 or step == cfg.steps:
            elapsed = max(time.perf_counter() - window_start, 1e-9)
            # which examples the step trained on: a joint share near 0 starves the video route
            shares = {f"share/{name}": round(float(done.task_share[i]), 4)
                      for i, name in enumerate(TASK_NAMES)}
            record = {"step": step, "epoch": position.epoch, **losses, **shares, "lr": done.lr,
                      "grad_norm": done.grad_norm, "tokens_per_s": window_tokens / elapsed,
                      "memory_mb": memory_mb(env.device)}
            log.write(record)
            print0(env, format_line(record))
            window_tokens, window_start = 0.0, time.perf_counter()
        if step == cfg.steps or (cfg.eval_every and step % cfg.eval_every == 0):
            run_eval(step)
        drill = cfg.stop_after and step == cfg.stop_after
        if step == cfg.steps or drill or (cfg.save_every and step % cfg.save_every == 0):
            save_checkpoint(run.ckpt_dir, step, run.model, run.optimizer, run.scheduler,
                            position, config.to_dict(), env.rank, env.world_size, cfg.keep_last)
        if drill and step < cfg.steps:
            stopped = True
            print0(env, f"stopping after step {step} (train.stop_after); resume with --resume")
            break
    progress.close()
    log.close()
    del batches  # stops DataLoader workers, if any
    model_dir = None if stopped else _save_model(run, save_tokenizer)
    return PretrainResult(run_dir, run.step, stopped, history, evals, model_dir)
