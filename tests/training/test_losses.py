"""Every registered loss: shape, gradients, probabilities, and that it actually learns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from tunelab.errors import TunelabError
from tunelab.training.losses import LOSSES, create_loss, probabilities

CONTRACT_NAMES = {
    "cross-entropy",
    "sigmoid-cross-entropy",
    "hinge",
    "squared-hinge",
    "huber",
    "mse",
    "mae",
    "log-loss",
    "focal",
    "label-smoothing",
}


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny tensors run faster on one thread, and far faster when the cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def blobs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """60 points in three 2-D gaussian blobs, 20 per class."""
    generator = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[0.0, 2.0], [-1.7, -1.0], [1.7, -1.0]])
    labels = torch.arange(3).repeat_interleave(20)
    points = centers[labels] + 0.6 * torch.randn(60, 2, generator=generator)
    return points, labels


def test_registry_matches_contract():
    assert set(LOSSES) == CONTRACT_NAMES
    assert all(info.description and "\n" not in info.description for info in LOSSES.values())


@pytest.mark.parametrize("num_classes", [2, 3, 10])
@pytest.mark.parametrize("name", list(LOSSES))
def test_finite_scalar_with_gradients(name, num_classes):
    torch.manual_seed(0)
    logits = (3 * torch.randn(8, num_classes)).requires_grad_()
    targets = torch.randint(0, num_classes, (8,))
    loss = create_loss(name, num_classes)(logits, targets)
    assert loss.shape == () and torch.isfinite(loss) and loss.dtype == torch.float32
    loss.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0


@pytest.mark.parametrize("name", list(LOSSES))
def test_works_under_bf16_autocast(name):
    logits = torch.randn(4, 3, dtype=torch.bfloat16, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = create_loss(name, 3)(logits, torch.tensor([0, 1, 2, 0]))
    loss.backward()
    assert torch.isfinite(loss.float())


@pytest.mark.parametrize("name", list(LOSSES))
def test_probabilities_are_distributions(name):
    logits = torch.tensor([[2.0, -1.0, 0.5], [-200.0, -300.0, -250.0], [0.0, 0.0, 0.0]])
    probs = probabilities(name, logits)
    assert probs.shape == logits.shape
    assert torch.isfinite(probs).all() and (probs >= 0).all()
    assert torch.allclose(probs.sum(dim=1), torch.ones(3), atol=1e-5)
    assert probs[0].argmax() == 0


@pytest.mark.parametrize("name", list(LOSSES))
def test_learns_three_blobs(name):
    torch.manual_seed(0)
    points, labels = blobs()
    model = torch.nn.Linear(2, 3)
    loss_fn = create_loss(name, 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    initial = loss_fn(model(points), labels).item()
    for _ in range(200):
        optimizer.zero_grad()
        loss_fn(model(points), labels).backward()
        optimizer.step()
    with torch.no_grad():
        logits = model(points)
        final = loss_fn(logits, labels).item()
        accuracy = (probabilities(name, logits).argmax(dim=1) == labels).float().mean().item()
    assert accuracy >= 0.9, f"{name}: accuracy {accuracy:.2f}"
    assert final < initial


def test_perfect_predictions_have_near_zero_loss():
    logits = torch.tensor([[20.0, -20.0, -20.0], [-20.0, 20.0, -20.0]])
    targets = torch.tensor([0, 1])
    for name in ("cross-entropy", "sigmoid-cross-entropy", "hinge", "squared-hinge", "mse"):
        assert create_loss(name, 3)(logits, targets).item() < 1e-6, name
    assert create_loss("mae", 3)(logits, targets).item() < 1e-6
    assert create_loss("log-loss", 3)(logits, targets).item() < 1e-5


def test_focal_gamma_zero_is_cross_entropy():
    torch.manual_seed(0)
    logits, targets = torch.randn(6, 4), torch.randint(0, 4, (6,))
    focal = create_loss("focal", 4, focal_gamma=0.0)(logits, targets)
    ce = create_loss("cross-entropy", 4)(logits, targets)
    assert torch.allclose(focal, ce)
    assert create_loss("focal", 4, focal_gamma=2.0)(logits, targets) < ce


def test_label_smoothing_knob_reaches_only_its_loss():
    logits, targets = torch.tensor([[5.0, 0.0, 0.0]]), torch.tensor([0])
    plain = create_loss("cross-entropy", 3, label_smoothing=0.5)(logits, targets)
    assert torch.allclose(plain, create_loss("cross-entropy", 3)(logits, targets))
    low = create_loss("label-smoothing", 3, label_smoothing=0.05)(logits, targets)
    high = create_loss("label-smoothing", 3, label_smoothing=0.5)(logits, targets)
    assert plain < low < high


def test_unknown_loss_lists_choices_and_suggests():
    with pytest.raises(TunelabError) as info:
        create_loss("cross_entropy", 3)
    assert 'Did you mean "cross-entropy"?' in str(info.value)
    assert all(name in str(info.value) for name in LOSSES)
    with pytest.raises(TunelabError, match="unknown loss"):
        probabilities("nope", torch.zeros(1, 2))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"label_smoothing": 1.0}, "label_smoothing"), ({"focal_gamma": -1.0}, "focal_gamma")],
)
def test_bad_knobs(kwargs, match):
    with pytest.raises(TunelabError, match=match):
        create_loss("focal", 3, **kwargs)
