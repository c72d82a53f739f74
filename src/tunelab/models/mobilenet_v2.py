"""``mobilenet-v2``: MobileNetV2 with torchvision's parameter names, so ImageNet weights load.

The modules are named as in torchvision's ``mobilenet_v2``: ``features.0`` (3x3 conv-bn
stem), ``features.1`` .. ``features.17`` (inverted residual blocks, each a ``conv``
sequence), ``features.18`` (1x1 conv-bn to 1280 channels) and ``classifier.1`` (the
linear layer after ``classifier.0``, the dropout). A state dict saved from
``torchvision.models.mobilenet_v2()`` loads into it key for key (``--init-from FILE``);
tunelab itself does not depend on torchvision.

Differences that change no parameter's name or shape: the activation is the
``activation`` knob (torchvision uses ReLU6, which caps at 6; tunelab's ``relu`` does
not, so ImageNet features come out slightly different until fine-tuning adapts them);
``dropout`` is classifier.0's rate (torchvision: 0.2); and small images skip
downsampling steps that would shrink a side below 4 px.
"""

from __future__ import annotations

from torch import Tensor, nn

from tunelab.models.activations import create_activation
from tunelab.models.layers import downsample
from tunelab.models.registry import register_model

# torchvision's inverted_residual_setting: expansion t, channels c, repeats n, stride s.
SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
LAST_CHANNELS = 1280


def conv_norm_act(
    inp: int, oup: int, activation: str, *, kernel_size: int = 3, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    """torchvision's ``Conv2dNormActivation``: conv (no bias) -> BatchNorm -> activation."""
    return nn.Sequential(
        nn.Conv2d(inp, oup, kernel_size, stride, (kernel_size - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(oup),
        create_activation(activation),
    )


class InvertedResidual(nn.Module):
    """1x1 expansion (unless t = 1) -> 3x3 depthwise -> linear 1x1 projection (+ shortcut)."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int, activation: str):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(conv_norm_act(inp, hidden, activation, kernel_size=1))
        layers += [
            conv_norm_act(hidden, hidden, activation, stride=stride, groups=hidden),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """features (stem, 17 inverted residual blocks, 1x1 conv to 1280) -> pool -> classifier."""

    def __init__(
        self,
        *,
        in_channels: int,
        num_classes: int,
        input_size: tuple[int, int] | None = None,
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        stride, size = downsample(input_size)
        layers: list[nn.Module] = [conv_norm_act(in_channels, 32, activation, stride=stride)]
        channels = 32
        for t, c, n, s in SETTING:
            for i in range(n):
                stride = 1
                if i == 0 and s == 2:
                    stride, size = downsample(size)
                layers.append(InvertedResidual(channels, c, stride, t, activation))
                channels = c
        layers.append(conv_norm_act(channels, LAST_CHANNELS, activation, kernel_size=1))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(LAST_CHANNELS, num_classes))
        for module in self.modules():  # torchvision's initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))


register_model(
    "mobilenet-v2",
    "MobileNetV2 in torchvision's layout: takes torchvision/ImageNet mobilenet_v2 weights.",
)(MobileNetV2)
