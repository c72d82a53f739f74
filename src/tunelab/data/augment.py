"""Batch augmentation: whole-batch torch ops with a random choice per sample.

All random numbers come from ``generator`` (drawn on its device, then moved to the
batch's), so the same generator state gives the same batch. Kinds are applied in the
order given.

* ``flip``: horizontal flip, each sample with probability 1/2.
* ``rot90``: square images turn by 0, 90, 180 or 270 degrees; non-square images turn by
  180 degrees with probability 1/2 (a 90-degree turn would change their shape).
* ``crop``: pad by 1/8 of each side (reflect; replicate for images too small to
  reflect), then cut a random window of the original size per sample.
* ``brightness-contrast``: contrast x U(0.8, 1.2) around each sample's mean, brightness
  + U(-0.1, 0.1), clamped to [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tunelab.errors import unknown_choice

if TYPE_CHECKING:
    import torch

AUGMENTATIONS = ("flip", "rot90", "crop", "brightness-contrast")


def augment_batch(
    x: torch.Tensor, kinds: Sequence[str], generator: torch.Generator
) -> torch.Tensor:
    """Return an augmented copy of ``x`` (N, C, H, W float in [0, 1])."""
    for kind in kinds:
        if kind not in AUGMENTATIONS:
            raise unknown_choice("augmentation", kind, AUGMENTATIONS)
    if x.ndim != 4 or not x.is_floating_point():
        raise ValueError(
            f"augment_batch needs a float (N, C, H, W) tensor, got {x.dtype} {tuple(x.shape)}"
        )
    for kind in kinds:
        x = _AUGMENT[kind](x, generator)
    return x


def _uniform(x: torch.Tensor, generator: torch.Generator, low: float, high: float) -> torch.Tensor:
    import torch

    draw = torch.rand(x.shape[0], generator=generator, device=generator.device)
    return (low + (high - low) * draw).to(device=x.device, dtype=x.dtype)


def _per_sample(mask: torch.Tensor) -> torch.Tensor:
    return mask.view(-1, 1, 1, 1)


def flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    import torch

    mask = _uniform(x, generator, 0.0, 1.0) < 0.5
    return torch.where(_per_sample(mask), x.flip(-1), x)


def rot90(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    import torch

    if x.shape[-1] != x.shape[-2]:
        mask = _uniform(x, generator, 0.0, 1.0) < 0.5
        return torch.where(_per_sample(mask), x.flip(-1, -2), x)
    turns = torch.randint(0, 4, (x.shape[0],), generator=generator, device=generator.device)
    turns = turns.to(x.device)
    out = x
    for k in (1, 2, 3):
        out = torch.where(_per_sample(turns == k), torch.rot90(x, k, dims=(-2, -1)), out)
    return out


def crop(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape
    ph, pw = max(1, h // 8), max(1, w // 8)
    mode = "reflect" if ph < h and pw < w else "replicate"
    padded = F.pad(x, (pw, pw, ph, ph), mode=mode)
    dev = generator.device
    top = torch.randint(0, 2 * ph + 1, (n,), generator=generator, device=dev).to(x.device)
    left = torch.randint(0, 2 * pw + 1, (n,), generator=generator, device=dev).to(x.device)
    rows = top[:, None] + torch.arange(h, device=x.device)  # (N, H)
    cols = left[:, None] + torch.arange(w, device=x.device)  # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None]
    # advanced indexing puts the indexed dims first: (N, H, W, C) -> (N, C, H, W)
    picked = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return picked.permute(0, 3, 1, 2).contiguous()


def brightness_contrast(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    contrast = _per_sample(_uniform(x, generator, 0.8, 1.2))
    brightness = _per_sample(_uniform(x, generator, -0.1, 0.1))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * contrast + mean + brightness).clamp(0.0, 1.0)


_AUGMENT = {
    "flip": flip,
    "rot90": rot90,
    "crop": crop,
    "brightness-contrast": brightness_contrast,
}
