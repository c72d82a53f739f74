"""init_from: weights from runs and files, head replacement, channel adaptation, freezing."""

from __future__ import annotations

import pickle

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from tunelab.data import load_dataset, make_synthetic_folder
from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters
from tunelab.models import create_model
from tunelab.runs import RunStore
from tunelab.training.callbacks import Callback
from tunelab.training.setup import make_optimizer
from tunelab.training.trainer import train
from tunelab.training.transfer import (
    FreezeBackbone,
    adapt_channels,
    apply_init,
    load_source,
    parameter_groups,
)

KNOBS = dict(epochs=1, learning_rate=0.003, batch_size=16, threads=1)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/training/conftest.py


@pytest.fixture(scope="module")
def three_classes(tmp_path_factory):
    root = make_synthetic_folder(
        tmp_path_factory.mktemp("three") / "data", classes=3, per_class=12, size=(8, 8)
    )
    return load_dataset(root, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A simple-cnn trained one epoch on digits (8x8, 10 classes)."""
    store = tmp_path_factory.mktemp("store")
    return train("digits", store=store, name="digits-base", **KNOBS), store


def _backbone(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if "running" not in k and "num_batches" not in k}


def test_fine_tunes_a_run_on_other_classes_with_a_new_head(digits_run, three_classes) -> None:
    base, store = digits_run
    run = train(
        three_classes, store=store, init_from="digits-base", freeze_epochs=1, seed=3, **KNOBS
    )
    notes = run.summary["warnings"]
    assert sum("new classifier head" in note for note in notes) == 1
    assert run.summary["init_from"]["source"] == "digits-base"
    before, after = load_file(str(base.weights_path)), load_file(str(run.weights_path))
    head = [k for k in after if k.startswith(_head_prefix(run.model))]
    assert head and all(after[k].shape[0] == 3 for k in head)
    # The one epoch was frozen: every weight below the head is the digits run's.
    for key, value in _backbone(after).items():
        if key not in head:
            assert torch.equal(value, before[key]), key


def _head_prefix(model: nn.Module) -> str:
    return [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1] + "."


def test_same_classes_keep_the_head_and_say_nothing(digits_run) -> None:
    base, store = digits_run
    model = create_model("simple-cnn", in_channels=1, num_classes=10, input_size=(8, 8))
    source = load_source("digits-base", RunStore(store))
    notes = apply_init(
        model,
        source,
        model_name="simple-cnn",
        class_names=[str(i) for i in range(10)],
        input_size=(8, 8),
    )
    assert notes == []
    saved = load_file(str(base.weights_path))
    assert all(torch.equal(model.state_dict()[k], saved[k]) for k in saved)


def test_same_classes_in_another_order_reorder_the_head(digits_run) -> None:
    base, store = digits_run
    model = create_model("simple-cnn", in_channels=1, num_classes=10, input_size=(8, 8))
    order = [str(i) for i in reversed(range(10))]
    notes = apply_init(
        model,
        load_source("digits-base", RunStore(store)),
        model_name="simple-cnn",
        class_names=order,
        input_size=(8, 8),
    )
    assert notes == [
        "classifier head " + _head_prefix(model)[:-1] + " reordered to this data's class order."
    ]
    saved = load_file(str(base.weights_path))
    key = _head_prefix(model) + "weight"
    assert torch.equal(model.state_dict()[key], saved[key].flip(0))


def test_unfreezes_after_freeze_epochs(digits_run, three_classes) -> None:
    base, store = digits_run
    before = load_file(str(base.weights_path))
    seen: dict[int, bool] = {}

    class Watch(Callback):
        def on_epoch_end(self, state, record) -> None:
            weight = state.model.state_dict()["features.0.weight"]
            seen[state.epoch] = torch.equal(weight, before["features.0.weight"])

    train(
        three_classes,
        store=store,
        init_from="digits-base",
        freeze_epochs=1,
        callbacks=[Watch()],
        **{**KNOBS, "epochs": 2},
    )
    assert seen == {1: True, 2: False}


def test_backbone_learns_at_its_factor() -> None:
    # Plain SGD: the step is lr x gradient, so the backbone's step at factor 0.25 is a
    # quarter of its step at factor 1, and the head's is unchanged.
    x, y = torch.rand(6, 1, 8, 8), torch.tensor([0, 1, 2, 0, 1, 2])
    steps = {}
    for factor in (1.0, 0.25):
        torch.manual_seed(0)
        model = create_model("cnn", in_channels=1, num_classes=3, input_size=(8, 8))
        start = {k: v.clone() for k, v in model.named_parameters()}
        hp = Hyperparameters(optimizer="sgd", learning_rate=0.1)
        optimizer = make_optimizer(hp, parameter_groups(model, 0.1, factor), 0.1)
        assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.1 * factor]
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        steps[factor] = {k: v.detach() - start[k] for k, v in model.named_parameters()}
    head = _head_prefix(model)
    for key, step in steps[1.0].items():
        expected = step if key.startswith(head) else step * 0.25
        assert torch.allclose(steps[0.25][key], expected, atol=1e-7), key


def test_freeze_callback_freezes_only_the_backbone() -> None:
    model = create_model("cnn", in_channels=1, num_classes=3, input_size=(8, 8))
    freeze = FreezeBackbone(model, epochs=2)

    class State:
        epoch = 0

    freeze.on_train_start(State())  # type: ignore[arg-type]
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {
        n for n in dict(model.named_parameters()) if n.startswith(_head_prefix(model))
    }
    State.epoch = 2
    freeze.on_epoch_end(State(), {})  # type: ignore[arg-type]
    assert all(p.requires_grad for p in model.parameters())


def test_transfer_knobs_without_init_from_are_ignored_with_a_warning(
    three_classes, tmp_path
) -> None:
    run = train(three_classes, store=tmp_path, freeze_epochs=2, **KNOBS)
    assert any("act only with init_from" in w for w in run.summary["warnings"])
    assert all(p.requires_grad for p in run.model.parameters())


@pytest.mark.parametrize("channels", [1, 2, 4])
def test_channel_adaptation_keeps_the_response_to_a_uniform_image(channels: int) -> None:
    torch.manual_seed(0)
    rgb = torch.randn(8, 3, 7, 7)
    adapted = adapt_channels(rgb, channels)
    assert adapted.shape == (8, channels, 7, 7)
    grey = torch.rand(1, 1, 16, 16)
    original = nn.functional.conv2d(grey.repeat(1, 3, 1, 1), rgb)
    assert torch.allclose(
        nn.functional.conv2d(grey.repeat(1, channels, 1, 1), adapted), original, atol=1e-5
    )
    if channels == 1:
        assert torch.allclose(adapted[:, 0], rgb.sum(dim=1))


def _imagenet_like(name: str, tmp_path, suffix: str, wrap: str | None = None):
    """A file in torchvision's layout (3 channels, 1000 classes), as a user downloads one."""
    torch.manual_seed(1)
    model = create_model(name, in_channels=3, num_classes=1000, input_size=(224, 224))
    state = model.state_dict()
    path = tmp_path / f"{name}{suffix}"
    if suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        if wrap == "module":
            torch.save({"module." + k: v for k, v in state.items()}, path)
        elif wrap:
            torch.save({wrap: state, "epoch": 90}, path)
        else:
            torch.save(state, path)
    return path, state


@pytest.mark.parametrize(
    ("name", "suffix", "wrap"),
    [
        ("resnet18", ".pth", None),
        ("resnet18", ".safetensors", None),
        ("resnet18", ".pth", "module"),
        ("mobilenet-v2", ".pth", "state_dict"),
    ],
)
def test_imagenet_layout_file_loads_into_a_one_channel_model(name, suffix, wrap, tmp_path) -> None:
    path, saved = _imagenet_like(name, tmp_path, suffix, wrap)
    model = create_model(name, in_channels=1, num_classes=4, input_size=(32, 32))
    notes = apply_init(
        model,
        load_source(str(path), RunStore(tmp_path / "runs")),
        model_name=name,
        class_names=["a", "b", "c", "d"],
        input_size=(32, 32),
    )
    conv = "conv1.weight" if name == "resnet18" else "features.0.0.weight"
    head = "fc" if name == "resnet18" else "classifier.1"
    assert any(
        note.startswith(f"first layer {conv[:-7]} adapted from 3 input channels to 1")
        for note in notes
    )
    assert any(note.startswith(f"new classifier head {head}") for note in notes)
    state = model.state_dict()
    assert torch.allclose(state[conv], saved[conv].sum(dim=1, keepdim=True))
    for key, value in saved.items():
        if key != conv and not key.startswith(head + "."):
            assert torch.equal(state[key], value), key
    assert state[head + ".weight"].shape == (4, state[head + ".weight"].shape[1])


def test_wrong_architecture_says_which_model_the_weights_fit(tmp_path) -> None:
    path, _ = _imagenet_like("resnet18", tmp_path, ".pth")
    model = create_model("mobilenet-v2", in_channels=3, num_classes=4, input_size=(32, 32))
    with pytest.raises(
        TunelabError, match="look like torchvision resnet18 weights: add --model resnet18"
    ):
        apply_init(
            model,
            load_source(str(path), RunStore(tmp_path)),
            model_name="mobilenet-v2",
            class_names=list("abcd"),
            input_size=(32, 32),
        )


def test_run_of_another_model_names_it(digits_run) -> None:
    _, store = digits_run
    with pytest.raises(
        TunelabError,
        match="holds a 'simple-cnn' model; this run builds 'cnn'. Add --model simple-cnn",
    ):
        train("digits", store=store, init_from="digits-base", model="cnn", **KNOBS)


def test_other_image_size_for_a_flattening_model_says_the_size(digits_run, tmp_path) -> None:
    _, store = digits_run
    root = make_synthetic_folder(tmp_path / "big", classes=2, per_class=6, size=(16, 16))
    runs = RunStore(store).names()
    with pytest.raises(
        TunelabError, match="trained on 8x8 images: add --input-height 8 --input-width 8"
    ):
        train(root, store=store, init_from="digits-base", **KNOBS)
    # The refused run leaves nothing behind.
    assert RunStore(store).names() == runs


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p.write_bytes(b"not a tensor file"), "could not read weights from"),
        (lambda p: p.write_bytes(pickle.dumps({"x": print})), "could not read weights from"),
        (lambda p: torch.save({"epoch": 3}, p), "holds no state dict of tensors"),
    ],
)
def test_unreadable_files_give_one_line(tmp_path, make, match) -> None:
    path = tmp_path / "weights.pth"
    make(path)
    with pytest.raises(TunelabError, match=match) as caught:
        load_source(str(path), RunStore(tmp_path))
    assert "\n" not in str(caught.value)


def test_missing_run_or_file_gives_one_line(digits_run) -> None:
    _, store = digits_run
    with pytest.raises(
        TunelabError, match='not a run in the store nor a file.*Did you mean "digits-base"'
    ):
        load_source("digits-bse", RunStore(store))
    with pytest.raises(TunelabError, match="file not found"):
        load_source("weights/none.safetensors", RunStore(store))


def test_freeze_epochs_is_searched_and_pretrained_layouts_are_not() -> None:
    from tunelab.search.space import Int
    from tunelab.trials.images import default_space

    space = default_space()
    assert space["freeze_epochs"] == Int(0, 3)
    assert "init_from" not in space and "backbone_lr_factor" not in space
    assert set(space["model"].choices) == {"simple-cnn", "cnn", "resnet", "mobilenet", "mlp"}


def test_the_range_test_starts_from_init_from_weights(digits_run, tmp_path) -> None:
    """learning_rate: auto with init_from tests the model the run will train, not a fresh one."""
    from tunelab.training.lr_find import find_lr, resolve_auto_learning_rate

    base, store = digits_run
    knobs = dict(KNOBS, learning_rate=None, epochs=3)
    fresh = find_lr("digits", steps=12, end=1e-3, **knobs)
    warm = find_lr(
        "digits", steps=12, end=1e-3, store=RunStore(store), init_from="digits-base", **knobs
    )
    # one epoch of training already lowered the loss; a fresh model starts near log(10)
    assert warm.losses[0] < fresh.losses[0] - 0.3
    frozen = find_lr(
        "digits", steps=12, end=1e-3, source=load_source("digits-base", RunStore(store)),
        init_from="digits-base", freeze_epochs=1, **knobs,
    )  # fmt: skip
    assert frozen.losses[0] == pytest.approx(warm.losses[0])  # same weights, same first batch
    assert frozen.losses[-1] != pytest.approx(warm.losses[-1])  # only the head moved
    run = train("digits", store=store, init_from="digits-base", **dict(KNOBS, learning_rate="auto"))
    from_run = resolve_auto_learning_rate(
        "digits",
        Hyperparameters.parse(dict(KNOBS, init_from="digits-base")),
        source=load_source("digits-base", RunStore(store)),
        split=None,
    )
    assert run.summary["learning_rate_auto"] == from_run
