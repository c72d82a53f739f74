"""The Train form's endpoints: the fields (from the knob model), validation, config upload."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tunelab.knobs import Hyperparameters

YAML = {"Content-Type": "application/yaml"}


def test_the_form_has_every_knob_with_its_texts_and_bounds(client: TestClient) -> None:
    spec = client.get("/api/knobs").json()
    fields = {field["name"]: field for field in spec["knobs"]}
    assert list(fields) == list(Hyperparameters.model_fields)
    for field in fields.values():
        assert field["help"] and field["allowed"] and field["what"], field["name"]
        assert field["group"] in spec["groups"]
    lr = fields["learning_rate"]
    assert (lr["input"], lr["min_exclusive"], lr["max"], lr["default"]) == (
        "float",
        0.0,
        10.0,
        0.01,
    )
    assert lr["accepts_auto"] is True
    assert fields["epochs"]["input"] == "int" and fields["epochs"]["min"] == 1
    assert fields["optimizer"]["input"] == "choice" and "adamw" in fields["optimizer"]["choices"]
    assert fields["augment"]["input"] == "multi"
    assert fields["nesterov"]["input"] == "bool"
    assert fields["input_height"]["nullable"] is True and fields["input_height"]["input"] == "int"


def test_one_knob_is_explained(client: TestClient) -> None:
    assert client.get("/api/knobs/learning-rate").json()["name"] == "learning_rate"
    missing = client.get("/api/knobs/learning_rat")
    assert missing.status_code == 400
    assert 'Did you mean "learning_rate"?' in missing.json()["error"]


def test_validation_accepts_good_knobs(client: TestClient) -> None:
    response = client.post(
        "/api/knobs/validate", json={"values": {"learning_rate": 0.003, "augment": ["flip"]}}
    )
    assert response.status_code == 200
    hp = response.json()["hyperparameters"]
    assert hp["learning_rate"] == 0.003 and hp["augment"] == ["flip"] and hp["epochs"] == 10


def test_validation_names_every_bad_field_in_one_line_each(client: TestClient) -> None:
    response = client.post(
        "/api/knobs/validate",
        json={"values": {"learning_rate": -0.01, "optimizer": "adamm", "epochs": 5}},
    )
    assert response.status_code == 422
    body = response.json()
    assert set(body["errors"]) == {"learning_rate", "optimizer"}
    assert body["errors"]["learning_rate"] == (
        "invalid learning_rate: got -0.01; allowed: learning_rate > 0 (at most 10), or auto "
        "(the range test picks it). Typical: 0.0001 to 1; try 0.01, then steps of x3."
    )
    assert 'Did you mean "adam"' in body["errors"]["optimizer"]
    assert body["error"] in body["errors"].values()
    assert all("\n" not in message for message in body["errors"].values())


def test_validation_refuses_unknown_knobs_with_a_suggestion(client: TestClient) -> None:
    response = client.post("/api/knobs/validate", json={"values": {"learning-rate": 0.1}})
    assert response.status_code == 422
    assert 'Did you mean "learning_rate"?' in response.json()["errors"]["learning-rate"]


def test_validation_accepts_auto_learning_rate(client: TestClient) -> None:
    response = client.post("/api/knobs/validate", json={"values": {"learning_rate": "auto"}})
    assert response.status_code == 200


def test_a_malformed_request_is_one_line(client: TestClient) -> None:
    not_json = client.post(
        "/api/knobs/validate", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
    assert "not valid JSON" in not_json.json()["error"]
    extra = client.post("/api/knobs/validate", json={"values": {}, "extra": 1})
    assert extra.status_code == 422
    assert "'extra'" in extra.json()["error"]


def test_a_config_file_fills_the_form(client: TestClient) -> None:
    response = client.post(
        "/api/config/parse", content=b"learning_rate: 0.03\nepochs: 4\n", headers=YAML
    )
    assert response.status_code == 200
    hp = response.json()["hyperparameters"]
    assert hp["learning_rate"] == 0.03 and hp["epochs"] == 4
    json_file = client.post("/api/config/parse", content=b'{"batch_size": 16}', headers=YAML)
    assert json_file.json()["hyperparameters"]["batch_size"] == 16


def test_a_bad_config_file_is_one_line(client: TestClient) -> None:
    cases = {
        b"epochs: [1, 2": "not valid YAML: ",
        b"- 1\n- 2\n": "must hold a mapping of knob names to values (got a list)",
        b"epochs: 0\n": "invalid epochs: got 0",
        b"\xff\xfe": "not UTF-8 text",
        b"!!python/object:os.system {}": "not valid YAML",
    }
    for content, expected in cases.items():
        response = client.post("/api/config/parse", content=content, headers=YAML)
        assert response.status_code == 400, content
        assert expected in response.json()["error"], content


def test_unknown_endpoints_and_methods_are_json(client: TestClient) -> None:
    missing = client.get("/api/nothing")
    assert missing.status_code == 404 and "not found: /api/nothing" in missing.json()["error"]
    wrong = client.put("/api/knobs")
    assert wrong.status_code == 405 and "method PUT" in wrong.json()["error"]
