"""Formats, channel layouts, bit depths and bad image files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from tunelab.data import load_dataset, make_synthetic_folder
from tunelab.data.decode import decode_image, probe_image
from tunelab.errors import TunelabError


def _save(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".tif", ".tiff"):
        tifffile.imwrite(path, array, photometric="minisblack")
    else:
        image = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
        image.save(path)
    return path


def _two_classes(root: Path, name: str, array: np.ndarray) -> Path:
    """A folder with the same image saved once in each of two classes."""
    for label in ("a", "b"):
        _save(root / label / name, array)
    return root


@pytest.mark.parametrize(
    ("fmt", "channels", "dtype", "max_value"),
    [
        ("png", 1, "uint8", 255.0),
        ("png", 1, "uint16", 65535.0),
        ("png", 2, "uint8", 255.0),
        ("png", 3, "uint8", 255.0),
        ("png", 4, "uint8", 255.0),
        ("jpg", 1, "uint8", 255.0),
        ("jpg", 3, "uint8", 255.0),
        ("bmp", 3, "uint8", 255.0),
        ("tif", 1, "uint8", 255.0),
        ("tif", 3, "uint16", 65535.0),
        ("tif", 5, "uint16", 65535.0),
    ],
)
def test_formats_keep_channels_and_depth(
    tmp_path: Path, fmt: str, channels: int, dtype: str, max_value: float
) -> None:
    root = make_synthetic_folder(
        tmp_path / "d", classes=2, per_class=2, channels=channels, dtype=dtype, fmt=fmt
    )
    ds = load_dataset(root)
    assert ds.images.shape == (4, channels, 12, 12)
    assert ds.images.dtype == dtype and ds.max_value == max_value
    x = ds.tensor()
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0 and float(x.max()) > 0.5


def test_png_values_exact(tmp_path: Path) -> None:
    array = np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) * 500
    ds = load_dataset(_two_classes(tmp_path / "d", "x.png", array))
    np.testing.assert_array_equal(ds.images[0, 0], array)
    assert ds.images.dtype == np.uint16


def test_uint16_two_channel_tiff_stacks_of_varying_sizes(tmp_path: Path) -> None:
    root = make_synthetic_folder(
        tmp_path / "d",
        classes=3,
        per_class=6,
        channels=2,
        dtype="uint16",
        fmt="tif",
        size=(16, 20),
        vary_size=True,
    )
    sizes = {tifffile.imread(p).shape for p in root.rglob("*.tif")}
    assert len(sizes) > 2 and all(s[0] == 2 for s in sizes)
    ds = load_dataset(root)
    assert ds.images.shape == (18, 2, 16, 20)  # most common size
    assert ds.images.dtype == np.uint16 and ds.max_value == 65535.0
    x = ds.tensor()
    assert x.dtype.is_floating_point and 0.0 <= float(x.min()) <= float(x.max()) <= 1.0
    resized = load_dataset(root, input_size=(8, 10))
    assert resized.images.shape == (18, 2, 8, 10) and resized.images.dtype == np.uint16


def test_tiff_channel_axis_is_smallest_axis(tmp_path: Path) -> None:
    chw = np.random.default_rng(0).integers(0, 65535, (3, 9, 11), dtype=np.uint16)
    first = _save(tmp_path / "chw.tif", chw)
    last = _save(tmp_path / "hwc.tif", np.ascontiguousarray(chw.transpose(1, 2, 0)))
    np.testing.assert_array_equal(decode_image(first), chw)
    np.testing.assert_array_equal(decode_image(last), chw)  # written as 9 pages of (11, 3)


def test_tiff_rgb_samples_axis_wins_for_tiny_images(tmp_path: Path) -> None:
    rgb = np.random.default_rng(1).integers(0, 255, (2, 2, 3), dtype=np.uint8)
    path = tmp_path / "tiny.tif"
    tifffile.imwrite(path, rgb, photometric="rgb")
    np.testing.assert_array_equal(decode_image(path), rgb.transpose(2, 0, 1))


def test_tiff_singleton_axes_are_dropped(tmp_path: Path) -> None:
    path = _save(tmp_path / "one.tif", np.full((1, 5, 7), 9, np.uint8))
    assert decode_image(path).shape == (1, 5, 7)
    assert probe_image(path).channels == 1


def test_tiff_zstack_is_refused(tmp_path: Path) -> None:
    path = _save(tmp_path / "z.tif", np.zeros((40, 20, 20), np.uint8))
    with pytest.raises(TunelabError, match="cannot tell which axis .* at most 16"):
        decode_image(path)


def test_float_tiff_in_unit_range_kept(tmp_path: Path) -> None:
    array = np.linspace(0, 1, 30, dtype=np.float32).reshape(5, 6)
    ds = load_dataset(_two_classes(tmp_path / "d", "f.tif", array))
    assert ds.images.dtype == np.float32 and ds.max_value == 1.0
    np.testing.assert_allclose(ds.images[0, 0], array)


def test_float_tiff_out_of_range_rescaled_globally(tmp_path: Path) -> None:
    _save(tmp_path / "d" / "a" / "x.tif", np.full((4, 4), 100.0, np.float32))
    _save(tmp_path / "d" / "b" / "y.tif", np.full((4, 4), 300.0, np.float32))
    ds = load_dataset(tmp_path / "d")
    assert ds.images[0].max() == 0.0 and ds.images[1].min() == 1.0


def test_float_tiff_with_nan_is_bad(tmp_path: Path) -> None:
    array = np.zeros((4, 4), np.float32)
    array[1, 1] = np.nan
    path = _save(tmp_path / "nan.tif", array)
    with pytest.raises(TunelabError, match="NaN or infinite"):
        decode_image(path)


def test_mixed_bit_depths_promote_to_uint16(tmp_path: Path) -> None:
    _save(tmp_path / "d" / "a" / "x.png", np.full((4, 4), 255, np.uint8))
    _save(tmp_path / "d" / "b" / "y.png", np.full((4, 4), 1000, np.uint16))
    ds = load_dataset(tmp_path / "d")
    assert ds.images.dtype == np.uint16 and ds.images[0].max() == 65535


@pytest.mark.parametrize(
    ("mode", "channels"), [("1", 1), ("L", 1), ("LA", 2), ("P", 3), ("RGBA", 4), ("CMYK", 3)]
)
def test_pil_modes(tmp_path: Path, mode: str, channels: int) -> None:
    rgb = np.random.default_rng(2).integers(0, 255, (6, 7, 3), dtype=np.uint8)
    path = tmp_path / ("x.jpg" if mode == "CMYK" else "x.png")
    _save(path, rgb, mode)
    image = decode_image(path)
    assert image.shape == (channels, 6, 7) and image.dtype == np.uint8
    if mode == "1":
        assert set(np.unique(image)) <= {0, 255}


def test_palette_with_transparency_becomes_rgba(tmp_path: Path) -> None:
    image = Image.new("P", (5, 5))
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.info["transparency"] = 0
    image.save(tmp_path / "p.png")
    assert decode_image(tmp_path / "p.png").shape == (4, 5, 5)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.fromarray(np.zeros((4, 8, 3), np.uint8))  # 8 wide, 4 high
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    image.save(tmp_path / "o.jpg", exif=exif)
    assert probe_image(tmp_path / "o.jpg").height == 8
    assert decode_image(tmp_path / "o.jpg").shape == (3, 8, 4)


def test_mixed_channel_counts_name_one_file_of_each(tmp_path: Path) -> None:
    _save(tmp_path / "d" / "a" / "gray1.png", np.zeros((5, 5), np.uint8))
    _save(tmp_path / "d" / "a" / "gray2.png", np.zeros((5, 5), np.uint8))
    _save(tmp_path / "d" / "b" / "color.png", np.zeros((5, 5, 3), np.uint8))
    with pytest.raises(TunelabError) as error:
        load_dataset(tmp_path / "d")
    message = str(error.value)
    assert "disagree in channel count" in message
    assert "gray1.png' has 1 channel (like 2 images)" in message
    assert "color.png' has 3 channels (like 1 image)" in message
    assert "\n" not in message


def test_mixed_channel_counts_raise_even_with_skip_bad(tmp_path: Path) -> None:
    _save(tmp_path / "d" / "a" / "gray.png", np.zeros((5, 5), np.uint8))
    _save(tmp_path / "d" / "b" / "color.png", np.zeros((5, 5, 3), np.uint8))
    with pytest.raises(TunelabError, match="disagree in channel count"):
        load_dataset(tmp_path / "d", skip_bad=True)


# ---- bad files -------------------------------------------------------------------------


def _with_bad_file(tmp_path: Path, name: str, content: bytes) -> tuple[Path, Path]:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=3)
    bad = root / "class1" / name
    bad.write_bytes(content)
    return root, bad


def _noise_bytes(suffix: str) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8)).save(
        buffer, format="JPEG" if suffix == ".jpg" else "PNG"
    )
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("corrupt.png", b"this is not a png", "not a readable"),
        ("corrupt.tif", b"this is not a tiff", "not a readable"),
        ("truncated.jpg", _noise_bytes(".jpg")[:2000], "truncated"),
        ("truncated.png", _noise_bytes(".png")[:3000], "truncated"),
        ("empty.png", b"", "empty (0 bytes)"),
    ],
    ids=["corrupt-png", "corrupt-tif", "truncated-jpg", "truncated-png", "empty"],
)
def test_bad_image_raises_then_skips(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    root, bad = _with_bad_file(tmp_path, name, content)
    with pytest.raises(TunelabError) as error:
        load_dataset(root)
    message = str(error.value)
    assert str(bad) in message and reason in message and "skip_bad=True" in message
    assert "\n" not in message
    ds = load_dataset(root, skip_bad=True)
    assert len(ds) == 6 and str(bad) not in ds.paths
    assert ds.skipped == [(str(bad), ds.skipped[0][1])] and reason in ds.skipped[0][1]


def test_zero_size_tiff(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tifffile.imwrite(tmp_path / "zero.tif", np.zeros((0, 7), np.uint8))
    with pytest.raises(TunelabError, match="zero size"):
        decode_image(tmp_path / "zero.tif")


def test_huge_image_refused_before_decoding(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=2)
    Image.new("1", (20000, 1)).save(root / "class0" / "wide.png")
    with pytest.raises(TunelabError) as error:
        load_dataset(root)
    assert "too large (20000x1 pixels" in str(error.value) and "16384" in str(error.value)
    assert len(load_dataset(root, skip_bad=True)) == 4


def test_decompression_bomb_becomes_tunelab_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _save(tmp_path / "bomb.png", np.zeros((30, 30), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(TunelabError, match="too large to open safely"):
        decode_image(tmp_path / "bomb.png")


def test_class_left_without_images_after_skipping(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=3, per_class=2)
    for path in (root / "class2").iterdir():
        path.write_bytes(b"broken")
    with pytest.raises(TunelabError, match="class 'class2' .* has no usable images"):
        load_dataset(root, skip_bad=True)


def test_decoding_on_threads_leaves_the_warning_filters_alone(tmp_path: Path) -> None:
    """Racing ``catch_warnings`` on the decode threads once silenced every warning."""
    root = make_synthetic_folder(tmp_path / "d", classes=4, per_class=40)
    load_dataset(root, cache_dir=tmp_path / "first")  # installs Pillow's filters, once
    before = list(warnings.filters)
    for attempt in range(3):
        load_dataset(root, cache_dir=tmp_path / f"cache-{attempt}")
    assert warnings.filters == before
