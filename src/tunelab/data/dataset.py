"""The decoded data set: compact integer images in memory, float batches on demand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


@dataclass(eq=False)
class ImageDataset:
    """Images ``(N, C, H, W)`` (uint8, uint16 or float32) with int64 labels ``(N,)``.

    ``max_value`` is what 1.0 means (255, 65535, 16 for digits, 1.0 for float images);
    ``paths[i]`` names where image ``i`` came from; ``skipped`` lists ``(path, reason)``
    for files left out with ``skip_bad=True``; ``from_cache`` tells whether the arrays
    came from the decode cache. ``notes`` are one-line messages about how the source was
    read (a project layout, unlabelled rows left out, a split column); ``partition[i]`` is
    ``"train"``, ``"val"``, ``"test"`` or ``""`` when the manifest had a split column
    (None otherwise); ``unlabelled`` lists the images without a label (to predict).

    >>> import numpy as np
    >>> ds = ImageDataset(np.zeros((2, 1, 4, 4), np.uint8), np.array([0, 1]), ["a", "b"],
    ...                   255.0, ["x.png", "y.png"])
    >>> ds.tensor([1]).shape
    torch.Size([1, 1, 4, 4])
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    max_value: float
    paths: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    source: str = ""
    from_cache: bool = False
    notes: list[str] = field(default_factory=list)
    partition: np.ndarray | None = None
    unlabelled: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.partition is not None:
            self.partition = np.asarray(self.partition, dtype="<U5")
            if len(self.partition) != len(self.labels):
                raise ValueError(
                    f"{len(self.partition)} partition entries for {len(self.labels)} images"
                )
        if self.images.ndim != 4:
            raise ValueError(f"images must be (N, C, H, W), got shape {self.images.shape}")
        if not (len(self.images) == len(self.labels) == len(self.paths)):
            raise ValueError(
                f"{len(self.images)} images, {len(self.labels)} labels and "
                f"{len(self.paths)} paths must have the same length"
            )

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (
            f"ImageDataset({len(self)} images {self.images.shape[1:]} {self.images.dtype}, "
            f"{self.num_classes} classes, source={self.source!r})"
        )

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def input_size(self) -> tuple[int, int]:
        """``(height, width)`` of every image."""
        return int(self.images.shape[2]), int(self.images.shape[3])

    def split(
        self, validation_fraction: float, seed: int = 0, use_manifest_split: bool = True
    ) -> tuple[np.ndarray, np.ndarray, str]:
        """``(train_idx, val_idx, note)``: the manifest's split if any, else stratified.

        See :func:`tunelab.data.split.dataset_split`; ``note`` is one line saying which.
        """
        from tunelab.data.split import dataset_split

        return dataset_split(
            self.labels, self.partition, validation_fraction, seed, use_manifest_split
        )

    def class_counts(self) -> np.ndarray:
        """Number of images per class, indexed like ``class_names``."""
        return np.bincount(self.labels, minlength=self.num_classes)

    def tensor(
        self, indices: Sequence[int] | np.ndarray | slice | torch.Tensor | None = None
    ) -> torch.Tensor:
        """Images ``indices`` (all when None) as a float32 CPU tensor scaled to [0, 1]."""
        import torch

        if isinstance(indices, torch.Tensor):
            indices = indices.cpu().numpy()
        images = self.images if indices is None else self.images[indices]
        if images.dtype == np.uint8:
            floats = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32)
        else:
            floats = torch.from_numpy(np.array(images, dtype=np.float32))
        if self.max_value != 1.0:
            floats.div_(float(self.max_value))
        return floats

    def subset(self, indices: Sequence[int] | np.ndarray) -> ImageDataset:
        """A data set with the chosen images only (same classes)."""
        index = np.asarray(indices, dtype=np.int64)
        return ImageDataset(
            images=self.images[index],
            labels=self.labels[index],
            class_names=list(self.class_names),
            max_value=self.max_value,
            paths=[self.paths[i] for i in index],
            skipped=list(self.skipped),
            source=self.source,
            from_cache=self.from_cache,
            notes=list(self.notes),
            partition=None if self.partition is None else self.partition[index],
            unlabelled=list(self.unlabelled),
        )
