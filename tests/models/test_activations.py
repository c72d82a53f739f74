"""The activation registry."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tunelab.errors import TunelabError
from tunelab.models.activations import ACTIVATIONS, create_activation


def test_contract_names():
    assert set(ACTIVATIONS) == {"relu", "leaky-relu", "elu", "gelu", "silu", "tanh", "sigmoid"}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_creates_fresh_elementwise_module(name):
    first, second = create_activation(name), create_activation(name)
    assert isinstance(first, nn.Module) and first is not second
    x = torch.linspace(-3, 3, 13)
    y = first(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert ACTIVATIONS[name].description


def test_unknown_activation():
    with pytest.raises(TunelabError, match='Did you mean "leaky-relu"'):
        create_activation("leaky_relu")
