"""The learning-rate range test ("lr finder", Smith 2015; as in fastai).

Starting from the freshly initialised model, the learning rate grows exponentially from
``start`` (1e-7) to ``end`` (10) over ``steps`` (100) optimizer steps, one batch each,
cycling over the training split. The loss is smoothed exponentially (``beta`` 0.98 with
bias correction) and the test stops once the smoothed loss exceeds 4x the lowest seen
(it diverged). Afterwards the model's weights and the optimizer's state are restored.

Suggestions, computed like fastai's on the smoothed curve without its first tenth and
last five points:

- ``valley``: fastai's valley - the longest descending stretch of the curve, and a point
  two thirds down it (``lrs[start + int(len/3) + int(len/6)]``). **This is the one
  recommended** (``LRFinderResult.suggested``, and what ``--learning-rate auto`` uses): it
  is fastai's default because it sits where the loss is still falling fast yet far from
  the cliff, and it is less fooled by noise than the steepest point.
- ``steep``: where the smoothed loss falls fastest against log(lr).
- ``minimum``: a tenth of the learning rate with the lowest smoothed loss.

Every suggestion lies in ``[start, end]``. The model, loss and optimizer are built from
the knobs exactly as :func:`tunelab.training.trainer.train` builds them; the schedule,
epochs and early stopping do not apply here.

>>> result = find_lr("digits", batch_size=32)  # doctest: +SKIP
>>> result.suggested, result.suggestions  # doctest: +SKIP
(0.0025, {'valley': 0.0025, 'steep': 0.0012, 'minimum': 0.0091})
>>> plot_lr_find(result, "lr-find.png")  # tunelab.report.lr_find  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from tunelab.data import ImageDataset
from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters
from tunelab.training.device import Precision, choose_device, resolve_precision, set_threads
from tunelab.training.loop import Batches
from tunelab.training.setup import build_training, load_init, resolve_dataset, transfer_optimizer
from tunelab.training.step import Augment, augmenter, grad_scaler, train_step

if TYPE_CHECKING:
    from tunelab.runs import RunStore
    from tunelab.training.transfer import Source

RECOMMENDED = "valley"


@dataclass
class LRFinderResult:
    """The curve of a range test and the learning rates it suggests."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestions: dict[str, float]
    start: float
    end: float
    steps: int
    diverged: bool
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    @property
    def suggested(self) -> float:
        """The recommended learning rate: the ``valley`` suggestion."""
        return self.suggestions[RECOMMENDED]

    def to_dict(self) -> dict[str, Any]:
        return {
            "suggested": self.suggested,
            "recommended": RECOMMENDED,
            "suggestions": dict(self.suggestions),
            "start": self.start,
            "end": self.end,
            "steps_planned": self.steps,
            "steps_run": len(self.lrs),
            "diverged": self.diverged,
            "lrs": list(self.lrs),
            "losses": list(self.losses),
            "smoothed": list(self.smoothed),
            "hyperparameters": dict(self.hyperparameters),
        }


def find_lr(
    data: str | Path | ImageDataset,
    hyperparameters: Hyperparameters | dict[str, Any] | None = None,
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    beta: float = 0.98,
    diverge_factor: float = 4.0,
    skip_bad: bool = False,
    split: tuple[np.ndarray, np.ndarray] | None = None,
    source: Source | None = None,
    store: RunStore | None = None,
    **knobs: Any,
) -> LRFinderResult:
    """Run the range test on ``data`` with the model/optimizer/loss the knobs describe.

    ``learning_rate`` (if given) is ignored: the test sweeps it. Only the training split
    (``validation_fraction``, ``seed``) is used, so the validation images stay unseen.
    With ``init_from`` the test starts from those weights (``source``, else loaded from
    ``store``), as the run will: the head alone while ``freeze_epochs`` > 0, else the
    backbone at ``backbone_lr_factor`` x the swept rate.
    """
    check_range(start, end, steps)
    knobs = {k: v for k, v in knobs.items() if k != "learning_rate"}
    if isinstance(hyperparameters, Hyperparameters):
        hp = hyperparameters.replace(**knobs) if knobs else hyperparameters  # validated already
    else:
        base = {k: v for k, v in (hyperparameters or {}).items() if k != "learning_rate"}
        hp = Hyperparameters.parse({**base, **knobs})
    dataset = resolve_dataset(data, hp, skip_bad)
    set_threads(hp.threads)
    if split is None:
        split = dataset.split(hp.validation_fraction, hp.validation_seed, hp.use_manifest_split)[:2]
    train_idx = split[0]
    device = choose_device(hp.device)
    precision = resolve_precision(hp.precision, device)
    model, loss_fn, optimizer = build_training(dataset, hp, device, precision, lr=start)
    if hp.init_from:
        optimizer = _start_from(model, hp, dataset, source, store, start) or optimizer
    batches = Batches.from_arrays(
        dataset.images[train_idx], dataset.labels[train_idx], dataset.max_value, device
    )
    augment = augmenter(list(hp.augment))
    lrs, losses, smoothed, diverged = range_test(
        model,
        loss_fn,
        optimizer,
        batches,
        start=start,
        end=end,
        steps=steps,
        batch_size=min(hp.batch_size, len(batches)),
        device=device,
        precision=precision,
        seed=hp.seed,
        beta=beta,
        diverge_factor=diverge_factor,
        gradient_clip=hp.gradient_clip,
        augment=augment,
    )
    if not lrs:
        raise TunelabError(
            f"the learning-rate range test got no finite loss, even at lr {start:g}: the "
            "model or loss produces NaN from the start. Check the data and knobs, or try "
            "--precision fp32."
        )
    return LRFinderResult(
        lrs=lrs,
        losses=losses,
        smoothed=smoothed,
        suggestions=suggest(lrs, smoothed, steps, start, end),
        start=start,
        end=end,
        steps=steps,
        diverged=diverged,
        hyperparameters={**hp.model_dump(mode="json"), "learning_rate": None},
    )


def _start_from(
    model: nn.Module,
    hp: Hyperparameters,
    dataset: ImageDataset,
    source: Source | None,
    store: RunStore | None,
    lr: float,
) -> torch.optim.Optimizer | None:
    """Load ``init_from``'s weights into ``model`` as ``train()`` does; a new optimizer
    when the backbone gets its own learning rate."""
    from tunelab.runs import RunStore
    from tunelab.training.transfer import backbone_and_head, load_source

    assert hp.init_from is not None
    if source is None:
        source = load_source(hp.init_from, store if store is not None else RunStore(None))
    load_init(model, source, hp, dataset)
    if hp.freeze_epochs > 0:  # the first epochs train the head only: so does the test
        for parameter in backbone_and_head(model)[0]:
            parameter.requires_grad_(False)
        return None
    return transfer_optimizer(model, hp, lr)


def check_range(start: float, end: float, steps: int) -> None:
    """One-line errors for a range the test cannot run."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise TunelabError(f"steps must be an integer >= 2 (got {steps!r}). Typical: 100; try 100.")
    for name, value in (("start", start), ("end", end)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise TunelabError(
                f"{name} must be a learning rate > 0 (got {value!r}). Typical: start 1e-7, end 10."
            )
    if start >= end:
        raise TunelabError(
            f"start must be below end (got start={start:g}, end={end:g}). Typical: start "
            "1e-7, end 10."
        )


def range_test(
    model: nn.Module,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Batches,
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    batch_size: int = 32,
    device: torch.device | None = None,
    precision: Precision | None = None,
    seed: int = 0,
    beta: float = 0.98,
    diverge_factor: float = 4.0,
    gradient_clip: float | None = None,
    augment: Augment | None = None,
) -> tuple[list[float], list[float], list[float], bool]:
    """Train one batch per learning rate; return ``(lrs, losses, smoothed, diverged)``.

    The model's weights, its train/eval mode and the optimizer's state are restored on the
    way out, whatever happens (Ctrl-C included). Non-finite losses end the test and are
    not recorded.
    """
    check_range(start, end, steps)
    device = device or torch.device("cpu")
    precision = (precision or resolve_precision("fp32", device)).for_model(model)
    weights = copy.deepcopy(model.state_dict())
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    was_training = model.training
    generator = torch.Generator().manual_seed(seed)
    scaler = grad_scaler(device, precision)
    n = len(batches)
    batch_size = max(1, min(batch_size, n))
    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    average, best, diverged = 0.0, math.inf, False
    order, position = torch.randperm(n, generator=generator), 0
    # groups keep their ratios (a transferred backbone at backbone_lr_factor x the head's)
    first = optimizer.param_groups[0]["lr"] or 1.0
    scales = [group["lr"] / first for group in optimizer.param_groups]
    try:
        model.train()
        for i in range(steps):
            lr = start * (end / start) ** (i / (steps - 1))
            for group, scale in zip(optimizer.param_groups, scales, strict=True):
                group["lr"] = lr * scale
            if position + batch_size > n:  # a new pass; full batches only
                order, position = torch.randperm(n, generator=generator), 0
            x, y = batches.get(order[position : position + batch_size], device)
            position += batch_size
            loss, _ = train_step(
                model,
                loss_fn,
                optimizer,
                x,
                y,
                device=device,
                precision=precision,
                generator=generator,
                scaler=scaler,
                gradient_clip=gradient_clip,
                augment=augment,
            )
            value = float(loss.item())
            if not math.isfinite(value):
                diverged = True
                break
            average = beta * average + (1 - beta) * value
            smooth = average / (1 - beta ** (i + 1))
            lrs.append(lr)
            losses.append(value)
            smoothed.append(smooth)
            best = min(best, smooth)
            if i > 0 and smooth > diverge_factor * best:
                diverged = True
                break
    finally:
        model.load_state_dict(weights)
        optimizer.load_state_dict(optimizer_state)
        model.train(was_training)
        optimizer.zero_grad(set_to_none=True)
    return lrs, losses, smoothed, diverged


def suggest(
    lrs: list[float], smoothed: list[float], steps: int, start: float, end: float
) -> dict[str, float]:
    """``valley``, ``steep`` and ``minimum`` suggestions (fastai's), clipped to the range."""
    low, high = steps // 10, len(lrs) - 5
    if high - low < 3:  # too short a curve to trim: use all of it
        low, high = 0, len(lrs)
    x = np.asarray(lrs[low:high], dtype=np.float64)
    y = np.asarray(smoothed[low:high], dtype=np.float64)
    found = {"valley": valley(x, y), "steep": steep(x, y), "minimum": minimum(x, y)}
    return {name: float(min(end, max(start, lr))) for name, lr in found.items()}


def valley(lrs: np.ndarray, losses: np.ndarray) -> float:
    """fastai's valley: the longest descending run, then two thirds of the way down it.

    ``lds[i]`` is the length of the longest decreasing subsequence ending at ``i``.
    """
    n = len(losses)
    lds = [1] * n
    max_start = max_end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
        if lds[max_end] < lds[i]:
            max_end = i
            max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    index = max_start + int(sections) + int(sections / 2)
    return float(lrs[min(max(index, 0), n - 1)])


def steep(lrs: np.ndarray, losses: np.ndarray) -> float:
    """The learning rate where the loss falls fastest against log(lr)."""
    if len(lrs) < 2:
        return float(lrs[0])
    slopes = np.diff(losses) / np.diff(np.log(lrs))
    return float(lrs[int(np.argmin(slopes))])


def minimum(lrs: np.ndarray, losses: np.ndarray) -> float:
    """A tenth of the learning rate with the lowest loss."""
    return float(lrs[int(np.argmin(losses))]) / 10


def resolve_auto_learning_rate(
    data: str | Path | ImageDataset,
    hyperparameters: Hyperparameters | dict[str, Any],
    *,
    skip_bad: bool = False,
    split: tuple[np.ndarray, np.ndarray] | None = None,
    source: Source | None = None,
) -> float:
    """The learning rate ``learning_rate: auto`` stands for: lr-find's ``valley``.

    The range test runs with the run's other knobs (its ``learning_rate`` is ignored) on
    ``split``'s training part when given (:func:`tunelab.training.trainer.train` passes
    the run's own), from ``source``'s weights with ``init_from``. A mapping is validated
    here, so a bad knob fails with its usual message. The suggestion is rounded to two
    significant digits and kept within the knob's range.
    """
    if not isinstance(hyperparameters, Hyperparameters):
        others = {k: v for k, v in hyperparameters.items() if k != "learning_rate"}
        hyperparameters = Hyperparameters.parse(others)
    result = find_lr(data, hyperparameters, skip_bad=skip_bad, split=split, source=source)
    return min(10.0, float(f"{result.suggested:.2g}"))
