"""Building blocks shared by the convolutional models."""

from __future__ import annotations

from torch import nn

from tunelab.models.activations import ACTIVATIONS, create_activation


def conv_bn_act(
    in_channels: int,
    out_channels: int,
    activation: str,
    *,
    kernel_size: int = 3,
    stride: int = 1,
    groups: int = 1,
) -> nn.Sequential:
    """Conv ('same' padding for stride 1) -> BatchNorm -> activation."""
    return nn.Sequential(
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=groups,
            bias=False,
        ),
        nn.BatchNorm2d(out_channels),
        create_activation(activation),
    )


def act_pool(activation: str, pool: nn.Module) -> list[nn.Module]:
    """``activation`` then ``pool``, or the pool first where that is the same function
    (:attr:`ActivationInfo.commutes_with_max`): the activation then sees 4x fewer values."""
    act = create_activation(activation)
    return [pool, act] if ACTIVATIONS[activation].commutes_with_max else [act, pool]


def stem_stride(input_size: tuple[int, int] | None) -> int:
    """How much the stem downsamples: 1 for small images, 2 or 4 for large ones.

    Small-image nets keep full resolution in the first stage; on 128 px+ images that
    costs 16x the compute for little gain, so large inputs are reduced first, as
    ImageNet-style nets do.
    """
    if input_size is None or min(input_size) < 64:
        return 1
    return 2 if min(input_size) < 128 else 4


def downsample(size: tuple[int, int] | None) -> tuple[int, tuple[int, int] | None]:
    """Stride (2, or 1 to skip) for the next downsampling step, and the size after it.

    A side already under 4 px is not halved again: the last BatchNorm would otherwise
    see a 1x1 map, which fails in training on a batch of one and carries no spatial
    information anyway. With ``size`` unknown (``None``) every step downsamples.
    """
    if size is None:
        return 2, None
    if min(size) < 4:
        return 1, size
    return 2, ((size[0] + 1) // 2, (size[1] + 1) // 2)


def stem_output_size(input_size: tuple[int, int] | None, stride: int) -> tuple[int, int] | None:
    """The feature-map size after :func:`stem` with ``stride``."""
    size = input_size
    while size is not None and stride > 1:
        size = ((size[0] + 1) // 2, (size[1] + 1) // 2)
        stride //= 2
    return size


def stem(in_channels: int, out_channels: int, activation: str, stride: int) -> nn.Sequential:
    """3x3 conv stem; stride 4 is a stride-2 conv followed by a stride-2 max-pool."""
    layers = conv_bn_act(in_channels, out_channels, activation, stride=min(stride, 2))
    if stride == 4:
        layers.append(nn.MaxPool2d(3, stride=2, padding=1))
    return layers


def classifier_head(in_features: int, num_classes: int, dropout: float) -> nn.Sequential:
    """Global average pool -> flatten -> dropout -> linear."""
    return nn.Sequential(
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(in_features, num_classes),
    )


def init_weights(model: nn.Module) -> None:
    """Kaiming-normal convs and unit BatchNorm, as torchvision's ResNet does."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
