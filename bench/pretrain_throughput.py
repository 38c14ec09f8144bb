"""Pretraining throughput: our VideoBERT step against HF ``BertForPreTraining``-style training.

Both sides train the same size, the same joint vocabulary (30,522 WordPiece + ``[>]`` + 20,736
visual words = 12**4), on the same batches (realistic lengths: examples bucketed by length and
padded to their batch's longest), at the same precision (fp32 vs fp32; bf16 autocast vs bf16
autocast) and in the same process, one after the other. HF runs with
``attn_implementation="sdpa"``; its MLM head scores every position, ours only the ~15% masked.

Reported per configuration:
- useful tokens/s: real (non-padding) tokens trained per second, and the speed-up over HF;
- executed GFLOP/s: the FLOPs each step actually runs (padding, dense or sparse MLM head, attention
  included), as a share of this machine's measured matmul peak at that precision;
- model FLOPs utilisation (MFU): the FLOPs a model of this size needs for these tokens (our sparse
  head, real tokens only) per second, over the same peak. On a GPU at BERT-base size in bf16 this
  is the usual MFU figure.

    python bench/pretrain_throughput.py --quick               # a short run (make bench)
    python bench/pretrain_throughput.py                       # the figures in docs/benchmarks.md
    python bench/pretrain_throughput.py --device cuda --sizes tiny,minilm,base
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import platform
import time

import torch
import torch.nn.functional as F

from videobert.model.videobert import IGNORE_INDEX, PRESETS, VideoBert, VideoBertConfig
from videobert.vocab import VocabLayout

LAYOUT = VocabLayout(n_text=30522, n_visual=12**4, cls_id=101, sep_id=102, mask_id=103, pad_id=0)


# ---------------------------------------------------------------------------------------------
# Data: synthetic joint sequences with realistic lengths and BERT-style masking


@dataclasses.dataclass
class Batch:
    input_ids: torch.Tensor  # (B, T)
    token_type_ids: torch.Tensor  # (B, T)
    attention_mask: torch.Tensor  # (B, T) bool
    mlm_labels: torch.Tensor  # (B, T), IGNORE_INDEX where not predicted
    alignment: torch.Tensor  # (B,) float, 1 = text and video go together

    def to(self, device: str) -> Batch:
        return Batch(**{f.name: getattr(self, f.name).to(device) for f in dataclasses.fields(self)})

    @property
    def real_tokens(self) -> int:
        return int(self.attention_mask.sum())


def make_batches(n: int, batch_size: int, max_len: int, mask_prob: float, seed: int = 0):
    """``n`` batches of ``[CLS] text [>] video [SEP]`` examples; lengths between max_len/2 and
    max_len, bucketed (sorted) so a batch pads little, as a length-bucketing trainer does."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(max_len // 2, max_len + 1, (n * batch_size,), generator=g)
    lengths = lengths.sort().values.view(n, batch_size)
    batches = []
    for lens in lengths[torch.randperm(n, generator=g)]:
        T = int(lens.max())
        ids = torch.full((batch_size, T), LAYOUT.pad_id)
        types = torch.zeros((batch_size, T), dtype=torch.long)
        mask = torch.arange(T)[None] < lens[:, None]
        for i, length in enumerate(lens.tolist()):
            n_text = length // 3
            n_video = length - n_text - 3
            text = torch.randint(1000, LAYOUT.n_text, (n_text,), generator=g)
            video = LAYOUT.visual_offset + torch.randint(0, LAYOUT.n_visual, (n_video,),
                                                         generator=g)
            ids[i, :length] = torch.cat([torch.tensor([LAYOUT.cls_id]), text,
                                         torch.tensor([LAYOUT.video_sep_id]), video,
                                         torch.tensor([LAYOUT.sep_id])])
            types[i, n_text + 2:length] = 1
        special = torch.isin(ids, torch.tensor(LAYOUT.special_ids)) | ~mask
        chosen = (torch.rand(ids.shape, generator=g) < mask_prob) & ~special
        labels = torch.where(chosen, ids, IGNORE_INDEX)
        ids = torch.where(chosen, LAYOUT.mask_id, ids)
        align = (torch.rand(batch_size, generator=g) < 0.5).float()
        batches.append(Batch(ids, types, mask, labels, align))
    return batches


# ---------------------------------------------------------------------------------------------
# FLOP counting (multiply-add = 2 FLOPs; training = forward + 2x backward = 3x forward)


def step_flops(config: VideoBertConfig, batch: Batch, dense_head: bool, executed: bool) -> float:
    """FLOPs of one training step. ``executed``: count padding as the kernels do; else only real
    tokens (the model FLOPs these tokens need). ``dense_head``: MLM head on every position."""
    D, F_, L, V = (config.hidden_size, config.intermediate_size, config.num_layers,
                   config.vocab_size)
    B, T = batch.input_ids.shape
    lengths = torch.full((B,), T) if executed else batch.attention_mask.sum(1)
    tokens = float(lengths.sum())
    layer_params = 4 * D * D + 2 * D * F_  # QKV, output, two feed-forward matrices
    flops = 6 * layer_params * L * tokens
    flops += 3 * L * 4 * D * float((lengths.double() ** 2).sum())  # QK^T and AV
    head_rows = tokens if dense_head else float((batch.mlm_labels != IGNORE_INDEX).sum())
    flops += 6 * (D * D + D * V) * head_rows  # MLM transform + decoder
    flops += 6 * (D * D + 2 * D) * B  # pooler + alignment/NSP classifier
    return flops


# ---------------------------------------------------------------------------------------------
# The two training steps


def our_step(model: VideoBert, batch: Batch) -> torch.Tensor:
    out = model(batch.input_ids, batch.token_type_ids, batch.attention_mask, batch.mlm_labels)
    mlm = F.cross_entropy(out.mlm_logits.float(), out.mlm_targets)
    align = F.binary_cross_entropy_with_logits(out.alignment_logits.float(), batch.alignment)
    return mlm + align


def hf_step(model, batch: Batch) -> torch.Tensor:
    out = model(input_ids=batch.input_ids, token_type_ids=batch.token_type_ids,
                attention_mask=batch.attention_mask.long(), labels=batch.mlm_labels,
                next_sentence_label=(1 - batch.alignment).long())  # NSP class 0 = "is next"
    return out.loss


def hf_model(config: VideoBertConfig):
    from transformers import BertConfig, BertForPreTraining

    hf_config = BertConfig(
        vocab_size=config.vocab_size, hidden_size=config.hidden_size,
        num_hidden_layers=config.num_layers, num_attention_heads=config.num_heads,
        intermediate_size=config.intermediate_size, hidden_dropout_prob=config.hidden_dropout,
        attention_probs_dropout_prob=config.attention_dropout,
        max_position_embeddings=config.max_position_embeddings,
    )
    return BertForPreTraining._from_config(hf_config, attn_implementation="sdpa")


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_training(model, step_fn, batches, device, bf16, warmup, steps, label) -> float:
    """Seconds per step, averaged over ``steps`` after ``warmup`` (forward, backward, AdamW)."""
    from tqdm import tqdm

    model.train()
    # The same optimizer on both sides: fused AdamW (one pass over the parameters).
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4,
                            fused=True)
    autocast = torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16)
    start = 0.0
    for i in tqdm(range(warmup + steps), desc=label, leave=False, mininterval=2):
        if i == warmup:
            sync(device)
            start = time.perf_counter()
        with autocast:
            loss = step_fn(model, batches[i % len(batches)])
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    sync(device)
    if not math.isfinite(float(loss.detach())):
        raise RuntimeError(f"{label}: loss is {float(loss.detach())}")
    return (time.perf_counter() - start) / steps


# ---------------------------------------------------------------------------------------------
# Matmul peak


def matmul_peak(device: str, dtype: torch.dtype, seconds: float) -> float:
    """GFLOP/s of a large square torch.mm loop: the practical ceiling for these dense models."""
    n = 4096 if device.startswith("cuda") else 2048
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        torch.mm(a, b)
    sync(device)
    iters, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10 if device.startswith("cuda") else 1):
            torch.mm(a, b)
            iters += 1
        sync(device)
    return 2 * n**3 * iters / (time.perf_counter() - start) / 1e9


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sizes", default=None,
                        help=f"comma list of {list(PRESETS)} (default: tiny,minilm; +base on GPU)")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--seq-len", type=int, default=128, help="longest sequence in a batch")
    parser.add_argument("--mask-prob", type=float, default=0.15)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed steps (default: one pass over the distinct batch shapes)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--compile", action="store_true", help="torch.compile our model")
    parser.add_argument("--no-hf", action="store_true", help="skip the HF baseline")
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()

    device, cuda = args.device, args.device.startswith("cuda")
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = (args.sizes or ("tiny,minilm,base" if cuda else "tiny,minilm")).split(",")
    # A GPU needs large batches to be busy (at 64 x 128 tokens both sides are launch-bound);
    # at 512 HF's dense fp32 MLM logits no longer fit in 80 GB.
    batch_size = args.batch_size or (256 if cuda else 16)
    n_batches = 8  # distinct batches (shapes); on a GPU, warming up on each keeps one-off
    # kernel selection and allocator growth for a new shape out of the timed steps
    warmup = args.warmup if args.warmup is not None else (n_batches if cuda else 2)
    steps = args.steps or ((10 if cuda else 4) if args.quick else (30 if cuda else 15))
    peak_seconds = 1.0 if args.quick else 3.0

    print(f"device {device} ({torch.cuda.get_device_name() if cuda else platform.processor()}), "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpus {os.cpu_count()}")
    print(f"vocab {LAYOUT.size:,} = {LAYOUT.n_text:,} text + [>] + {LAYOUT.n_visual:,} visual; "
          f"batch {batch_size}, lengths {args.seq_len // 2}..{args.seq_len} bucketed, "
          f"mask {args.mask_prob:.0%}, {warmup} warm-up + {steps} timed steps")
    peaks = {}
    for precision in args.precisions.split(","):
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        peaks[precision] = matmul_peak(device, dtype, peak_seconds)
        print(f"matmul peak {precision}: {peaks[precision]:,.0f} GFLOP/s")

    batches = [b.to(device) for b in
               make_batches(n_batches, batch_size, args.seq_len, args.mask_prob, seed=0)]
    rows = []
    for size in sizes:
        config = PRESETS[size](LAYOUT)
        for precision in args.precisions.split(","):
            bf16 = precision == "bf16"
            torch.manual_seed(0)
            ours = VideoBert(config).to(device)
            step = our_step
            if args.compile:
                step = torch.compile(our_step)
            t_ours = time_training(ours, step, batches, device, bf16, warmup, steps,
                                   f"ours {size} {precision}")
            del ours
            t_hf = float("nan")
            if not args.no_hf:
                torch.manual_seed(0)
                hf = hf_model(config).to(device)
                try:
                    t_hf = time_training(hf, hf_step, batches, device, bf16, warmup, steps,
                                         f"HF {size} {precision}")
                except torch.OutOfMemoryError:
                    print(f"HF {size} {precision}: out of memory at batch {batch_size}")
                del hf
                if cuda:
                    torch.cuda.empty_cache()
            order = [batches[i % len(batches)] for i in range(warmup, warmup + steps)]
            real = sum(b.real_tokens for b in order) / steps
            ex_ours = sum(step_flops(config, b, False, True) for b in order) / steps
            ex_hf = sum(step_flops(config, b, True, True) for b in order) / steps
            useful = sum(step_flops(config, b, False, False) for b in order) / steps
            rows.append(dict(
                size=size, precision=precision, tok_ours=real / t_ours, tok_hf=real / t_hf,
                gf_ours=ex_ours / t_ours / 1e9, gf_hf=ex_hf / t_hf / 1e9,
                mfu=useful / t_ours / 1e9 / peaks[precision],
                peak=peaks[precision], params=config,
            ))
            r = rows[-1]
            print(f"{size:>6} {precision}: ours {r['tok_ours']:,.0f} tok/s, HF {r['tok_hf']:,.0f} "
                  f"tok/s -> {r['tok_ours'] / r['tok_hf']:.2f}x | executed GFLOP/s ours "
                  f"{r['gf_ours']:,.0f} ({r['gf_ours'] / r['peak']:.0%} of peak), HF "
                  f"{r['gf_hf']:,.0f} ({r['gf_hf'] / r['peak']:.0%}) | MFU ours {r['mfu']:.0%}",
                  flush=True)

    print("\n| size | hidden x layers | precision | ours tok/s | HF tok/s | speed-up | "
          "ours GFLOP/s (% peak) | HF GFLOP/s (% peak) | ours MFU |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        c = r["params"]
        print(f"| {r['size']} | {c.hidden_size} x {c.num_layers} | {r['precision']} | "
              f"{r['tok_ours']:,.0f} | {r['tok_hf']:,.0f} | {r['tok_ours'] / r['tok_hf']:.2f}x | "
              f"{r['gf_ours']:,.0f} ({r['gf_ours'] / r['peak']:.0%}) | "
              f"{r['gf_hf']:,.0f} ({r['gf_hf'] / r['peak']:.0%}) | {r['mfu']:.0%} |")


if __name__ == "__main__":
    main()
