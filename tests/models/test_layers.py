"""Shared layers whose speed-ups must not change what a model computes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tunelab.models import ACTIVATIONS, create_activation, create_model
from tunelab.models.layers import act_pool


def _input(shape=(2, 3, 7, 9)) -> torch.Tensor:
    """Random values with exact ties and zeros, on an odd size (ceil-mode windows)."""
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    x[:, :, :2] = 0.5  # a flat region: every window there is a tie
    x[:, :, 2, :] = 0.0
    return x


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_act_pool_puts_the_pool_first_only_where_that_is_the_same_function(name):
    pool = nn.MaxPool2d(2, ceil_mode=True)
    layers = act_pool(name, pool)
    kind = type(create_activation(name))
    if not ACTIVATIONS[name].commutes_with_max:
        assert layers[1] is pool and type(layers[0]) is kind
        return
    assert layers[0] is pool and type(layers[1]) is kind
    reference = nn.Sequential(create_activation(name), nn.MaxPool2d(2, ceil_mode=True))
    outputs, grads = [], []
    for module in (nn.Sequential(*layers), reference):
        x = _input().requires_grad_()
        y = module(x)
        y.backward(torch.linspace(-1, 1, y.numel()).view_as(y))
        outputs.append(y.detach())
        grads.append(x.grad)
    assert torch.equal(outputs[0], outputs[1])
    assert torch.equal(grads[0], grads[1])


def test_simple_cnn_keeps_its_state_dict_and_computes_as_act_then_pool():
    torch.manual_seed(0)
    model = create_model("simple-cnn", in_channels=1, num_classes=3, input_size=(9, 9))
    keys = ["features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias"]
    assert list(model.state_dict()) == [*keys, "classifier.2.weight", "classifier.2.bias"]
    conv1, conv2 = model.features[0], model.features[3]
    reference = nn.Sequential(
        conv1, nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        conv2, nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        model.classifier,
    )  # fmt: skip
    x = _input((4, 1, 9, 9))
    results = []
    for module in (model, reference):
        module.zero_grad()
        out = module(x)
        out.sum().backward()
        results.append((out.detach(), conv1.weight.grad.clone(), conv2.weight.grad.clone()))
    for mine, expected in zip(*results, strict=True):
        assert torch.equal(mine, expected)
