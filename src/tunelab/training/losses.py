"""Loss registry: every loss is called as ``loss(logits, targets) -> scalar mean``.

``logits`` is ``(N, C)`` raw model output, ``targets`` is ``(N,)`` int64 class indices.
Losses defined on probabilities apply the softmax themselves, so every model outputs
plain logits. Custom losses compute in float32, so they are safe under bf16/fp16 autocast.

Example::

    from tunelab.training.losses import create_loss, probabilities
    loss_fn = create_loss("focal", num_classes=10, focal_gamma=2.0)
    loss = loss_fn(logits, targets)
    probs = probabilities("focal", logits)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tunelab.errors import TunelabError, unknown_choice

# Probabilities used by log-loss are clipped to [EPS, 1 - EPS], as Keras does.
EPS = 1e-7


def one_hot(targets: Tensor, num_classes: int) -> Tensor:
    """``(N,)`` class indices -> ``(N, C)`` float32 one-hot rows."""
    return F.one_hot(targets, num_classes).to(torch.float32)


class SigmoidCrossEntropy(nn.Module):
    """One-vs-rest binary cross-entropy on one-hot targets (a sigmoid per class).

    Summed over classes and averaged over the batch, so its scale matches categorical CE.
    """

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        target = one_hot(targets, self.num_classes)
        loss = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none")
        return loss.sum(dim=1).mean()


class ProbabilityRegression(nn.Module):
    """MSE or MAE between softmax probabilities and one-hot targets, mean over all entries."""

    def __init__(self, num_classes: int, kind: Literal["mse", "mae"]) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.kind = kind

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        probs = logits.float().softmax(dim=1)
        target = one_hot(targets, self.num_classes)
        if self.kind == "mse":
            return F.mse_loss(probs, target)
        return F.l1_loss(probs, target)


class HuberOnLogits(nn.Module):
    """Huber (delta 1) between the logits and one-hot targets, mean over all entries.

    On logits, not probabilities: on softmax outputs (all within 1 of the target) Huber
    would just be half the MSE. On logits it is a robust least-squares classifier that
    pushes the true class's score to 1 and the others to 0, and it learns quickly.
    """

    def __init__(self, num_classes: int, delta: float = 1.0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.delta = delta

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        target = one_hot(targets, self.num_classes)
        return F.huber_loss(logits.float(), target, delta=self.delta)


class LogLoss(nn.Module):
    """Keras-style log loss on softmax probabilities clipped to [eps, 1 - eps].

    ``-(y log p + (1 - y) log(1 - p))`` per class, mean over all entries.
    """

    def __init__(self, num_classes: int, eps: float = EPS) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.eps = eps

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        probs = logits.float().softmax(dim=1).clamp(self.eps, 1.0 - self.eps)
        target = one_hot(targets, self.num_classes)
        loss = -(target * probs.log() + (1.0 - target) * torch.log1p(-probs))
        return loss.mean()


class FocalLoss(nn.Module):
    """Softmax focal loss ``-(1 - p_t)^gamma log p_t`` (Lin et al., 2017), batch mean.

    ``gamma = 0`` is plain cross-entropy; larger gamma down-weights easy examples.
    """

    def __init__(self, gamma: float = 2.0) -> None:
        super().__init__()
        self.gamma = gamma

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        log_pt = logits.float().log_softmax(dim=1).gather(1, targets[:, None]).squeeze(1)
        weight = (1.0 - log_pt.exp()).clamp(min=0.0) ** self.gamma
        return -(weight * log_pt).mean()


@dataclass(frozen=True)
class LossInfo:
    """One registered loss.

    ``factory(num_classes, label_smoothing, focal_gamma)`` builds the module;
    ``output`` says how logits map to probabilities: ``"softmax"`` or ``"sigmoid"``.
    """

    name: str
    description: str
    factory: Callable[[int, float, float], nn.Module]
    output: Literal["softmax", "sigmoid"] = "softmax"


LOSSES: dict[str, LossInfo] = {
    info.name: info
    for info in (
        LossInfo(
            "cross-entropy",
            "Categorical cross-entropy on softmax; the standard choice.",
            lambda c, ls, g: nn.CrossEntropyLoss(),
        ),
        LossInfo(
            "sigmoid-cross-entropy",
            "One-vs-rest binary cross-entropy, a sigmoid per class.",
            lambda c, ls, g: SigmoidCrossEntropy(c),
            output="sigmoid",
        ),
        LossInfo(
            "hinge",
            "Multi-class hinge (SVM margin) loss on the raw scores.",
            lambda c, ls, g: nn.MultiMarginLoss(p=1, margin=1.0),
        ),
        LossInfo(
            "squared-hinge",
            "Squared multi-class hinge: punishes large margin violations more.",
            lambda c, ls, g: nn.MultiMarginLoss(p=2, margin=1.0),
        ),
        LossInfo(
            "huber",
            "Huber (delta 1) between logits and one-hot targets; robust to outliers.",
            lambda c, ls, g: HuberOnLogits(c),
        ),
        LossInfo(
            "mse",
            "Mean squared error between softmax probabilities and one-hot targets.",
            lambda c, ls, g: ProbabilityRegression(c, "mse"),
        ),
        LossInfo(
            "mae",
            "Mean absolute error on softmax probabilities; robust to label noise, slow.",
            lambda c, ls, g: ProbabilityRegression(c, "mae"),
        ),
        LossInfo(
            "log-loss",
            "Keras-style log loss on clipped softmax probabilities vs one-hot targets.",
            lambda c, ls, g: LogLoss(c),
        ),
        LossInfo(
            "focal",
            "Focal loss: cross-entropy that down-weights easy examples (focal_gamma).",
            lambda c, ls, g: FocalLoss(g),
        ),
        LossInfo(
            "label-smoothing",
            "Cross-entropy against smoothed targets (label_smoothing); curbs overconfidence.",
            lambda c, ls, g: nn.CrossEntropyLoss(label_smoothing=ls),
        ),
    )
}


def _info(name: str) -> LossInfo:
    try:
        return LOSSES[name]
    except KeyError:
        raise unknown_choice("loss", name, LOSSES) from None


def create_loss(
    name: str, num_classes: int, *, label_smoothing: float = 0.1, focal_gamma: float = 2.0
) -> nn.Module:
    """The loss module ``name`` for ``num_classes`` classes.

    ``label_smoothing`` is used only by ``label-smoothing``, ``focal_gamma`` only by
    ``focal``.
    """
    info = _info(name)
    if num_classes < 1:
        raise TunelabError(f"num_classes must be >= 1 (got {num_classes}).")
    if not 0.0 <= label_smoothing < 1.0:
        raise TunelabError(
            f"label_smoothing must be in [0, 1) (got {label_smoothing}). "
            "Typical values: 0.05 to 0.2; try 0.1."
        )
    if focal_gamma < 0.0:
        raise TunelabError(
            f"focal_gamma must be >= 0 (got {focal_gamma}). Typical values: 0.5 to 5; try 2."
        )
    return info.factory(num_classes, label_smoothing, focal_gamma)


def probabilities(name: str, logits: Tensor) -> Tensor:
    """``(N, C)`` class probabilities from ``logits``, as the loss ``name`` interprets them.

    Softmax for every loss except ``sigmoid-cross-entropy``, whose per-class sigmoid
    scores are normalised to sum to 1 so every loss yields a distribution per row.
    """
    logits = logits.float()
    if _info(name).output == "sigmoid":
        # sigmoid_i / sum_j sigmoid_j, computed in log space so it never divides by 0.
        return F.logsigmoid(logits).softmax(dim=1)
    return logits.softmax(dim=1)
