"""Several trained networks as one: the weighted mean of their class probabilities.

An :class:`Ensemble` returns the *log* of that mean, so it is a classifier like any other
(softmax of its output gives the mean back; evaluation, prediction and ONNX or
TorchScript export treat it as a cross-entropy model). Its members keep their own losses:
each member's logits are turned into probabilities the way its loss reads them.

It is not in the model registry: it is not a choice of the ``model`` knob but what the
tuner builds from its best trials (:mod:`tunelab.trials.ensemble`), and what
:func:`tunelab.evaluation.load.load_model` rebuilds from such a run's ``model.json``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from tunelab.training.losses import probabilities

#: The floor under the mean probability before the log (a class no member believes in).
TINY = 1e-12


class Ensemble(nn.Module):
    """``log(sum_i w_i * p_i(x))`` over ``members`` with their ``losses`` and ``weights``."""

    def __init__(
        self, members: Sequence[nn.Module], losses: Sequence[str], weights: Sequence[float]
    ) -> None:
        super().__init__()
        if not members or not (len(members) == len(losses) == len(weights)):
            raise ValueError("an ensemble needs one loss and one weight per member, and members")
        total = float(sum(weights))
        if total <= 0 or any(w < 0 for w in weights):
            raise ValueError(f"ensemble weights must be >= 0 with a positive sum: {weights}")
        self.members = nn.ModuleList(members)
        self.losses = [str(loss) for loss in losses]
        self.weights: torch.Tensor
        self.register_buffer(
            "weights", torch.tensor([float(w) / total for w in weights]), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.zeros(())
        for i, (member, loss) in enumerate(zip(self.members, self.losses, strict=True)):
            mean = mean + self.weights[i] * probabilities(loss, member(x))
        return mean.clamp_min(TINY).log()
