"""``resnet18``: ResNet-18 with torchvision's parameter names, so ImageNet weights load.

The modules are named as in torchvision's ``resnet18`` (``conv1``, ``bn1``,
``layer1`` .. ``layer4`` of two basic blocks each with ``conv1``, ``bn1``, ``conv2``,
``bn2`` and ``downsample.0``/``.1``, and ``fc``), so a state dict saved from
``torchvision.models.resnet18()`` loads into it key for key (``--init-from FILE``);
tunelab itself does not depend on torchvision.

Differences that change no parameter's name or shape: the activation is the
``activation`` knob (ReLU by default, as torchvision), with ``dropout`` before ``fc``;
each block's last batch norm starts at zero (torchvision's ``zero_init_residual=True``)
when trained from scratch; and small images skip downsampling steps that would shrink a
side below 4 px (torchvision's five stride-2 steps are all kept from 64 px up).
"""

from __future__ import annotations

from torch import Tensor, nn

from tunelab.models.activations import create_activation
from tunelab.models.layers import downsample, init_weights
from tunelab.models.registry import register_model


class BasicBlock(nn.Module):
    """torchvision's ``BasicBlock``: two 3x3 conv-bn layers and a shortcut."""

    def __init__(self, inplanes: int, planes: int, stride: int, activation: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = create_activation(activation)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if inplanes != planes or stride != 1:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )
        self.relu2 = create_activation(activation)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu2(out + identity)


class ResNet18(nn.Module):
    """conv1 (7x7) -> max-pool -> 4 stages of 2 basic blocks (64..512 ch) -> pool -> fc."""

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
        size = input_size
        stride, size = downsample(size)
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = create_activation(activation)
        stride, size = downsample(size)
        self.maxpool: nn.Module = (
            nn.MaxPool2d(3, stride=2, padding=1) if stride == 2 else nn.Identity()
        )
        stages = []
        inplanes = 64
        for index, planes in enumerate((64, 128, 256, 512)):
            stride = 1
            if index > 0:
                stride, size = downsample(size)
            blocks = [
                BasicBlock(inplanes, planes, stride, activation),
                BasicBlock(planes, planes, 1, activation),
            ]
            stages.append(nn.Sequential(*blocks))
            inplanes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(512, num_classes)
        init_weights(self)
        # torchvision's zero_init_residual=True: each residual branch starts at zero, so
        # training from scratch starts close to the shortcut path and is steadier.
        for module in self.modules():
            if isinstance(module, BasicBlock):
                nn.init.zeros_(module.bn2.weight)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.dropout(self.avgpool(x).flatten(1)))


register_model(
    "resnet18",
    "ResNet-18 in torchvision's layout: takes torchvision/ImageNet resnet18 weights.",
)(ResNet18)
