"""Activation registry: the nonlinearity every model uses for its hidden layers.

Example::

    from tunelab.models.activations import create_activation
    act = create_activation("gelu")  # nn.GELU()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from tunelab.errors import unknown_choice


@dataclass(frozen=True)
class ActivationInfo:
    """One activation: its name, a one-line description and a factory for a fresh module."""

    name: str
    description: str
    factory: Callable[[], nn.Module]
    # Piecewise linear and non-decreasing: act(max(a, b)) == max(act(a), act(b)), so a max
    # pool may run before it (4x fewer activations to compute): the same values, and the
    # same gradients but where rounding makes two different inputs equal after it.
    commutes_with_max: bool = False


ACTIVATIONS: dict[str, ActivationInfo] = {
    info.name: info
    for info in (
        ActivationInfo(
            "relu",
            "max(0, x): fast and reliable; the usual first choice.",
            nn.ReLU,
            commutes_with_max=True,
        ),
        ActivationInfo(
            "leaky-relu",
            "ReLU with a small slope (0.01) for x < 0, so units never go fully silent.",
            nn.LeakyReLU,
            commutes_with_max=True,
        ),
        ActivationInfo("elu", "Smooth ReLU variant whose negative outputs saturate at -1.", nn.ELU),
        ActivationInfo("gelu", "Smooth ReLU used by transformers; slightly slower.", nn.GELU),
        ActivationInfo("silu", "x * sigmoid(x) (swish): smooth, often a little better.", nn.SiLU),
        ActivationInfo(
            "tanh", "Squashes to (-1, 1); saturates, so deep nets learn slowly.", nn.Tanh
        ),
        ActivationInfo(
            "sigmoid", "Squashes to (0, 1); saturates, mostly of historical interest.", nn.Sigmoid
        ),
    )
}


def create_activation(name: str) -> nn.Module:
    """A new activation module for ``name``; unknown names raise :class:`TunelabError`."""
    try:
        info = ACTIVATIONS[name]
    except KeyError:
        raise unknown_choice("activation", name, ACTIVATIONS) from None
    return info.factory()
