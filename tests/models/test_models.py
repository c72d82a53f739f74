"""Every registered model, built and run for a few channel counts and image sizes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tunelab.errors import TunelabError
from tunelab.models import ACTIVATIONS, MODELS, create_activation, create_model, list_models

SHAPES = [(1, (8, 8)), (2, (28, 28)), (3, (32, 20))]
NUM_CLASSES = 4


def build(name: str, in_channels: int = 1, input_size=(8, 8), **kwargs) -> nn.Module:
    return create_model(
        name, in_channels=in_channels, num_classes=NUM_CLASSES, input_size=input_size, **kwargs
    )


def test_list_models_matches_registry_and_contract():
    assert list_models() == list(MODELS)
    assert set(list_models()) >= {"simple-cnn", "cnn", "resnet", "mobilenet", "mlp"}
    assert list_models()[0] == "simple-cnn"  # the default model comes first


@pytest.mark.parametrize("name", list(MODELS))
def test_has_one_line_description(name):
    description = MODELS[name].description
    assert description and "\n" not in description and len(description) <= 100


@pytest.mark.parametrize("in_channels, input_size", SHAPES)
@pytest.mark.parametrize("name", list(MODELS))
def test_output_shape_and_backward(name, in_channels, input_size):
    torch.manual_seed(0)
    model = build(name, in_channels, input_size)
    x = torch.randn(2, in_channels, *input_size)
    logits = model(x)
    assert logits.shape == (2, NUM_CLASSES)
    assert torch.isfinite(logits).all()
    logits.sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize(
    "in_channels, input_size", [(16, (256, 256)), (16, (200, 96)), (1, (4, 4))]
)
@pytest.mark.parametrize("name", list(MODELS))
def test_extreme_sizes(name, in_channels, input_size):
    model = build(name, in_channels, input_size).eval()
    with torch.no_grad():
        assert model(torch.rand(1, in_channels, *input_size)).shape == (1, NUM_CLASSES)


@pytest.mark.parametrize("name", list(MODELS))
def test_can_memorise_a_tiny_batch(name):
    torch.manual_seed(0)
    x, y = torch.randn(12, 2, 8, 8), torch.arange(3).repeat(4)
    model = build(name, 2, (8, 8))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(30):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    # Judged in training mode: BatchNorm's running averages lag after only 30 steps.
    with torch.no_grad():
        assert (model(x).argmax(dim=1) == y).all()


@pytest.mark.parametrize("input_size", [(4, 4), (4, 30)])
@pytest.mark.parametrize("name", list(MODELS))
def test_single_image_batch_trains_at_smallest_size(name, input_size):
    # The smallest allowed images must not shrink to a 1x1 map before a BatchNorm,
    # which cannot normalise one value per channel in training mode.
    model = build(name, 1, input_size).train()
    model(torch.randn(1, 1, *input_size)).sum().backward()


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("name", list(MODELS))
def test_every_activation_is_used(name, activation):
    model = build(name, activation=activation)
    kind = type(create_activation(activation))
    assert any(type(m) is kind for m in model.modules())
    others = {type(create_activation(a)) for a in ACTIVATIONS} - {kind}
    assert not any(type(m) in others for m in model.modules())
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, NUM_CLASSES)


@pytest.mark.parametrize("name", list(MODELS))
def test_dropout_is_applied(name):
    model = build(name, dropout=0.3)
    rates = [m.p for m in model.modules() if isinstance(m, nn.Dropout)]
    assert rates and all(p == 0.3 for p in rates)
    torch.manual_seed(0)
    model.train()
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        if any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()  # isolate dropout's randomness from batch statistics
        assert not torch.equal(model(x), model(x))
        model.eval()
        assert torch.equal(model(x), model(x))


@pytest.mark.parametrize("name", list(MODELS))
def test_channels_last_and_bf16_autocast(name):
    model = build(name, 3, (16, 16)).to(memory_format=torch.channels_last).eval()
    x = torch.randn(2, 3, 16, 16).to(memory_format=torch.channels_last)
    with torch.no_grad():
        reference = model(x.contiguous())
        assert torch.allclose(model(x), reference, atol=1e-5)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(x)
    assert logits.shape == (2, NUM_CLASSES)
    assert torch.isfinite(logits.float()).all()


@pytest.mark.parametrize("name", [n for n, info in MODELS.items() if not info.needs_input_size])
def test_size_agnostic_models_need_no_input_size(name):
    model = create_model(name, in_channels=1, num_classes=3)
    assert model(torch.randn(2, 1, 12, 9)).shape == (2, 3)


@pytest.mark.parametrize("name", [n for n, info in MODELS.items() if info.needs_input_size])
def test_flattening_models_require_input_size(name):
    with pytest.raises(TunelabError, match="input_size"):
        create_model(name, in_channels=1, num_classes=3)


def test_unknown_model_lists_choices_and_suggests():
    with pytest.raises(TunelabError) as info:
        create_model("simple_cnn", in_channels=1, num_classes=2, input_size=(8, 8))
    message = str(info.value)
    assert 'Did you mean "simple-cnn"?' in message
    assert all(name in message for name in MODELS)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"in_channels": 0}, "in_channels"),
        ({"num_classes": 0}, "num_classes"),
        ({"input_size": (0, 8)}, "input_size"),
        ({"activation": "rel"}, 'Did you mean "relu"'),
    ],
)
def test_bad_arguments_raise_tunelab_error(kwargs, match):
    args = {"in_channels": 1, "num_classes": 2, "input_size": (8, 8)} | kwargs
    with pytest.raises(TunelabError, match=match):
        create_model("cnn", **args)
