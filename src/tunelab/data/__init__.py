"""Data: sources (folder, CSV, ``digits``) -> decode once + cache -> split -> augment.

>>> from tunelab.data import load_dataset, stratified_split
>>> ds = load_dataset("digits")  # doctest: +SKIP
>>> train_idx, val_idx = stratified_split(ds.labels, 0.25, seed=0)  # doctest: +SKIP
>>> x = ds.tensor(train_idx[:32])  # float32 (32, 1, 8, 8) in [0, 1]  # doctest: +SKIP

Importing this package does not import torch, PIL, tifffile or scikit-learn; they are
imported by the functions that need them.
"""

from tunelab.data.augment import AUGMENTATIONS, augment_batch
from tunelab.data.dataset import ImageDataset
from tunelab.data.loader import load_dataset
from tunelab.data.split import stratified_split
from tunelab.data.synthetic import make_synthetic_folder

__all__ = [
    "AUGMENTATIONS",
    "ImageDataset",
    "augment_batch",
    "load_dataset",
    "make_synthetic_folder",
    "stratified_split",
]
