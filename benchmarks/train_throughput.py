"""Training throughput: tunelab's trainer vs a minimal hand-written PyTorch loop.

Both train the same model (simple-cnn by default) on the same in-memory data with Adam
and cross-entropy, with one validation pass after every epoch, side by side in one run:
each round runs every method once with the round's seed (the order alternates between
rounds) after one untimed warm-up run of each. Printed per batch size: images per second
(median over rounds), the ratio to the hand-written fp32 loop (median of the per-round
ratios, with their min-max), validation accuracy, the FLOPs of an epoch and the fraction
of this machine's matmul peak reached (measured here with a large torch.mm).

The hand-written loop is what a PyTorch user writes: the data as two tensors, a shuffled
index per epoch, ``model(x[idx])``, ``F.cross_entropy``, ``opt.zero_grad()``,
``loss.backward()``, ``opt.step()`` (``torch.optim.Adam`` with PyTorch's defaults),
``loss.item()`` per batch for a running loss, and ``model(x_val)`` under ``no_grad``
once per epoch. Its clock runs from the first epoch to the end of the last validation.
tunelab's figure is ``train_seconds`` of the run (the whole epoch loop with its
callbacks, plus one final validation pass the hand loop does not make).

Each method is also timed in thread CPU time (``time.thread_time()``): the hand loop over
the same window as its clock, tunelab from its first epoch to the end of its last (every
epoch's training, validation and callbacks, the checkpoint included; not the final
validation pass), read by a callback. With ``--threads 1`` all of PyTorch's work runs on
the calling thread, so that clock counts the work and barely the other load on a shared
machine, where wall-clock ratios swing widely; the CPU-time ratio is printed beside the
wall-clock one (``cpu``). Without ``--threads 1`` it misses the other threads' work.

    python benchmarks/train_throughput.py [--data DIR] [--rounds 5] [--epochs 6]

Targets (issue 17), median of >= 3 runs of this script: tunelab fp32 >= 1.0x the hand
loop at batch 32 and 128; bf16 + channels-last >= 1.8x at batch 128 with equal validation
accuracy (where the CPU has native bf16); stretch: >= 1.5x at batch 32.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from tunelab.data import load_dataset, stratified_split
from tunelab.models import create_model
from tunelab.training.callbacks import Callback
from tunelab.training.device import cpu_supports_bf16
from tunelab.training.trainer import train

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "piximi-mnist" / "labelled"
METHODS = ("hand fp32", "tunelab fp32", "tunelab bf16")


def hand_loop(dataset, train_idx, val_idx, *, model_name, batch_size, epochs, lr, seed):
    """The loop a PyTorch user writes by hand (see the module docstring)."""
    torch.manual_seed(seed)
    x = torch.from_numpy(dataset.images).float() / dataset.max_value
    y = torch.as_tensor(dataset.labels, dtype=torch.long)
    xt, yt, xv, yv = x[train_idx], y[train_idx], x[val_idx], y[val_idx]
    _, c, h, w = x.shape
    model = create_model(
        model_name, in_channels=c, num_classes=len(dataset.class_names), input_size=(h, w)
    )
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    started, cpu_started = time.perf_counter(), time.thread_time()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        running = 0.0
        for start in range(0, len(xt), batch_size):
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            running += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            accuracy = (model(xv).argmax(1) == yv).float().mean().item()
    seconds, cpu_seconds = time.perf_counter() - started, time.thread_time() - cpu_started
    return len(xt) * epochs / seconds, len(xt) * epochs / cpu_seconds, accuracy


class CpuClock(Callback):
    """Thread CPU time of tunelab's epoch loop, from the first epoch to the end of the last."""

    def on_train_start(self, state) -> None:
        self.started = time.thread_time()

    def on_train_end(self, state) -> None:
        self.seconds = time.thread_time() - self.started


def tunelab_loop(dataset, split, *, model_name, batch_size, epochs, lr, seed, precision, store):
    """``tunelab.training.trainer.train`` with its defaults (Adam, cross-entropy)."""
    clock = CpuClock()
    run = train(
        dataset,
        store=store,
        split=split,
        model=model_name,
        batch_size=batch_size,
        epochs=epochs,
        learning_rate=lr,
        seed=seed,
        precision=precision,
        threads=torch.get_num_threads(),
        callbacks=[clock],
    )
    summary, images = run.summary, len(split[0]) * epochs
    return images / summary["train_seconds"], images / clock.seconds, summary["final_val_accuracy"]


def once(key: str, *, dataset, split, store, **common) -> tuple[float, float, float]:
    """One timed run of method ``key``: training images per second of wall-clock and of
    thread CPU time, and the validation accuracy."""
    if key == "hand fp32":
        return hand_loop(dataset, *split, **common)
    return tunelab_loop(dataset, split, precision=key.split()[1], store=store, **common)


def forward_flops(model_name: str, dataset, n: int) -> float:
    """Forward FLOPs (convolutions and matmuls) of the model on ``n`` images."""
    _, c, h, w = dataset.images.shape
    model = create_model(
        model_name, in_channels=c, num_classes=len(dataset.class_names), input_size=(h, w)
    )
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.rand(n, c, h, w))
    return float(counter.get_total_flops())


def matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of the best of ``repeats`` large square matmuls on this machine."""
    a, b = torch.rand(size, size).to(dtype), torch.rand(size, size).to(dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED) if SHARED.is_dir() else "digits")
    parser.add_argument("--model", default="simple-cnn")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--batch-sizes", default="32,128")
    parser.add_argument("--threads", type=int, default=None, help="torch threads for both")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dataset = load_dataset(args.data)
    split = stratified_split(dataset.labels, 0.25, 0)
    n_train, n_val = len(split[0]), len(split[1])
    native = cpu_supports_bf16()
    print(
        f"machine: {cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"native bf16 (AVX512-BF16/AMX): {'yes' if native else 'no'}, "
        f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} ({os.cpu_count()} cores)"
    )
    print(
        f"data {args.data}: {len(dataset.labels)} images {dataset.images.shape[1:]} "
        f"({n_train} train, {n_val} val), model {args.model}, "
        f"{args.epochs} epochs x {args.rounds} rounds"
    )
    peak32 = matmul_peak(torch.float32)
    peak16 = matmul_peak(torch.bfloat16)
    per_image = forward_flops(args.model, dataset, 64) / 64
    epoch_flops = per_image * (3 * n_train + n_val)  # forward + backward (2x) + validation
    print(
        f"matmul peak (2048^2 torch.mm, best of 5): fp32 {peak32 / 1e9:.0f} GFLOP/s, "
        f"bf16 {peak16 / 1e9:.0f} GFLOP/s"
    )
    print(
        f"FLOPs: {per_image / 1e6:.2f} MFLOP forward per image; {epoch_flops / 1e9:.2f} GFLOP "
        f"per epoch (3x forward for {n_train} training images + forward for {n_val} val)"
    )
    with tempfile.TemporaryDirectory() as store:
        for batch_size in (int(b) for b in args.batch_sizes.split(",")):
            rates: dict[str, list[float]] = {key: [] for key in METHODS}
            cpu_rates: dict[str, list[float]] = {key: [] for key in METHODS}
            accs: dict[str, list[float]] = {key: [] for key in METHODS}
            common = dict(
                dataset=dataset, split=split, store=store, model_name=args.model, lr=args.lr
            )
            for key in METHODS:  # warm-up: lazily loaded kernels, oneDNN primitives
                once(key, batch_size=batch_size, seed=0, epochs=1, **common)
            for round_ in range(args.rounds):
                for key in METHODS if round_ % 2 == 0 else reversed(METHODS):
                    rate, cpu_rate, acc = once(
                        key, batch_size=batch_size, seed=round_, epochs=args.epochs, **common
                    )
                    rates[key].append(rate)
                    cpu_rates[key].append(cpu_rate)
                    accs[key].append(acc)
            hand, cpu_hand = rates["hand fp32"], cpu_rates["hand fp32"]
            print(f"\nbatch size {batch_size}")
            for key in METHODS:
                ratios = [mine / base for mine, base in zip(rates[key], hand, strict=True)]
                cpu_ratios = [a / b for a, b in zip(cpu_rates[key], cpu_hand, strict=True)]
                median = statistics.median(rates[key])
                achieved = median / n_train * epoch_flops  # FLOP/s
                extra = f" ({100 * achieved / peak16:.1f}% of bf16)" if "bf16" in key else ""
                print(
                    f"  {key:13s} {median:7.0f} images/s  ratio to hand fp32 {spread(ratios)}  "
                    f"cpu {statistics.median(cpu_rates[key]):7.0f} images/s {spread(cpu_ratios)}  "
                    f"val accuracy {statistics.median(accs[key]):.3f}  "
                    f"{achieved / 1e9:5.1f} GFLOP/s = {100 * achieved / peak32:.1f}% of fp32 "
                    f"peak{extra}"
                )


if __name__ == "__main__":
    main()
