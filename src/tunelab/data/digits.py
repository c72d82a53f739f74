"""The built-in ``digits`` data set (scikit-learn's 1,797 8x8 handwritten digits)."""

from __future__ import annotations

import numpy as np

from tunelab.data.dataset import ImageDataset
from tunelab.data.resize import resize_image


def load_digits_dataset(input_size: tuple[int, int] | None = None) -> ImageDataset:
    """Digits as uint8 ``(1797, 1, 8, 8)`` with values 0..16 (``max_value`` 16).

    Resized to another ``input_size``, the values are first stretched to 0..255
    (``max_value`` 255) so that interpolation does not lose precision to rounding.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # A copy, not the [:, None] view: that view's odd channel stride reaches PyTorch and
    # sends convolutions down another (differently rounding) path.
    images = np.asarray(bunch.images, dtype=np.uint8)[:, None].copy()
    max_value = 16.0
    if input_size is not None and tuple(input_size) != (8, 8):
        stretched = np.rint(images.astype(np.float32) * (255 / 16)).astype(np.uint8)
        images = resize_image(stretched, input_size)
        max_value = 255.0
    return ImageDataset(
        images=np.ascontiguousarray(images),
        labels=np.asarray(bunch.target, dtype=np.int64),
        class_names=[str(i) for i in range(10)],
        max_value=max_value,
        paths=[f"digits:{i}" for i in range(len(images))],
        source="digits",
    )
