"""Start from trained weights: load them, fit them to the model, freeze the backbone.

``init_from`` names a run in the store or a weights file (``.safetensors``, or a
``.pth``/``.pt`` state dict as torchvision saves it, read with ``weights_only=True``).
:func:`apply_init` copies every tensor whose name and shape match the model and adapts
two that may legitimately differ:

- the classifier head (the model's last ``nn.Linear``) is new when the classes differ,
  reordered when the same classes come in another order, and kept when they are the same;
- the first convolution's input channels: weights trained on RGB (3 channels) are
  adapted to 1 or 2 microscopy channels by giving each new channel the sum of the
  original filters divided by the new channel count; to more channels by keeping the
  original filters on the first channels and giving each extra channel their mean, all
  scaled by old/new channel count. Either way an image with the same value in every
  channel gets the same first-layer response as before.

Anything else that does not fit (another architecture, another image size for models
that flatten their feature map) is a one-line :class:`~tunelab.errors.TunelabError`.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tunelab.errors import TunelabError, did_you_mean
from tunelab.runs import RunStore
from tunelab.runs.store import default_root
from tunelab.training.callbacks import Callback, TrainState

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")

# A few tensors that identify a public layout, for a helpful "use --model X" hint.
_LAYOUTS = {
    "resnet18": ("layer4.1.bn2.weight", "fc.weight"),
    "mobilenet-v2": ("features.18.0.weight", "classifier.1.weight"),
}


@dataclass
class Source:
    """Weights to start from: the tensors, where they came from, and what is known of them
    (a run's ``model.json``: model name, class names, channels, image size)."""

    tensors: dict[str, torch.Tensor]
    where: str
    info: dict[str, Any] = field(default_factory=dict)


def load_source(init_from: str, store: RunStore) -> Source:
    """The weights ``init_from`` names: a file path, else a run in ``store``."""
    path = Path(init_from).expanduser()
    if path.is_file():
        info = _read_json(path.parent / "model.json") if path.name == "model.safetensors" else {}
        return Source(_read_file(path), f"file {str(path)!r}", info)
    names = store.names()
    if init_from not in names and store.root.resolve() != default_root().resolve():
        # A sweep's or a study's trials train in their own store; the run is the user's.
        if init_from in RunStore(default_root()).names():
            store, names = RunStore(default_root()), RunStore(default_root()).names()
    if init_from in names:
        run = store.get(init_from)
        if not run.weights_path.is_file():
            raise TunelabError(
                f"init_from run {init_from!r} has no weights (status {run.status}: a diverged "
                "or unfinished run saves none). Choose a completed run from `tunelab runs list`."
            )
        return Source(_read_file(run.weights_path), f"run {init_from!r}", run.model_info)
    looks_like_file = "/" in init_from or init_from.lower().endswith(WEIGHT_SUFFIXES)
    what = "file not found" if looks_like_file else "not a run in the store nor a file"
    raise TunelabError(
        f"invalid init_from: {init_from!r} is {what} (run store {str(store.root)!r})."
        f"{did_you_mean(init_from, names)} Give a run name from `tunelab runs list` or the "
        f"path of a {', '.join(WEIGHT_SUFFIXES)} weights file."
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_file(path: Path) -> dict[str, torch.Tensor]:
    suffix = path.suffix.lower()
    if suffix not in WEIGHT_SUFFIXES:
        raise TunelabError(
            f"invalid init_from: {str(path)!r} is not a weights file (suffix {suffix or 'none'!r})"
            f". Allowed: {', '.join(WEIGHT_SUFFIXES)}."
        )
    try:
        if suffix == ".safetensors":
            from safetensors.torch import load_file

            data: Any = load_file(str(path))
        else:
            with warnings.catch_warnings():  # its pickle-protocol notes mean nothing here
                warnings.simplefilter("ignore")
                data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt, truncated, or a pickle that is not just tensors
        reason = " ".join(str(err).split())[:200]
        raise TunelabError(
            f"could not read weights from {str(path)!r}: {type(err).__name__}: {reason}. "
            "Give a .safetensors file or a state dict saved with "
            "torch.save(model.state_dict(), path)."
        ) from None
    tensors = _state_dict_in(data)
    if not tensors:
        raise TunelabError(
            f"{str(path)!r} holds no state dict of tensors. Save one with "
            "torch.save(model.state_dict(), path), or use a run's model.safetensors."
        )
    return tensors


def _state_dict_in(data: Any) -> dict[str, torch.Tensor]:
    """The tensors of a state dict, also inside {"state_dict": ...} or {"model": ...}
    (training checkpoints) and without DataParallel's ``module.`` prefix."""
    if isinstance(data, dict):
        for key in ("state_dict", "model"):
            if isinstance(data.get(key), dict):
                data = data[key]
                break
    if not isinstance(data, dict) or not data:
        return {}
    if not all(isinstance(v, torch.Tensor) for v in data.values()):
        return {}
    tensors = {str(k): v for k, v in data.items()}
    if all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module.") :]: v for k, v in tensors.items()}
    return tensors


def head_name(model: nn.Module) -> str:
    """The classifier head: the model's last ``nn.Linear`` (every registered model ends
    in one)."""
    names = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    if not names:
        raise TunelabError(f"{type(model).__name__} has no linear classifier head to replace.")
    return names[-1]


def first_conv_name(model: nn.Module) -> str | None:
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name
    return None


def adapt_channels(weight: torch.Tensor, channels: int) -> torch.Tensor:
    """First-layer filters for ``channels`` inputs from filters trained on another count.

    Fewer channels: each gets the filters' sum over the old channels divided by the new
    count (1 channel: the plain sum). More: the first channels keep the old filters and
    each extra one gets their mean, all scaled by old/new. Both keep the response to an
    image with the same value in every channel.
    """
    old = weight.shape[1]
    if channels < old:
        summed = weight.sum(dim=1, keepdim=True) / channels
        return summed.repeat(1, channels, 1, 1)
    extra = weight.mean(dim=1, keepdim=True).repeat(1, channels - old, 1, 1)
    return torch.cat([weight, extra], dim=1) * (old / channels)


def apply_init(
    model: nn.Module,
    source: Source,
    *,
    model_name: str,
    class_names: list[str],
    input_size: tuple[int, int],
) -> list[str]:
    """Load ``source`` into ``model`` in place; return the notes to show (head, channels)."""
    known_model = source.info.get("model")
    if known_model == "ensemble":
        members = [str(m.get("run")) for m in source.info.get("members", [])]
        raise TunelabError(
            f"init_from {source.where} is an ensemble of {len(members)} trained models, not "
            f"one network to start from. Start from one of its members instead: "
            f"{', '.join(members[:3])}."
        )
    if known_model and known_model != model_name:
        raise TunelabError(
            f"init_from {source.where} holds a {known_model!r} model; this run builds "
            f"{model_name!r}. Add --model {known_model} (the architecture must match the weights)."
        )
    target = model.state_dict()
    given = source.tensors
    missing = [k for k in target if k not in given and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in given if k not in target]
    if missing or unexpected:
        raise TunelabError(
            f"init_from {source.where} does not fit model {model_name!r}: {len(missing)} of its "
            f"tensors are missing from the weights (e.g. {missing[:1]}) and {len(unexpected)} "
            f"are not in the model (e.g. {unexpected[:1]}).{_layout_hint(given, model_name)}"
        )
    notes: list[str] = []
    head, conv = head_name(model), first_conv_name(model)
    state = dict(target)
    for key, value in given.items():
        wanted = target[key]
        if key.startswith(head + "."):
            continue
        if value.shape != wanted.shape:
            if (
                conv is not None
                and key == conv + ".weight"
                and _only_channels_differ(value, wanted)
            ):
                value = adapt_channels(value.float(), wanted.shape[1])
                notes.append(
                    f"first layer {conv} adapted from {given[key].shape[1]} input channels to "
                    f"{wanted.shape[1]} ({_rule(given[key].shape[1], wanted.shape[1])})."
                )
            else:
                raise TunelabError(
                    f"init_from {source.where} does not fit model {model_name!r}: {key} is "
                    f"{list(value.shape)} in the weights and {list(wanted.shape)} here."
                    f"{_size_hint(source.info, input_size)}"
                )
        state[key] = value.to(dtype=wanted.dtype)
    notes += _head(state, given, target, head, source, class_names)
    model.load_state_dict(state)
    return notes


def _only_channels_differ(value: torch.Tensor, wanted: torch.Tensor) -> bool:
    return (
        value.dim() == 4
        and value.shape[0] == wanted.shape[0]
        and value.shape[2:] == wanted.shape[2:]
    )


def _rule(old: int, new: int) -> str:
    if new < old:
        return "filters summed over the channels" + (f", divided by {new}" if new > 1 else "")
    return f"extra channels get the filters' mean, all scaled by {old}/{new}"


def _head(
    state: dict[str, torch.Tensor],
    given: dict[str, torch.Tensor],
    target: dict[str, torch.Tensor],
    head: str,
    source: Source,
    class_names: list[str],
) -> list[str]:
    """Keep, reorder or replace the classifier head; the note that says which."""
    weight, bias = f"{head}.weight", f"{head}.bias"
    old = given[weight]
    if old.shape[1] != target[weight].shape[1]:
        raise TunelabError(
            f"init_from {source.where} does not fit: the classifier {weight} takes "
            f"{old.shape[1]} features in the weights and {target[weight].shape[1]} here."
            f"{_size_hint(source.info, None)}"
        )
    keys = [k for k in (weight, bias) if k in target]
    old_names = source.info.get("class_names")
    if isinstance(old_names, list) and [str(c) for c in old_names] == class_names:
        order: list[int] | None = list(range(len(class_names)))
    elif isinstance(old_names, list) and sorted(map(str, old_names)) == sorted(class_names):
        order = [[str(c) for c in old_names].index(c) for c in class_names]
    elif not isinstance(old_names, list) and old.shape[0] == len(class_names):
        order = list(range(len(class_names)))
    else:
        order = None
    if order is None:
        described = (
            f"{len(old_names)} ({_few(old_names)})"
            if isinstance(old_names, list)
            else f"{old.shape[0]} outputs"
        )
        return [
            f"new classifier head {head}: the classes differ ({len(class_names)} here: "
            f"{_few(class_names)}; the weights of {source.where} have {described})."
        ]
    for key in keys:
        state[key] = given[key][order].to(dtype=target[key].dtype)
    if isinstance(old_names, list) and order != sorted(order):
        return [f"classifier head {head} reordered to this data's class order."]
    if not isinstance(old_names, list):
        return [
            f"classifier head {head} kept from {source.where}: it has {old.shape[0]} outputs like "
            "this data's classes, and no class names, so output i is taken as class i."
        ]
    return []


def _few(names: list[Any]) -> str:
    shown = ", ".join(str(n) for n in names[:5])
    return shown + (", ..." if len(names) > 5 else "")


def _layout_hint(tensors: dict[str, torch.Tensor], model_name: str) -> str:
    for name, keys in _LAYOUTS.items():
        if name != model_name and all(k in tensors for k in keys):
            return (
                f" They look like torchvision {name.replace('-', '_')} weights: add --model {name}."
            )
    return " Train with the --model the weights were saved from."


def _size_hint(info: dict[str, Any], input_size: tuple[int, int] | None) -> str:
    size = info.get("input_size")
    if (
        isinstance(size, list)
        and len(size) == 2
        and (input_size is None or list(input_size) != size)
    ):
        return (
            f" The weights were trained on {size[0]}x{size[1]} images: add --input-height "
            f"{size[0]} --input-width {size[1]}."
        )
    return ""


def backbone_and_head(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """The parameters below the classifier head, and the head's."""
    head = model.get_submodule(head_name(model))
    head_ids = {id(p) for p in head.parameters()}
    backbone = [p for p in model.parameters() if id(p) not in head_ids]
    return backbone, list(head.parameters())


def parameter_groups(model: nn.Module, lr: float, backbone_factor: float) -> list[dict[str, Any]]:
    """Optimizer groups: the head at ``lr`` first (its lr is the one reported), then the
    backbone at ``lr * backbone_factor``."""
    backbone, head = backbone_and_head(model)
    return [{"params": head}, {"params": backbone, "lr": lr * backbone_factor}]


class FreezeBackbone(Callback):
    """Trains only the classifier head for the first ``epochs`` epochs, then every layer.

    Frozen parameters get no gradient, so the optimizer leaves them (and their state)
    alone; batch-norm layers stay in training mode, so their statistics still adapt to
    the new images. A resumed run freezes only if it resumes inside the frozen epochs.
    """

    def __init__(self, model: nn.Module, epochs: int) -> None:
        self.backbone, _ = backbone_and_head(model)
        self.epochs = epochs

    def _set(self, trainable: bool) -> None:
        for parameter in self.backbone:
            parameter.requires_grad_(trainable)

    def on_train_start(self, state: TrainState) -> None:
        if state.epoch < self.epochs:
            self._set(False)

    def on_epoch_end(self, state: TrainState, record: dict[str, float]) -> None:
        if state.epoch >= self.epochs:
            self._set(True)

    def on_train_end(self, state: TrainState) -> None:
        self._set(True)
