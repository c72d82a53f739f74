"""``resnet``: a small CIFAR-style ResNet (ResNet-8: one basic block per stage)."""

from __future__ import annotations

from torch import Tensor, nn

from tunelab.models.activations import create_activation
from tunelab.models.layers import (
    classifier_head,
    downsample,
    init_weights,
    stem,
    stem_output_size,
    stem_stride,
)
from tunelab.models.registry import register_model


class BasicBlock(nn.Module):
    """Two 3x3 conv-bn layers with an identity (or 1x1 projection) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, activation: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.act1 = create_activation(activation)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        self.act2 = create_activation(activation)

    def forward(self, x: Tensor) -> Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act2(out + self.shortcut(x))


class ResNet(nn.Module):
    """Stem -> stages of basic blocks (16/32/64 channels, stride 1/2/2) -> pooled head.

    ``blocks_per_stage=1`` is ResNet-8, ``3`` is ResNet-20. Inputs of 64 px and more get
    a downsampling stem (see :func:`tunelab.models.layers.stem_stride`); stages that would
    shrink a side below 2 px keep stride 1 (:func:`tunelab.models.layers.downsample`).
    """

    def __init__(
        self,
        *,
        in_channels: int,
        num_classes: int,
        input_size: tuple[int, int] | None = None,
        activation: str = "relu",
        dropout: float = 0.0,
        blocks_per_stage: int = 1,
        widths: tuple[int, ...] = (16, 32, 64),
    ) -> None:
        super().__init__()
        first_stride = stem_stride(input_size)
        self.stem = stem(in_channels, widths[0], activation, first_stride)
        size = stem_output_size(input_size, first_stride)
        blocks: list[nn.Module] = []
        channels = widths[0]
        for index, width in enumerate(widths):
            for block in range(blocks_per_stage):
                stride = 1
                if index > 0 and block == 0:
                    stride, size = downsample(size)
                blocks.append(BasicBlock(channels, width, stride, activation))
                channels = width
        self.stages = nn.Sequential(*blocks)
        self.head = classifier_head(channels, num_classes, dropout)
        init_weights(self)
        # Each residual branch starts as zero, so the net starts close to its shortcut
        # path and trains stably (Goyal et al., 2017).
        for module in self.modules():
            if isinstance(module, BasicBlock):
                nn.init.zeros_(module.bn2.weight)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.stages(self.stem(x)))


register_model(
    "resnet",
    "ResNet-8: residual blocks at 16/32/64 channels; steadier to train as depth grows.",
)(ResNet)
