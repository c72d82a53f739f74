"""Property test: random sizes, channel counts and bit depths load correctly."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from tunelab.data import load_dataset


@st.composite
def image_sets(draw: st.DrawFn) -> tuple[int, str, list[tuple[int, int]], int]:
    channels = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from(["uint8", "uint16"]))
    side = st.integers(5, 24)
    sizes = draw(st.lists(st.tuples(side, side), min_size=2, max_size=6))
    seed = draw(st.integers(0, 2**16))
    return channels, dtype, sizes, seed


def _write(path: Path, image: np.ndarray) -> None:
    channels = image.shape[0]
    # PNG where it can hold the image (8-bit 1-4 channels, 16-bit gray), TIFF stacks otherwise
    if channels == 1 or image.dtype == np.uint8:
        pixels = image[0] if channels == 1 else image.transpose(1, 2, 0)
        Image.fromarray(pixels).save(path.with_suffix(".png"))
    else:
        tifffile.imwrite(path.with_suffix(".tif"), image, photometric="minisblack")


@settings(max_examples=20, deadline=None)
@given(image_sets())
def test_random_images_load_with_right_shape_dtype_and_range(
    spec: tuple[int, str, list[tuple[int, int]], int],
) -> None:
    channels, dtype, sizes, seed = spec
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        originals = []
        for i, (h, w) in enumerate(sizes):
            folder = root / ("a" if i % 2 == 0 else "b")
            folder.mkdir(parents=True, exist_ok=True)
            image = rng.integers(0, top, (channels, h, w), endpoint=True, dtype=dtype)
            _write(folder / f"img{i}", image)
            originals.append(image)
        ds = load_dataset(root, cache_dir=Path(tmp) / "cache")
        order = sorted(range(len(sizes)), key=lambda i: (i % 2, i))  # class a, then b
        counts: dict[tuple[int, int], int] = {}
        for i in order:  # the loader's file order
            counts[sizes[i]] = counts.get(sizes[i], 0) + 1
        expected_size = max(counts, key=lambda s: counts[s])  # ties: first in file order
        assert ds.images.shape == (len(sizes), channels, *expected_size)
        assert ds.images.dtype == dtype and ds.max_value == float(top)
        x = ds.tensor()
        assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
        for row, i in enumerate(order):
            if sizes[i] == expected_size:
                np.testing.assert_allclose(
                    x[row].numpy(), originals[i].astype(np.float32) / top, rtol=0, atol=1e-6
                )
