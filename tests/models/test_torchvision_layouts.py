"""resnet18 and mobilenet-v2 carry torchvision's parameter names and shapes, so ImageNet
state dicts load; checked against figures of torchvision's own models."""

from __future__ import annotations

import pytest
import torch

from tunelab.models import create_model

# A few (name, shape) pairs of torchvision's state dicts, and their parameter counts
# (torchvision's documented 11,689,512 and 3,504,872 for 1000 classes).
KNOWN = {
    "resnet18": (
        {
            "conv1.weight": [64, 3, 7, 7],
            "bn1.running_var": [64],
            "layer1.0.conv1.weight": [64, 64, 3, 3],
            "layer1.1.bn2.bias": [64],
            "layer2.0.downsample.0.weight": [128, 64, 1, 1],
            "layer2.0.downsample.1.running_mean": [128],
            "layer3.1.conv2.weight": [256, 256, 3, 3],
            "layer4.0.conv1.weight": [512, 256, 3, 3],
            "fc.weight": [1000, 512],
            "fc.bias": [1000],
        },
        11_689_512,
        122,
    ),
    "mobilenet-v2": (
        {
            "features.0.0.weight": [32, 3, 3, 3],
            "features.0.1.weight": [32],
            "features.1.conv.0.0.weight": [32, 1, 3, 3],
            "features.1.conv.1.weight": [16, 32, 1, 1],
            "features.2.conv.0.0.weight": [96, 16, 1, 1],
            "features.2.conv.1.0.weight": [96, 1, 3, 3],
            "features.2.conv.2.weight": [24, 96, 1, 1],
            "features.2.conv.3.running_var": [24],
            "features.17.conv.2.weight": [320, 960, 1, 1],
            "features.18.0.weight": [1280, 320, 1, 1],
            "classifier.1.weight": [1000, 1280],
        },
        3_504_872,
        314,
    ),
}


@pytest.mark.parametrize("name", list(KNOWN))
def test_names_shapes_and_size_match_torchvision(name: str) -> None:
    known, parameters, tensors = KNOWN[name]
    model = create_model(name, in_channels=3, num_classes=1000, input_size=(224, 224))
    state = model.state_dict()
    for key, shape in known.items():
        assert list(state[key].shape) == shape, key
    assert sum(p.numel() for p in model.parameters()) == parameters
    assert len(state) == tensors


@pytest.mark.parametrize(
    ("name", "features"), [("resnet18", "layer4"), ("mobilenet-v2", "features")]
)
def test_keeps_torchvision_strides_on_imagenet_sized_images(name: str, features: str) -> None:
    model = create_model(name, in_channels=3, num_classes=10, input_size=(224, 224)).eval()
    seen = {}
    model.get_submodule(features).register_forward_hook(
        lambda module, args, output: seen.update(shape=output.shape)
    )
    with torch.no_grad():
        model(torch.rand(1, 3, 224, 224))
    assert tuple(seen["shape"][2:]) == (7, 7)  # total stride 32, as torchvision


@pytest.mark.parametrize("name", list(KNOWN))
def test_state_dict_round_trips_between_sizes(name: str) -> None:
    # Strides adapt to the image size but no parameter does: weights saved at 224 px
    # load into the model built for 28 px images.
    large = create_model(name, in_channels=3, num_classes=5, input_size=(224, 224))
    small = create_model(name, in_channels=3, num_classes=5, input_size=(28, 28))
    small.load_state_dict(large.state_dict())
    assert small(torch.rand(2, 3, 28, 28)).shape == (2, 5)
