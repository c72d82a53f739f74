"""The hyperparameter model: defaults, one-line errors for every field, files, round trips."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters, choices, knob_info, read_config_file

FIELDS = list(Hyperparameters.model_fields)


def test_defaults_follow_piximi() -> None:
    hp = Hyperparameters()
    assert (hp.optimizer, hp.loss, hp.learning_rate) == ("adam", "cross-entropy", 0.01)
    assert (hp.batch_size, hp.epochs, hp.validation_fraction) == (32, 10, 0.25)
    assert hp.model == "simple-cnn"


@pytest.mark.parametrize("field", FIELDS)
def test_every_field_documents_its_range(field: str) -> None:
    info = knob_info(field)
    assert info["help"] and info["allowed"] and info["typical"] and info["group"]


# One wrong-type and one out-of-range (or unknown-choice) value for every field.
BAD = {
    "model": ["resnet50", 3],
    "activation": ["relu6", None],
    "dropout": [1.0, -0.1, "lots"],
    "input_height": [2, 5000, "tall"],
    "input_width": [3, 2048, 1.5],
    "optimizer": ["adma", "lbfgs"],
    "learning_rate": [0, -0.01, 11, "fast"],
    "momentum": [1.0, -0.5],
    "nesterov": ["maybe", 3],
    "beta1": [1.0, -0.1],
    "beta2": [1.5, "x"],
    "weight_decay": [-1e-4, 2.0],
    "gradient_clip": [0, -1],
    "loss": ["crossentropy", "kl"],
    "label_smoothing": [1.0, -0.1],
    "focal_gamma": [-1, 11],
    "batch_size": [0, -32, 1.5, "big"],
    "epochs": [0, 10001, "ten"],
    "validation_fraction": [0, 1, 1.2],
    "use_manifest_split": ["sometimes", 2],
    "schedule": ["linear", "cosine-annealing"],
    "schedule_step_epochs": [0],
    "schedule_gamma": [0, 1.5],
    "plateau_patience": [-1],
    "early_stopping_patience": [-2, "soon"],
    "restore_best_weights": ["perhaps"],
    "augment": [["flip", "zoom"], "mixup"],
    "seed": [-1, 2**32, "abc"],
    "split_seed": [-1, 2**32, "abc"],
    "precision": ["fp8", "half"],
    "device": ["tpu", "gpu"],
    "threads": [0, "many"],
    "init_from": ["", 3],
    "freeze_epochs": [-1, 10001, "two"],
    "backbone_lr_factor": [0, 1.5, -0.1],
}


def test_bad_table_covers_every_field() -> None:
    assert set(BAD) == set(FIELDS)


@pytest.mark.parametrize(
    ("field", "value"), [(field, value) for field, values in BAD.items() for value in values]
)
def test_invalid_value_gives_one_line_naming_field_value_and_range(field: str, value) -> None:
    with pytest.raises(TunelabError) as caught:
        Hyperparameters.parse({field: value})
    message = str(caught.value)
    assert "\n" not in message
    assert field in message
    assert knob_info(field)["allowed"] in message
    assert "Typical" in message


def test_misspelt_key_suggests_the_right_one() -> None:
    with pytest.raises(TunelabError, match='Did you mean "learning_rate"'):
        Hyperparameters.parse({"learnig_rate": 0.1})
    with pytest.raises(TunelabError, match='Did you mean "batch_size"'):
        Hyperparameters.parse({"batch-size": 8})


def test_misspelt_choice_suggests_the_right_one() -> None:
    with pytest.raises(TunelabError, match='Did you mean "adam"'):
        Hyperparameters.parse({"optimizer": "adma"})
    with pytest.raises(TunelabError, match='Did you mean "simple-cnn"'):
        Hyperparameters.parse({"model": "simple_cnn"})


def test_augment_accepts_comma_list() -> None:
    assert Hyperparameters(augment="flip, rot90,flip").augment == ["flip", "rot90"]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_save_and_load_round_trip(tmp_path, suffix: str) -> None:
    hp = Hyperparameters(
        optimizer="momentum",
        nesterov=True,
        learning_rate=0.003,
        augment=["flip"],
        input_height=28,
        gradient_clip=1.0,
    )
    path = hp.save(tmp_path / f"config{suffix}")
    assert Hyperparameters.load(path) == hp


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.yaml", "learning_rate: [0.1\n", "not valid YAML"),
        ("bad.json", '{"learning_rate": 0.1,', "not valid JSON"),
        ("list.yaml", "- 1\n- 2\n", "must hold a mapping"),
        ("unknown.yaml", "learnign_rate: 0.1\n", 'Did you mean "learning_rate"'),
        ("unknown.json", '{"optimiser": "adam"}', 'Did you mean "optimizer"'),
        ("range.json", '{"batch_size": 0}', "batch_size"),
    ],
)
def test_bad_config_files(tmp_path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TunelabError, match=expected) as caught:
        Hyperparameters.load(path)
    assert "\n" not in str(caught.value)


def test_missing_config_file(tmp_path) -> None:
    with pytest.raises(TunelabError, match="config file not found"):
        read_config_file(tmp_path / "nope.yaml")


def test_empty_config_file_means_defaults(tmp_path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert Hyperparameters.load(path) == Hyperparameters()


def _valid_values():
    return st.fixed_dictionaries(
        {},
        optional={
            "model": st.sampled_from(choices("model")),
            "optimizer": st.sampled_from(choices("optimizer")),
            "loss": st.sampled_from(choices("loss")),
            "activation": st.sampled_from(choices("activation")),
            "schedule": st.sampled_from(choices("schedule")),
            "learning_rate": st.floats(min_value=1e-8, max_value=10, allow_nan=False),
            "batch_size": st.integers(1, 65536),
            "epochs": st.integers(1, 10000),
            "dropout": st.floats(0, 0.999),
            "validation_fraction": st.floats(0.001, 0.999),
            "nesterov": st.booleans(),
            "seed": st.integers(0, 2**32 - 1),
            "input_height": st.none() | st.integers(4, 1024),
            "augment": st.lists(st.sampled_from(choices("augment")), unique=True),
            "gradient_clip": st.none() | st.floats(1e-6, 1e6),
        },
    )


@settings(max_examples=60, deadline=None)
@given(_valid_values())
def test_valid_values_round_trip_through_yaml_and_json(values) -> None:
    hp = Hyperparameters.parse(values)
    data = hp.model_dump(mode="json")
    assert Hyperparameters.parse(yaml.safe_load(yaml.safe_dump(data))) == hp
    assert Hyperparameters.parse(json.loads(json.dumps(data))) == hp


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["learning_rate", "batch_size", "epochs", "dropout", "validation_fraction"]),
    st.one_of(
        st.floats(max_value=0, exclude_max=True, allow_nan=False),
        st.text(min_size=1).filter(
            lambda s: not s.strip().lstrip("+-").replace(".", "", 1).isdigit()
        ),
    ),
)
def test_invalid_numbers_are_refused_with_a_message(field: str, value) -> None:
    with pytest.raises(TunelabError) as caught:
        Hyperparameters.parse({field: value})
    assert field in str(caught.value)


def _cli_args(values: dict) -> list[str]:
    """``values`` as a user would type them as flags of `tunelab train`."""
    from tunelab.cli.knob_flags import flag_name

    args: list[str] = []
    for field, value in values.items():
        if isinstance(value, bool):
            args.append(flag_name(field) if value else f"--no-{field.replace('_', '-')}")
        elif value is None:
            args += [flag_name(field), "none"]
        elif isinstance(value, list):
            args += [flag_name(field), ",".join(value) if value else "none"]
        else:
            args += [flag_name(field), repr(value) if isinstance(value, float) else str(value)]
    return args


@settings(max_examples=60, deadline=None)
@given(_valid_values())
def test_valid_values_round_trip_through_the_cli_flags(values) -> None:
    import typer

    from tunelab.cli.knob_flags import cli_knobs, with_knob_flags

    parsed: list[Hyperparameters] = []

    @with_knob_flags
    def command(**knobs) -> None:
        parsed.append(Hyperparameters.parse(cli_knobs(knobs)))

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(command)
    app(args=_cli_args(values), prog_name="tunelab", standalone_mode=False)
    assert parsed == [Hyperparameters.parse(values)]
