"""Decode once: reuse, invalidation, corruption, location and unwritable folders."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from tunelab.data import decode, load_dataset, make_synthetic_folder
from tunelab.data.cache import cache_dir as resolve_cache_dir


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = decode.decode_image

    def counting(path: str | Path) -> np.ndarray:
        calls.append(str(path))
        return original(path)

    monkeypatch.setattr(decode, "decode_image", counting)
    return calls


def _forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: str | Path) -> np.ndarray:
        raise AssertionError(f"decoded {path} again")

    monkeypatch.setattr(decode, "decode_image", refuse)


def _cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.npz"))


def test_second_load_does_not_decode(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=3)
    calls = _count_decodes(monkeypatch)
    first = load_dataset(root)
    assert len(calls) == 6 and not first.from_cache
    assert len(_cache_files(cache_dir)) == 1
    _forbid_decoding(monkeypatch)
    second = load_dataset(root)
    assert second.from_cache
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.labels, second.labels)
    assert (first.class_names, first.paths, first.max_value, first.source) == (
        second.class_names,
        second.paths,
        second.max_value,
        second.source,
    )


def test_skipped_list_survives_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=2)
    (root / "class0" / "bad.png").write_bytes(b"nope")
    first = load_dataset(root, skip_bad=True)
    _forbid_decoding(monkeypatch)
    second = load_dataset(root, skip_bad=True)
    assert second.from_cache and second.skipped == first.skipped and len(second.skipped) == 1


def test_changed_file_invalidates(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=3)
    load_dataset(root)
    target = root / "class1" / "img000.png"
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # newer mtime only
    calls = _count_decodes(monkeypatch)
    assert not load_dataset(root).from_cache and len(calls) == 6
    assert len(_cache_files(cache_dir)) == 1  # the stale file was replaced


def test_changed_size_and_new_files_invalidate(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=3)
    load_dataset(root)
    make_synthetic_folder(tmp_path / "d", classes=2, per_class=4, seed=1)  # rewrites + adds
    ds = load_dataset(root)
    assert not ds.from_cache and len(ds) == 8


def test_input_size_and_skip_bad_are_part_of_the_key(tmp_path: Path, cache_dir: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=2)
    load_dataset(root)
    assert load_dataset(root, input_size=(6, 6)).images.shape[2:] == (6, 6)
    assert not load_dataset(root, skip_bad=True).from_cache
    assert load_dataset(root, input_size=(6, 6)).from_cache
    assert len(_cache_files(cache_dir)) == 3


def _rewrite(file: Path, **changes: object) -> None:
    with np.load(file) as arrays:
        contents = {name: arrays[name] for name in arrays.files}
    contents.update(changes)
    with open(file, "wb") as handle:
        np.savez(handle, **contents)


@pytest.mark.parametrize("damage", ["garbage", "truncate", "flip-bytes", "tamper", "stale"])
def test_corrupt_or_stale_cache_is_rebuilt(tmp_path: Path, cache_dir: Path, damage: str) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=3)
    expected = load_dataset(root).images
    (file,) = _cache_files(cache_dir)
    data = file.read_bytes()
    if damage == "garbage":
        file.write_bytes(b"not a zip file at all")
    elif damage == "truncate":
        file.write_bytes(data[: len(data) // 2])
    elif damage == "flip-bytes":
        damaged = bytearray(data)
        offset = data.index(b"images.npy") + 200
        damaged[offset : offset + 8] = bytes(255 - b for b in damaged[offset : offset + 8])
        file.write_bytes(bytes(damaged))
    elif damage == "tamper":  # a valid file whose pixels no longer match the checksum
        _rewrite(file, images=np.zeros_like(expected))
    else:  # a valid file written for other inputs
        with np.load(file) as arrays:
            meta = str(arrays["meta"][()]).replace('"fingerprint": "', '"fingerprint": "x')
        _rewrite(file, meta=np.array(meta))
    ds = load_dataset(root)
    assert not ds.from_cache
    np.testing.assert_array_equal(ds.images, expected)
    assert load_dataset(root).from_cache


def test_env_variable_and_argument_choose_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=2)
    monkeypatch.setenv("TUNELAB_CACHE_DIR", str(tmp_path / "from-env"))
    load_dataset(root)
    assert len(_cache_files(tmp_path / "from-env")) == 1
    load_dataset(root, cache_dir=tmp_path / "from-arg")
    assert len(_cache_files(tmp_path / "from-arg")) == 1
    monkeypatch.delenv("TUNELAB_CACHE_DIR")
    assert resolve_cache_dir() == Path.home() / ".cache" / "tunelab" / "datasets"


def test_unwritable_cache_folder_warns_and_continues(tmp_path: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=2)
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the cache folder should go")
    with pytest.warns(UserWarning, match="cannot write the data set cache"):
        ds = load_dataset(root, cache_dir=blocker / "cache")
    assert len(ds) == 4
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not load_dataset(root, cache_dir=blocker / "cache").from_cache
    assert any("cannot write the data set cache" in str(w.message) for w in caught)


def test_no_temporary_files_left(tmp_path: Path, cache_dir: Path) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset(root)
    assert [p.name for p in cache_dir.iterdir() if p.name.startswith(".tmp")] == []


def test_csv_manifest_is_cached_and_invalidated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_synthetic_folder(tmp_path / "d", classes=2, per_class=2)
    rows = [f"{p.relative_to(root)},{p.parent.name}" for p in sorted(root.rglob("*.png"))]
    manifest = root / "m.csv"
    manifest.write_text("path,label\n" + "\n".join(rows) + "\n")
    load_dataset(manifest)
    assert load_dataset(manifest).from_cache
    manifest.write_text("path,label\n" + "\n".join(rows[:-1]) + "\n")
    ds = load_dataset(manifest)
    assert not ds.from_cache and len(ds) == 3
