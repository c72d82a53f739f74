"""``mlp``: a multi-layer perceptron on the flattened image (no convolutions)."""

from __future__ import annotations

import math

from torch import Tensor, nn

from tunelab.models.activations import create_activation
from tunelab.models.registry import register_model

# Images are average-pooled so their longer side is at most this many pixels before
# flattening; a 16-channel 256x256 image would otherwise need a 1 GB first layer.
MAX_SIDE = 64


def pooled_size(input_size: tuple[int, int], max_side: int = MAX_SIDE) -> tuple[int, int]:
    """The (h, w) the MLP flattens: ``input_size`` shrunk by an integer factor to fit."""
    factor = math.ceil(max(input_size) / max_side)
    return (math.ceil(input_size[0] / factor), math.ceil(input_size[1] / factor))


class MLP(nn.Module):
    """flatten -> [linear -> act -> dropout] per hidden layer -> linear."""

    def __init__(
        self,
        *,
        in_channels: int,
        num_classes: int,
        input_size: tuple[int, int],
        activation: str = "relu",
        dropout: float = 0.0,
        hidden: tuple[int, ...] = (256, 128),
    ) -> None:
        super().__init__()
        size = pooled_size(input_size)
        self.pool: nn.Module = (
            nn.AdaptiveAvgPool2d(size) if size != tuple(input_size) else nn.Identity()
        )
        layers: list[nn.Module] = [nn.Flatten()]
        features = in_channels * size[0] * size[1]
        for width in hidden:
            layers += [
                nn.Linear(features, width),
                create_activation(activation),
                nn.Dropout(dropout),
            ]
            features = width
        layers.append(nn.Linear(features, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(self.pool(x))


register_model(
    "mlp",
    "Multi-layer perceptron (256-128 hidden units) on the flattened image; a no-conv baseline.",
    needs_input_size=True,
)(MLP)
