from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tunelab.errors import TunelabError
from tunelab.evaluation import export_model, load_model, predict, resolve_predictor
from tunelab.models import list_models
from tunelab.runs import Run


def fake_run(root: Path, model: str, loss: str = "cross-entropy", channels: int = 2) -> Run:
    """A run folder with an untrained model: enough to export any architecture quickly."""
    from safetensors.torch import save_file

    from tunelab.models import create_model

    root.mkdir(parents=True)
    torch.manual_seed(0)
    net = create_model(model, in_channels=channels, num_classes=3, input_size=(16, 12))
    net.eval()
    save_file(
        {k: v.contiguous() for k, v in net.state_dict().items()}, str(root / "model.safetensors")
    )
    info = {
        "model": model,
        "activation": "relu",
        "dropout": 0.0,
        "loss": loss,
        "in_channels": channels,
        "num_classes": 3,
        "input_size": [16, 12],
        "class_names": ["a", "b", "c"],
        "max_value": 255.0,
        "data": "x",
    }
    (root / "model.json").write_text(json.dumps(info))
    (root / "config.yaml").write_text(f"model: {model}\nloss: {loss}\n")
    return Run(root)


def reference(run: Run, x: np.ndarray) -> np.ndarray:
    return load_model(run).probabilities(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("model", list_models())
def test_onnx_matches_pytorch_for_every_model(model: str, tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort

    run = fake_run(tmp_path / "run", model)
    path = export_model(run, "onnx", tmp_path / "m.onnx")
    x = np.random.default_rng(0).random((5, 2, 16, 12), dtype=np.float32)  # batch 5, not 2
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"images": x})
    np.testing.assert_allclose(got, reference(run, x), atol=1e-4)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    meta = json.loads(props["tunelab"])
    assert meta["class_names"] == ["a", "b", "c"]
    assert meta["input_size"] == [16, 12] and meta["in_channels"] == 2
    assert "255" in meta["scaling"]
    sidecar = json.loads((tmp_path / "m.onnx.json").read_text())
    assert sidecar["class_names"] == meta["class_names"] and sidecar["file"] == "m.onnx"


def test_onnx_exports_probabilities_of_sigmoid_losses(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "run", "simple-cnn", loss="sigmoid-cross-entropy")
    path = export_model(run, "onnx")
    assert path == run.path / "model.onnx"
    x = np.random.default_rng(1).random((3, 2, 16, 12), dtype=np.float32)
    got = resolve_predictor(path).probabilities(x)
    np.testing.assert_allclose(got, reference(run, x), atol=1e-4)
    np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_carries_metadata_and_matches(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "run", "cnn")
    path = export_model(run, "torchscript")
    assert path == run.path / "model.pt"
    extra = {"tunelab.json": ""}
    module = torch.jit.load(str(path), _extra_files=extra)
    assert json.loads(extra["tunelab.json"])["class_names"] == ["a", "b", "c"]
    x = np.random.default_rng(2).random((4, 2, 16, 12), dtype=np.float32)
    with torch.no_grad():
        got = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, reference(run, x), atol=1e-5)
    assert (tmp_path / "run" / "model.pt.json").is_file()


def test_predict_with_exported_models_agrees_with_the_run(
    folder_run: Run, flat_images: Path, tmp_path: Path
) -> None:
    by_run, _ = predict(resolve_predictor(str(folder_run.path)), flat_images, top_k=3)
    for fmt, name in (("onnx", "m.onnx"), ("torchscript", "m.pt")):
        path = export_model(folder_run, fmt, tmp_path / name)
        by_file, _ = predict(resolve_predictor(path), flat_images, top_k=3)
        assert [r.predicted for r in by_file] == [r.predicted for r in by_run]
        for a, b in zip(by_file, by_run, strict=True):
            assert a.probability == pytest.approx(b.probability, abs=1e-4)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_unknown_format_and_file_without_metadata(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "run", "mlp")
    with pytest.raises(TunelabError, match='unknown export format .* Did you mean "onnx"'):
        export_model(run, "onx")
    plain = tmp_path / "plain.onnx"
    torch.onnx.export(torch.nn.Linear(2, 2), (torch.zeros(1, 2),), str(plain), dynamo=False)
    with pytest.raises(TunelabError, match="no tunelab metadata"):
        resolve_predictor(plain)
