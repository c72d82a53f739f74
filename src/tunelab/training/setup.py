"""Everything a training procedure builds before its first step, built one way.

:func:`build_training` makes the model, the loss and the optimizer from the knobs (same
seed, same initial weights) for :func:`tunelab.training.trainer.train` and the
learning-rate range test alike.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from tunelab.data import ImageDataset, load_dataset
from tunelab.knobs import Hyperparameters
from tunelab.models import create_model
from tunelab.training.device import Precision
from tunelab.training.losses import create_loss
from tunelab.training.optimizers import Params, create_optimizer
from tunelab.training.transfer import Source, apply_init, parameter_groups


def resolve_dataset(
    data: str | Path | ImageDataset, hp: Hyperparameters, skip_bad: bool = False
) -> ImageDataset:
    if isinstance(data, ImageDataset):
        return data
    return load_dataset(data, input_size=hp.input_size, skip_bad=skip_bad)


def build_training(
    dataset: ImageDataset,
    hp: Hyperparameters,
    device: torch.device,
    precision: Precision,
    *,
    lr: float,
) -> tuple[nn.Module, nn.Module, torch.optim.Optimizer]:
    """The model, loss and optimizer as ``train()`` builds them (same seed, same init)."""
    torch.manual_seed(hp.seed)
    _, channels, height, width = dataset.images.shape
    num_classes = len(dataset.class_names)
    model = create_model(
        hp.model,
        in_channels=channels,
        num_classes=num_classes,
        input_size=(height, width),
        activation=hp.activation,
        dropout=hp.dropout,
    ).to(device)
    if precision.for_model(model).channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    loss_fn = create_loss(
        hp.loss, num_classes, label_smoothing=hp.label_smoothing, focal_gamma=hp.focal_gamma
    )
    return model, loss_fn, make_optimizer(hp, model.parameters(), lr)


def make_optimizer(hp: Hyperparameters, params: Params, lr: float) -> torch.optim.Optimizer:
    """The ``optimizer`` knob's optimizer over ``params`` (tensors or parameter groups)."""
    return create_optimizer(
        hp.optimizer,
        params,
        lr=lr,
        weight_decay=hp.weight_decay,
        momentum=hp.momentum,
        nesterov=hp.nesterov,
        betas=(hp.beta1, hp.beta2),
    )


def load_init(
    model: nn.Module, source: Source, hp: Hyperparameters, dataset: ImageDataset
) -> list[str]:
    """Copy ``init_from``'s weights (``source``) into ``model``, fitted to ``dataset``'s
    classes, channels and image size; the notes say what was adapted."""
    _, _, height, width = dataset.images.shape
    return apply_init(
        model,
        source,
        model_name=hp.model,
        class_names=list(dataset.class_names),
        input_size=(height, width),
    )


def transfer_optimizer(
    model: nn.Module, hp: Hyperparameters, lr: float
) -> torch.optim.Optimizer | None:
    """With ``init_from`` and ``backbone_lr_factor`` != 1: an optimizer giving the backbone
    its own learning rate (the head's is ``lr``); None where the one built serves."""
    if not hp.init_from or hp.backbone_lr_factor == 1.0:
        return None
    return make_optimizer(hp, parameter_groups(model, lr, hp.backbone_lr_factor), lr)
