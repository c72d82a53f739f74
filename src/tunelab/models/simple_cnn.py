"""``simple-cnn``: Piximi's SimpleCNN, two 5x5 conv + max-pool stages and one dense layer."""

from __future__ import annotations

from torch import Tensor, nn

from tunelab.models.layers import act_pool
from tunelab.models.registry import register_model


class SimpleCNN(nn.Module):
    """conv5x5(8) -> act -> pool2 -> conv5x5(16) -> act -> pool2 -> flatten -> dropout -> dense.

    Convs use 'same' padding and pools round up (``ceil_mode``), so a side of 1 px stays
    1 px instead of vanishing; the dense layer is sized from ``input_size``. With ReLU
    (or leaky ReLU) each pool runs before its activation, the same function for less work
    (:func:`~tunelab.models.layers.act_pool`); the state dict's keys are the same
    either way.
    """

    def __init__(
        self,
        *,
        in_channels: int,
        num_classes: int,
        input_size: tuple[int, int],
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        height, width = input_size
        layers: list[nn.Module] = []
        channels = in_channels
        for filters in (8, 16):
            layers += [
                nn.Conv2d(channels, filters, kernel_size=5, padding=2),
                *act_pool(activation, nn.MaxPool2d(2, ceil_mode=True)),
            ]
            channels = filters
            height, width = (height + 1) // 2, (width + 1) // 2
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(channels * height * width, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


register_model(
    "simple-cnn",
    "Piximi's SimpleCNN: two 5x5 conv + max-pool stages and a dense layer; fast baseline.",
    needs_input_size=True,
)(SimpleCNN)
