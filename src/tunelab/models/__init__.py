"""Image-classifier models, registered by name.

Example::

    from tunelab.models import create_model, list_models
    list_models()  # ['simple-cnn', 'cnn', 'resnet', 'mobilenet', 'mlp', 'resnet18', ...]
    model = create_model("resnet", in_channels=3, num_classes=10, input_size=(32, 32))
"""

# Importing the model modules registers them, in the order list_models() reports.
from tunelab.models import simple_cnn, cnn, resnet, mobilenet, mlp  # noqa: F401, I001
from tunelab.models import resnet18, mobilenet_v2  # noqa: F401, I001
from tunelab.models.activations import ACTIVATIONS, ActivationInfo, create_activation
from tunelab.models.registry import (
    MODELS,
    ModelFactory,
    ModelInfo,
    create_model,
    list_models,
    register_model,
)

__all__ = [
    "ACTIVATIONS",
    "MODELS",
    "ActivationInfo",
    "ModelFactory",
    "ModelInfo",
    "create_activation",
    "create_model",
    "list_models",
    "register_model",
]
