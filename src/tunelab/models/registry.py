"""Model registry: model factories registered by name, created by name.

A model module registers its factory with :func:`register_model`; callers use
:func:`create_model`. Every model returns logits of shape ``(N, num_classes)``.

Example::

    from tunelab.models import create_model
    model = create_model("simple-cnn", in_channels=1, num_classes=10, input_size=(28, 28))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from tunelab.errors import TunelabError, unknown_choice
from tunelab.models.activations import ACTIVATIONS

#: Builds a model from keywords ``in_channels``, ``num_classes``, ``input_size`` (None only
#: for models that do not need it), ``activation`` and ``dropout``: usually the model
#: class itself, registered with ``register_model(name, description)(ModelClass)``.
ModelFactory = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelInfo:
    """One registered model.

    ``needs_input_size`` is true for models whose layer sizes depend on the image size
    (they flatten the feature map); the others accept any image size at run time.
    """

    name: str
    description: str
    factory: ModelFactory
    needs_input_size: bool = False


MODELS: dict[str, ModelInfo] = {}


def register_model(
    name: str, description: str, *, needs_input_size: bool = False
) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator that registers ``factory`` under ``name`` and returns it unchanged."""

    def decorate(factory: ModelFactory) -> ModelFactory:
        if name in MODELS:
            raise ValueError(f"model {name!r} is already registered")
        MODELS[name] = ModelInfo(name, description, factory, needs_input_size)
        return factory

    return decorate


def list_models() -> list[str]:
    """Registered model names, simplest first (registration order)."""
    return list(MODELS)


def create_model(
    name: str,
    *,
    in_channels: int,
    num_classes: int,
    input_size: tuple[int, int] | None = None,
    activation: str = "relu",
    dropout: float = 0.0,
) -> nn.Module:
    """Build model ``name`` for ``in_channels``-channel images of ``input_size`` (h, w).

    ``activation`` is used for every hidden nonlinearity; ``dropout`` is applied at least
    before the final classifier. Models that flatten their feature map (``simple-cnn``,
    ``mlp``) need ``input_size``; the others adapt to any size.
    """
    try:
        info = MODELS[name]
    except KeyError:
        raise unknown_choice("model", name, MODELS) from None
    if activation not in ACTIVATIONS:
        raise unknown_choice("activation", activation, ACTIVATIONS)
    if in_channels < 1:
        raise TunelabError(f"in_channels must be >= 1 (got {in_channels}).")
    if num_classes < 1:
        raise TunelabError(f"num_classes must be >= 1 (got {num_classes}).")
    if not 0.0 <= dropout < 1.0:
        raise TunelabError(
            f"dropout must be in [0, 1) (got {dropout}). Typical values: 0 to 0.5; try 0.2."
        )
    if input_size is not None:
        if len(input_size) != 2 or min(input_size) < 1:
            raise TunelabError(
                f"input_size must be (height, width) with both >= 1 (got {input_size})."
            )
        input_size = (int(input_size[0]), int(input_size[1]))
    elif info.needs_input_size:
        raise TunelabError(
            f"model {name!r} flattens its feature map, so it needs input_size=(height, width)."
        )
    return info.factory(
        in_channels=in_channels,
        num_classes=num_classes,
        input_size=input_size,
        activation=activation,
        dropout=dropout,
    )
