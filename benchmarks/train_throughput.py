"""Training throughput: tunelab's trainer vs a minimal hand-written PyTorch loop.

Both train the same model on the same data, alternating in one run, with a validation pass
after every epoch. Prints images per second for each and their ratio at batch sizes 32
and 128, in fp32, and tunelab's bf16 (+ channels-last) against the hand-written fp32 loop.

    python benchmarks/train_throughput.py [--data DIR] [--rounds 3] [--epochs 3]

Targets (issue 2): fp32 tunelab >= 0.95x the hand-written loop at both sizes; bf16 >= 1.8x
the hand-written fp32 loop at batch 128 with validation accuracy within 0.5 points.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from tunelab.data import load_dataset, stratified_split
from tunelab.models import create_model
from tunelab.training.trainer import train

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "piximi-mnist" / "labelled"


def hand_loop(dataset, train_idx, val_idx, *, model_name, batch_size, epochs, lr, seed):
    """The loop a PyTorch user writes by hand: index tensors, forward, backward, step."""
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
    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        for start in range(0, len(xt), batch_size):
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(xv).argmax(1) == yv).float().mean().item()
    seconds = time.perf_counter() - started
    return len(xt) * epochs / seconds, accuracy


def tunelab_loop(dataset, split, *, model_name, batch_size, epochs, lr, seed, precision, store):
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
    )
    summary = run.summary
    return len(split[0]) * epochs / summary["train_seconds"], summary["final_val_accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED) if SHARED.is_dir() else "digits")
    parser.add_argument("--model", default="simple-cnn")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.003)
    args = parser.parse_args()
    dataset = load_dataset(args.data)
    split = stratified_split(dataset.labels, 0.25, 0)
    print(
        f"data {args.data}: {len(dataset.labels)} images {dataset.images.shape[1:]}, "
        f"model {args.model}, {args.epochs} epochs x {args.rounds} rounds, "
        f"{torch.get_num_threads()} threads"
    )
    with tempfile.TemporaryDirectory() as store:
        for batch_size in (32, 128):
            rates: dict[str, list[float]] = {
                "hand fp32": [],
                "tunelab fp32": [],
                "tunelab bf16": [],
            }
            accs: dict[str, list[float]] = {key: [] for key in rates}
            # One untimed pass of each warms up PyTorch's lazily loaded kernels.
            warm = dict(model_name=args.model, batch_size=batch_size, epochs=1, lr=args.lr, seed=0)
            hand_loop(dataset, *split, **warm)
            tunelab_loop(dataset, split, precision="fp32", store=store, **warm)
            for round_ in range(args.rounds):
                common = dict(
                    model_name=args.model,
                    batch_size=batch_size,
                    epochs=args.epochs,
                    lr=args.lr,
                    seed=round_,
                )
                jobs = ["hand fp32", "tunelab fp32", "tunelab bf16"]
                for key in jobs if round_ % 2 == 0 else reversed(jobs):  # alternate the order
                    if key == "hand fp32":
                        rate, acc = hand_loop(dataset, *split, **common)
                    else:
                        precision = key.split()[1]
                        rate, acc = tunelab_loop(
                            dataset, split, precision=precision, store=store, **common
                        )
                    rates[key].append(rate)
                    accs[key].append(acc)
            base = statistics.median(rates["hand fp32"])
            print(f"\nbatch size {batch_size}")
            for key, values in rates.items():
                median = statistics.median(values)
                print(
                    f"  {key:13s} {median:9.0f} images/s  ratio to hand fp32 "
                    f"{median / base:5.2f}x  val accuracy {statistics.median(accs[key]):.3f}"
                )


if __name__ == "__main__":
    main()
