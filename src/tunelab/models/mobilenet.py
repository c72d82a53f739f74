"""``mobilenet``: a small MobileNet-v1-style net of depthwise-separable convolutions."""

from __future__ import annotations

from torch import Tensor, nn

from tunelab.models.layers import (
    classifier_head,
    conv_bn_act,
    downsample,
    init_weights,
    stem,
    stem_output_size,
    stem_stride,
)
from tunelab.models.registry import register_model

# (out_channels, stride) of each depthwise-separable block.
BLOCKS: tuple[tuple[int, int], ...] = ((32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 1))


def separable(in_channels: int, out_channels: int, stride: int, activation: str) -> nn.Sequential:
    """Depthwise 3x3 conv-bn-act, then pointwise 1x1 conv-bn-act."""
    return nn.Sequential(
        conv_bn_act(in_channels, in_channels, activation, stride=stride, groups=in_channels),
        conv_bn_act(in_channels, out_channels, activation, kernel_size=1),
    )


class MobileNet(nn.Module):
    """Stem (16 ch) -> depthwise-separable blocks up to 128 ch (total stride 4) -> head.

    Inputs of 64 px and more get a downsampling stem, so the cost stays modest; strides
    that would shrink a side below 2 px are skipped.
    """

    def __init__(
        self,
        *,
        in_channels: int,
        num_classes: int,
        input_size: tuple[int, int] | None = None,
        activation: str = "relu",
        dropout: float = 0.0,
        blocks: tuple[tuple[int, int], ...] = BLOCKS,
    ) -> None:
        super().__init__()
        first_stride = stem_stride(input_size)
        self.stem = stem(in_channels, 16, activation, first_stride)
        size = stem_output_size(input_size, first_stride)
        layers: list[nn.Module] = []
        channels = 16
        for width, stride in blocks:
            if stride == 2:
                stride, size = downsample(size)
            layers.append(separable(channels, width, stride, activation))
            channels = width
        self.features = nn.Sequential(*layers)
        self.head = classifier_head(channels, num_classes, dropout)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(self.stem(x)))


register_model(
    "mobilenet",
    "MobileNet-style depthwise-separable convs: few parameters and FLOPs for its depth.",
)(MobileNet)
