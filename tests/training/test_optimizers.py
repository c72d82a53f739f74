"""Every registered optimizer: it descends, and only the knobs it uses reach it."""

from __future__ import annotations

import pytest
import torch

from tunelab.errors import TunelabError
from tunelab.training.optimizers import OPTIMIZERS, create_optimizer

CONTRACT_NAMES = {
    "sgd",
    "momentum",
    "adam",
    "adamw",
    "adadelta",
    "adagrad",
    "adamax",
    "rmsprop",
    "nadam",
    "radam",
}

# Adadelta's steps are scaled by its running averages, so it needs a far larger lr.
LEARNING_RATES = {"adadelta": 1.0}


def regression() -> tuple[torch.nn.Linear, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=generator)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1
    torch.manual_seed(0)
    return torch.nn.Linear(4, 1), x, y


def test_registry_matches_contract():
    assert set(OPTIMIZERS) == CONTRACT_NAMES
    for name, info in OPTIMIZERS.items():
        assert info.name == name and info.description and "\n" not in info.description


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_reduces_loss(name):
    model, x, y = regression()
    optimizer = create_optimizer(name, model.parameters(), lr=LEARNING_RATES.get(name, 0.05))
    assert isinstance(optimizer, torch.optim.Optimizer)
    losses = []
    for _ in range(10):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    final = torch.nn.functional.mse_loss(model(x), y).item()
    assert final < losses[0]


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_knobs_reach_param_groups(name):
    info = OPTIMIZERS[name]
    model, _, _ = regression()
    optimizer = create_optimizer(
        name,
        model.parameters(),
        lr=0.02,
        weight_decay=0.001,
        momentum=0.8,
        nesterov=info.uses_nesterov,
        betas=(0.85, 0.99),
    )
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.02
    assert group["weight_decay"] == 0.001
    if info.uses_momentum:
        assert group["momentum"] == 0.8
    elif "momentum" in group:
        assert group["momentum"] == 0  # sgd, rmsprop: the SGD momentum knob is not used
    if info.uses_nesterov:
        assert group["nesterov"] is True
    if info.uses_betas:
        assert group["betas"] == (0.85, 0.99)
    else:
        assert "betas" not in group or group["betas"] != (0.85, 0.99)


def test_momentum_defaults_and_plain_sgd():
    model, _, _ = regression()
    group = create_optimizer("momentum", model.parameters(), lr=0.1).param_groups[0]
    assert group["momentum"] == 0.9 and group["nesterov"] is False
    sgd = create_optimizer("sgd", model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    assert sgd.param_groups[0]["momentum"] == 0 and sgd.param_groups[0]["nesterov"] is False


def test_accepts_param_groups():
    model, _, _ = regression()
    groups = [{"params": [model.weight]}, {"params": [model.bias], "weight_decay": 0.0}]
    optimizer = create_optimizer("adamw", groups, lr=0.01, weight_decay=0.05)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.05, 0.0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": 0.0}, "learning_rate must be > 0"),
        ({"lr": -0.01}, "learning_rate must be > 0"),
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"momentum": 1.0}, "momentum"),
        ({"betas": (0.9, 1.0)}, "beta"),
        ({"momentum": 0.0, "nesterov": True}, "nesterov"),
    ],
)
def test_bad_knobs(kwargs, match):
    model, _, _ = regression()
    args = {"lr": 0.01, "momentum": 0.9} | kwargs
    with pytest.raises(TunelabError, match=match):
        create_optimizer("momentum", model.parameters(), **args)


def test_unknown_optimizer_lists_choices_and_suggests():
    model, _, _ = regression()
    with pytest.raises(TunelabError) as info:
        create_optimizer("adamm", model.parameters(), lr=0.01)
    assert 'Did you mean "adam' in str(info.value)
    assert all(name in str(info.value) for name in OPTIMIZERS)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_fused_update_where_torch_has_one_and_every_parameter_kept(name):
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 1))
    first, second = model[0], model[1]
    groups = [{"params": first.parameters()}, {"params": iter(second.parameters()), "lr": 0.5}]
    optimizer = create_optimizer(name, groups, lr=0.05)
    assert [len(g["params"]) for g in optimizer.param_groups] == [2, 2]
    assert optimizer.defaults.get("fused") is (True if OPTIMIZERS[name].fused else None)
    plain = create_optimizer(name, model.parameters(), lr=0.05)
    assert len(plain.param_groups[0]["params"]) == 4


def test_fused_and_plain_adam_take_the_same_steps():
    model, x, y = regression()
    fused = create_optimizer("adam", model.parameters(), lr=0.05)
    twin, _, _ = regression()
    plain = torch.optim.Adam(twin.parameters(), lr=0.05)
    for m, opt in ((model, fused), (twin, plain)):
        for _ in range(5):
            opt.zero_grad()
            torch.nn.functional.mse_loss(m(x), y).backward()
            opt.step()
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
