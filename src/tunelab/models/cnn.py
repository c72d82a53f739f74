"""``cnn``: a deeper VGG-style CNN with batch norm, for any image size."""

from __future__ import annotations

from torch import Tensor, nn

from tunelab.models.layers import classifier_head, conv_bn_act, downsample, init_weights
from tunelab.models.registry import register_model


class CNN(nn.Module):
    """Three blocks of (conv-bn-act) x2 + max-pool at 32/64/128 channels, then a pooled head.

    Pools round up, so images as small as 1 px pass through; with ``input_size`` known,
    pools that would shrink a side below 2 px are left out (see
    :func:`tunelab.models.layers.downsample`).
    """

    def __init__(
        self,
        *,
        in_channels: int,
        num_classes: int,
        activation: str = "relu",
        dropout: float = 0.0,
        input_size: tuple[int, int] | None = None,
        widths: tuple[int, ...] = (32, 64, 128),
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels, size = in_channels, input_size
        for width in widths:
            layers += [
                conv_bn_act(channels, width, activation),
                conv_bn_act(width, width, activation),
            ]
            stride, size = downsample(size)
            if stride == 2:
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
            channels = width
        self.features = nn.Sequential(*layers)
        self.head = classifier_head(channels, num_classes, dropout)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


register_model(
    "cnn",
    "VGG-style CNN: 3 blocks of 2 conv-batchnorm layers (32/64/128 ch); a solid middle ground.",
)(CNN)
