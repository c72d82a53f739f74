"""The hyperparameter model: every knob, its default, its allowed range, in one place.

The CLI flags, config files, the web form and the tuner's default search space are all
derived from :class:`Hyperparameters`, so a knob is declared here and nowhere else.
Defaults follow Piximi's: Adam, categorical cross-entropy, learning rate 0.01, batch size
32, 10 epochs, 25 % validation.

>>> hp = Hyperparameters(learning_rate=0.003)
>>> hp.optimizer, hp.batch_size
('adam', 32)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import annotated_types
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from tunelab.errors import TunelabError, did_you_mean

ModelName = Literal["simple-cnn", "cnn", "resnet", "mobilenet", "mlp", "resnet18", "mobilenet-v2"]
OptimizerName = Literal[
    "sgd", "momentum", "adam", "adamw", "adadelta", "adagrad", "adamax", "rmsprop", "nadam", "radam"
]
LossName = Literal[
    "cross-entropy",
    "sigmoid-cross-entropy",
    "hinge",
    "squared-hinge",
    "huber",
    "mse",
    "mae",
    "log-loss",
    "focal",
    "label-smoothing",
]
ActivationName = Literal["relu", "leaky-relu", "elu", "gelu", "silu", "tanh", "sigmoid"]
ScheduleName = Literal["constant", "step", "cosine", "one-cycle", "reduce-on-plateau"]
AugmentName = Literal["flip", "rot90", "crop", "brightness-contrast"]
PrecisionName = Literal["fp32", "bf16", "fp16", "auto"]
DeviceName = Literal["auto", "cpu", "cuda", "mps"]
#: The value of ``learning_rate`` that asks the range test to choose it at training time.
Auto = Literal["auto"]


def one_of(names: Any) -> str:
    """A Literal's names as a knob's ``allowed`` text: ``"sgd, momentum, adam"``."""
    return ", ".join(str(name) for name in get_args(names))


def knob(
    default: Any,
    *,
    allowed: str,
    typical: str,
    help: str,
    group: str,
    tunable: bool = False,
    search: dict[str, Any] | None = None,
    **constraints: Any,
) -> Any:
    """A pydantic Field carrying what tunelab needs to explain, validate and tune the knob.

    ``search`` is the knob's range in the tuner's default space, in the form a space file
    uses (``{low, high, log}``, ``{choices: [...]}``, ``{low, high, type: pow2}``); a
    categorical knob with ``search=None`` is searched over all its choices.
    """
    extra: dict[str, Any] = {
        "allowed": allowed,
        "typical": typical,
        "group": group,
        "tunable": tunable or search is not None,
    }
    if search is not None:
        extra["search"] = search
    return Field(default, description=help, json_schema_extra=extra, **constraints)


class Hyperparameters(BaseModel):
    """Every setting of a training run. Invalid values raise a one-line TunelabError."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    # --- architecture ---
    model: ModelName = knob(
        "simple-cnn",
        allowed=one_of(ModelName),
        typical="simple-cnn for small greyscale images; resnet for harder data; resnet18 "
        "or mobilenet-v2 to start from ImageNet weights (init_from)",
        help="network architecture, built from scratch unless init_from gives weights",
        group="model",
        # The torchvision-layout models are for pretrained weights: too slow to search.
        search={"choices": ["simple-cnn", "cnn", "resnet", "mobilenet", "mlp"]},
    )
    activation: ActivationName = knob(
        "relu",
        allowed=one_of(ActivationName),
        typical="relu",
        help="nonlinearity used in every hidden layer",
        group="model",
        tunable=True,
    )
    dropout: float = knob(
        0.0,
        allowed="0 <= dropout < 1",
        typical="0 to 0.5; try 0.25 when validation loss turns up",
        help="fraction of activations dropped before the classifier while training",
        group="model",
        search={"low": 0.0, "high": 0.5},
        ge=0.0,
        lt=1.0,
    )
    input_height: int | None = knob(
        None,
        allowed="4 to 1024 pixels, or unset (auto: the most common image height)",
        typical="28 for digits-sized images, 64 to 128 for microscopy crops",
        help="images are resized to this height",
        group="data",
        ge=4,
        le=1024,
    )
    input_width: int | None = knob(
        None,
        allowed="4 to 1024 pixels, or unset (auto: the most common image width)",
        typical="28 for digits-sized images, 64 to 128 for microscopy crops",
        help="images are resized to this width",
        group="data",
        ge=4,
        le=1024,
    )

    # --- optimisation ---
    optimizer: OptimizerName = knob(
        "adam",
        allowed=one_of(OptimizerName),
        typical="adam",
        help="the rule that turns gradients into weight updates",
        group="optimizer",
        search={"choices": ["adam", "adamw", "momentum", "nadam", "rmsprop"]},
    )
    # A number, or "auto": the range test picks it when training starts (trainer.train).
    learning_rate: Annotated[float, Field(gt=0.0, le=10.0)] | Auto = knob(
        0.01,
        allowed="learning_rate > 0 (at most 10), or auto (the range test picks it)",
        typical="0.0001 to 1; try 0.01, then steps of x3",
        help="step size of each weight update",
        group="optimizer",
        search={"low": 1e-4, "high": 0.1, "log": True},
    )
    momentum: float = knob(
        0.9,
        allowed="0 <= momentum < 1",
        typical="0.9",
        help="momentum of the momentum optimizer (SGD with momentum)",
        group="optimizer",
        ge=0.0,
        lt=1.0,
    )
    nesterov: bool = knob(
        False,
        allowed="true or false",
        typical="false",
        help="use Nesterov momentum (momentum optimizer only)",
        group="optimizer",
    )
    beta1: float = knob(
        0.9,
        allowed="0 <= beta1 < 1",
        typical="0.9",
        help="first-moment decay of Adam-family optimizers",
        group="optimizer",
        ge=0.0,
        lt=1.0,
    )
    beta2: float = knob(
        0.999,
        allowed="0 <= beta2 < 1",
        typical="0.999",
        help="second-moment decay of Adam-family optimizers",
        group="optimizer",
        ge=0.0,
        lt=1.0,
    )
    weight_decay: float = knob(
        0.0,
        allowed="0 <= weight_decay <= 1",
        typical="0 or 1e-4; adamw often uses 0.01",
        help="L2 penalty on the weights (decoupled for adamw)",
        group="optimizer",
        search={"choices": [0.0, 1e-5, 1e-4, 1e-3]},
        ge=0.0,
        le=1.0,
    )
    gradient_clip: float | None = knob(
        None,
        allowed="gradient_clip > 0, or unset (no clipping)",
        typical="1.0 when the loss spikes",
        help="clip the gradient's global norm to this value",
        group="optimizer",
        gt=0.0,
    )

    # --- loss ---
    loss: LossName = knob(
        "cross-entropy",
        allowed=one_of(LossName),
        typical="cross-entropy",
        help="what training minimises",
        group="loss",
    )
    label_smoothing: float = knob(
        0.1,
        allowed="0 <= label_smoothing < 1",
        typical="0.1",
        help="target smoothing of the label-smoothing loss",
        group="loss",
        ge=0.0,
        lt=1.0,
    )
    focal_gamma: float = knob(
        2.0,
        allowed="0 <= focal_gamma <= 10",
        typical="2",
        help="focusing exponent of the focal loss",
        group="loss",
        ge=0.0,
        le=10.0,
    )

    # --- schedule ---
    batch_size: int = knob(
        32,
        allowed="batch_size >= 1 (at most 65536)",
        typical="8 to 256; try 32, then steps of x2",
        help="images per weight update",
        group="schedule",
        search={"low": 8, "high": 128, "type": "pow2"},
        ge=1,
        le=65536,
    )
    epochs: int = knob(
        10,
        allowed="1 <= epochs <= 10000",
        typical="10 to 50",
        help="passes over the training set",
        group="schedule",
        ge=1,
        le=10000,
    )
    validation_fraction: float = knob(
        0.25,
        allowed="0 < validation_fraction < 1",
        typical="0.15 to 0.25",
        help="share of labelled images held out (stratified) to validate",
        group="schedule",
        gt=0.0,
        lt=1.0,
    )
    use_manifest_split: bool = knob(
        True,
        allowed="true or false",
        typical="true",
        help="use a CSV manifest's split column (split, partition or Piximi's "
        "piximi_partition) as the train/validation split when it has one",
        group="schedule",
    )
    schedule: ScheduleName = knob(
        "constant",
        allowed=one_of(ScheduleName),
        typical="constant; cosine or one-cycle for longer runs",
        help="how the learning rate changes during training",
        group="schedule",
    )
    schedule_step_epochs: int = knob(
        3,
        allowed="schedule_step_epochs >= 1",
        typical="a third of the epochs",
        help="epochs between drops of the step schedule",
        group="schedule",
        ge=1,
    )
    schedule_gamma: float = knob(
        0.1,
        allowed="0 < schedule_gamma <= 1",
        typical="0.1 to 0.5",
        help="factor applied at each drop (step and reduce-on-plateau schedules)",
        group="schedule",
        gt=0.0,
        le=1.0,
    )
    plateau_patience: int = knob(
        2,
        allowed="plateau_patience >= 0",
        typical="2 to 5",
        help="epochs without improvement before reduce-on-plateau lowers the rate",
        group="schedule",
        ge=0,
    )
    early_stopping_patience: int = knob(
        0,
        allowed="early_stopping_patience >= 0 (0 turns early stopping off)",
        typical="3 to 10",
        help="stop after this many epochs without a better validation loss",
        group="schedule",
        ge=0,
    )
    restore_best_weights: bool = knob(
        True,
        allowed="true or false",
        typical="true",
        help="with early stopping, keep the weights of the best validation epoch",
        group="schedule",
    )
    augment: list[AugmentName] = knob(
        [],
        allowed="any of " + one_of(AugmentName),
        typical="flip,rot90 for microscopy; none for digits",
        help="random transformations of each training batch",
        group="data",
    )

    # --- runtime ---
    seed: int = knob(
        0,
        allowed="0 <= seed < 2**32",
        typical="0",
        help="seed of the split, the initial weights and the batch order",
        group="runtime",
        ge=0,
        lt=2**32,
    )
    split_seed: int | None = knob(
        None,
        allowed="0 <= split_seed < 2**32, or unset (the seed)",
        typical="unset",
        help="seed of the validation split alone (a tuned study's best config sets it: "
        "its trials shared one split but each had its own seed)",
        group="runtime",
        ge=0,
        lt=2**32,
    )
    precision: PrecisionName = knob(
        "auto",
        allowed=one_of(PrecisionName),
        typical="auto (fp32 on the CPU, mixed precision on a GPU)",
        help="numeric precision of the forward pass",
        group="runtime",
    )
    device: DeviceName = knob(
        "auto",
        allowed=one_of(DeviceName),
        typical="auto",
        help="where to train",
        group="runtime",
    )
    threads: int | None = knob(
        None,
        allowed="threads >= 1, or unset (PyTorch's default)",
        typical="the number of cores",
        help="CPU threads used by PyTorch",
        group="runtime",
        ge=1,
        le=1024,
    )

    # --- transfer: start from trained weights (tunelab.training.transfer) ---
    init_from: str | None = knob(
        None,
        allowed="a run name in the run store, a .safetensors or .pth/.pt weights file, "
        "or unset (random initial weights)",
        typical="a run trained on similar images, or torchvision resnet18/mobilenet_v2 "
        "ImageNet weights with --model resnet18/mobilenet-v2",
        help="start training from these weights (a new classifier head when the classes differ)",
        group="transfer",
        min_length=1,
        max_length=4096,
    )
    freeze_epochs: int = knob(
        0,
        allowed="0 <= freeze_epochs <= 10000 (acts only with init_from)",
        typical="0, or 1 to 3 with init_from on a small data set",
        help="train only the classifier head for this many epochs, then every layer",
        group="transfer",
        search={"low": 0, "high": 3},
        ge=0,
        le=10000,
    )
    backbone_lr_factor: float = knob(
        1.0,
        allowed="0 < backbone_lr_factor <= 1 (acts only with init_from)",
        typical="1, or 0.1 to fine-tune gently",
        help="the layers below the head learn at learning_rate times this factor",
        group="transfer",
        gt=0.0,
        le=1.0,
    )

    @field_validator("learning_rate", mode="before")
    @classmethod
    def _normalise_auto(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        return value

    @field_validator("nesterov")
    @classmethod
    def _nesterov_needs_momentum(cls, value: bool, info: ValidationInfo) -> bool:
        problem = nesterov_problem(
            info.data.get("optimizer"), info.data.get("momentum", 0.9), value
        )
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _no_bools_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """``epochs: true`` is a mistake, not 1: a number knob refuses true/false."""
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and _is_number(field.annotation):
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            raise ValueError(
                f"invalid {info.field_name}: got {value!r}, a yes/no value where a number is "
                f"needed; allowed: {extra.get('allowed', 'a number')}. Write the number."
            )
        return value

    @field_validator("augment", mode="before")
    @classmethod
    def _split_augment(cls, value: Any) -> Any:
        if value is None:  # `--augment none` (YAML null): no augmentation
            return []
        if isinstance(value, str):
            if value.strip().lower() == "none":
                return []
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("augment")
    @classmethod
    def _dedupe_augment(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    # --- construction with one-line errors ---
    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> Hyperparameters:
        """Validate ``values`` once; on problems raise :class:`KnobErrors`, a one-line
        :class:`TunelabError` (the first problem) that also names every bad field."""
        try:
            return cls(**values)
        except ValidationError as err:
            raise KnobErrors(field_errors(err, list(values))) from None

    def replace(self, **changes: Any) -> Hyperparameters:
        """A validated copy with ``changes`` applied."""
        return type(self).parse({**self.model_dump(), **changes})

    @property
    def auto_learning_rate(self) -> bool:
        """Whether ``learning_rate`` is ``"auto"``, left for the range test to choose."""
        return self.learning_rate == "auto"

    @property
    def validation_seed(self) -> int:
        """The seed of the train/validation split: ``split_seed``, or ``seed`` when unset."""
        return self.seed if self.split_seed is None else self.split_seed

    @property
    def input_size(self) -> tuple[int, int] | None:
        if self.input_height is None and self.input_width is None:
            return None
        height = self.input_height or self.input_width
        width = self.input_width or self.input_height
        assert height is not None and width is not None
        return (height, width)

    # --- files ---
    @classmethod
    def load(cls, path: str | Path) -> Hyperparameters:
        """Read a YAML or JSON config file (a mapping of knob names to values)."""
        return cls.parse(read_config_file(path))

    def save(self, path: str | Path) -> Path:
        """Write the knobs to ``path`` as YAML (``.yaml``/``.yml``) or JSON (anything else)."""
        path = Path(path)
        data = self.model_dump(mode="json")
        if path.suffix.lower() in {".yaml", ".yml"}:
            import yaml

            text = yaml.safe_dump(data, sort_keys=False)
        else:
            text = json.dumps(data, indent=2) + "\n"
        path.write_text(text)
        return path


MAX_CONFIG_BYTES = 1024 * 1024  # a config or space file is a few hundred bytes


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML or JSON file, or a one-line error saying what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise TunelabError(
            f"config file not found: {str(path)!r}. Give the path of an existing "
            ".yaml or .json file (for example one written by `tunelab tune`)."
        )
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise TunelabError(
                f"config file {str(path)!r} is {size} bytes; at most {MAX_CONFIG_BYTES} are "
                "allowed. A config holds one `knob: value` per line."
            )
        raw = path.read_bytes()
    except OSError as err:
        raise TunelabError(
            f"cannot read config file {str(path)!r} ({err.strerror or err}). Check that it "
            "is readable, or give another --config."
        ) from None
    return parse_config_text(
        raw, f"config file {str(path)!r}", json_only=path.suffix.lower() == ".json"
    )


def parse_config_text(raw: bytes, what: str, json_only: bool = False) -> dict[str, Any]:
    """The mapping in the YAML or JSON text ``raw`` (``what`` names it in errors).

    Refused with one line: text that is not UTF-8 (UTF-16 is named as such), more than
    :data:`MAX_CONFIG_BYTES`, YAML anchors and aliases (a few bytes of nested aliases can
    expand to gigabytes), keys given twice, and anything but a mapping.
    """
    if len(raw) > MAX_CONFIG_BYTES:
        raise TunelabError(
            f"{what} is {len(raw)} bytes; at most {MAX_CONFIG_BYTES} are allowed. "
            "A config holds one `knob: value` per line."
        )
    text = _decode_config(raw, what)
    if json_only:
        try:
            data = json.loads(text, object_pairs_hook=_unique_pairs(what)) if text.strip() else {}
        except json.JSONDecodeError as err:
            raise TunelabError(
                f"{what} is not valid JSON: {err.msg} at line {err.lineno}, "
                f"column {err.colno}. Fix the syntax or write the config as YAML."
            ) from None
    else:
        data = _load_yaml(text, what)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TunelabError(
            f"{what} must hold a mapping of knob names to values "
            f"(got a {type(data).__name__}). Write one `knob: value` per line."
        )
    return {str(key): value for key, value in data.items()}


def _decode_config(raw: bytes, what: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(raw) > 1 and b"\x00" in raw[:4]):
        raise TunelabError(
            f"{what} is UTF-16 text, not UTF-8 text. Save it as UTF-8 (in most editors: "
            "Save As, encoding UTF-8) and try again."
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise TunelabError(
            f"{what} is not UTF-8 text (byte {err.start} is {raw[err.start]:#04x}). Save it "
            "as UTF-8 text: one `knob: value` per line."
        ) from None


def _unique_pairs(what: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                raise TunelabError(
                    f"{what} gives {key!r} twice. Keep one of them (each knob appears once)."
                )
            seen[key] = value
        return seen

    return pairs


def _load_yaml(text: str, what: str) -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise TunelabError(
                    f"{what} uses a YAML alias (*{event.anchor}) at line "
                    f"{event.start_mark.line + 1}: anchors and aliases are not allowed in "
                    "configs. Write each value out."
                )
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, str | int | float | bool) or key is None:
                    if key in seen:
                        raise TunelabError(
                            f"{what} gives {key!r} twice (line {key_node.start_mark.line + 1}). "
                            "Keep one of them (each knob appears once)."
                        )
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

    try:
        return yaml.load(text, Loader=Loader) if text.strip() else {}  # noqa: S506 - SafeLoader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = str(getattr(err, "problem", None) or "syntax error").splitlines()[0][:100]
        raise TunelabError(
            f"{what} is not valid YAML: {problem}{where}. "
            "Write one `knob: value` per line, e.g. `learning_rate: 0.01`."
        ) from None


def parse_value(text: str) -> Any:
    """A knob value typed as text (a CLI flag, a web field) read as YAML would read it:
    "0.01" -> 0.01, "none" -> None, "true" -> True."""
    import yaml

    lowered = text.strip().lower()
    if lowered in {"none", "null", "unset", "off"}:
        return None
    if "," in text and not text.strip().startswith("["):
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def unknown_knob(name: str) -> TunelabError:
    names = list(Hyperparameters.model_fields)
    normalised = name.replace("-", "_").lower()
    hint = did_you_mean(normalised, names)
    if normalised in names:
        hint = f' Did you mean "{normalised}"?'
    return TunelabError(
        f"unknown hyperparameter {name!r}.{hint} Run `tunelab explain` to list every knob."
    )


class KnobErrors(TunelabError):
    """Knobs refused at validation: the first problem as the one line, and ``errors``,
    one line per bad field (the web form shows each beside its field)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(next(iter(errors.values())))
        self.errors = errors


def field_errors(err: ValidationError, given: list[str] | None = None) -> dict[str, str]:
    """One line per bad field of pydantic's report, unknown knobs first (in ``given`` order)."""
    by_field: dict[str, Any] = {}
    for problem in err.errors():
        loc = [str(part) for part in problem.get("loc", ()) if not isinstance(part, int)]
        by_field.setdefault(loc[0] if loc else "hyperparameters", problem)
    order = given or []
    unknown = [name for name, problem in by_field.items() if problem["type"] == "extra_forbidden"]
    unknown.sort(key=lambda name: order.index(name) if name in order else len(order))
    ordered = [*unknown, *(name for name in by_field if name not in unknown)]
    return {name: str(_problem_error(name, by_field[name])) for name in ordered}


def knob_error(err: ValidationError) -> TunelabError:
    """Turn pydantic's report into tunelab's one line: field, value given, range, typical."""
    return KnobErrors(field_errors(err))


def _problem_error(field: str, problem: Any) -> TunelabError:
    if problem.get("type") == "extra_forbidden":
        return unknown_knob(field)
    if problem.get("type") == "value_error":  # a rule across knobs, worded where it is made
        return TunelabError(str(problem.get("ctx", {}).get("error", problem.get("msg"))))
    info = Hyperparameters.model_fields.get(field)
    extra: dict[str, Any] = {}
    if info is not None and isinstance(info.json_schema_extra, dict):
        extra = info.json_schema_extra
    given = problem.get("input")
    allowed = extra.get("allowed", problem.get("msg", "a valid value"))
    typical = extra.get("typical")
    names = _literal_strings(info.annotation, strict=False) if info is not None else ()
    hint = ""
    if names and isinstance(given, str):
        hint = did_you_mean(given, names)
    if isinstance(given, list) and names:
        bad = [g for g in given if g not in names]
        if bad:
            given = bad[0]
            hint = did_you_mean(str(given), names)
    message = f"invalid {field}: got {_short(given)}; allowed: {allowed}.{hint}"
    if typical:
        message += f" Typical: {typical}."
    return TunelabError(message)


def nesterov_problem(optimizer: Any, momentum: Any, nesterov: Any) -> str | None:
    """Nesterov momentum needs momentum > 0 (torch refuses it otherwise): the one wording,
    used by the model and by :func:`tunelab.training.optimizers.create_optimizer`."""
    if nesterov and momentum == 0 and optimizer in (None, "momentum"):
        return (
            "nesterov needs momentum > 0 (got momentum=0). Set momentum to 0.9 "
            "or turn nesterov off."
        )
    return None


def bounds(field: str) -> dict[str, float]:
    """A numeric knob's limits as ``{"ge"|"gt"|"le"|"lt": value}`` (empty for others)."""
    info = Hyperparameters.model_fields[field]
    items = list(info.metadata)
    for arg in get_args(info.annotation):  # ``Annotated[float, Field(gt=0)] | Literal[...]``
        if get_origin(arg) is Annotated:
            for meta in get_args(arg)[1:]:
                items.extend(getattr(meta, "metadata", [meta]))
    found: dict[str, float] = {}
    for item in items:
        if not isinstance(item, annotated_types.BaseMetadata):
            continue
        for attr in ("ge", "gt", "le", "lt"):
            value = getattr(item, attr, None)
            if value is not None:
                found[attr] = value
    return found


_RULES = {
    "ge": (">=", lambda value, limit: value >= limit),
    "gt": (">", lambda value, limit: value > limit),
    "le": ("<=", lambda value, limit: value <= limit),
    "lt": ("<", lambda value, limit: value < limit),
}


def check_numbers(**values: float) -> None:
    """Check numeric knobs against the model's own limits (:func:`bounds`): the guard of a
    factory called directly with plain numbers (a validated model already obeys them).

    >>> check_numbers(beta1=0.0)  # allowed: 0 <= beta1 < 1
    """
    for field, value in values.items():
        limits = bounds(field)
        if all(_RULES[attr][1](value, limit) for attr, limit in limits.items()):
            continue
        rule = " and ".join(f"{_RULES[attr][0]} {limit:g}" for attr, limit in limits.items())
        typical = knob_info(field).get("typical")
        raise TunelabError(
            f"{field} must be {rule} (got {value})." + (f" Typical: {typical}." if typical else "")
        )


def as_hyperparameters(
    hyperparameters: Hyperparameters | Mapping[str, Any] | None = None,
    knobs: Mapping[str, Any] | None = None,
) -> Hyperparameters:
    """The knobs as a model: a :class:`Hyperparameters` travels as it is (validated
    already); a mapping, with keywords on top, is validated here, once."""
    extra = dict(knobs or {})
    if isinstance(hyperparameters, Hyperparameters):
        return hyperparameters.replace(**extra) if extra else hyperparameters
    return Hyperparameters.parse({**dict(hyperparameters or {}), **extra})


def _is_number(annotation: Any) -> bool:
    """Whether the knob takes a number (``int``, ``float``, also inside ``X | None``,
    ``Annotated[float, ...]`` or ``float | Literal["auto"]``)."""
    if annotation in (int, float):
        return True
    if get_origin(annotation) is Literal:
        return False
    return any(_is_number(arg) for arg in get_args(annotation))


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _choices(field: str) -> tuple[str, ...]:
    info = Hyperparameters.model_fields.get(field)
    return _literal_strings(info.annotation) if info is not None else ()


def _literal_strings(annotation: Any, strict: bool = True) -> tuple[str, ...]:
    """The names of a Literal, also inside ``list[...]`` or ``X | None``.

    ``strict``: a number with a literal beside it (``float | Literal["auto"]``) is not
    categorical, so it has no choices.
    """
    if get_origin(annotation) is Literal:
        return tuple(arg for arg in get_args(annotation) if isinstance(arg, str))
    args = get_args(annotation)
    if strict and get_origin(annotation) is not list:
        others = [a for a in args if a is not type(None) and get_origin(a) is not Literal]
        if others:
            return ()
    for arg in args:
        found = _literal_strings(arg, strict)
        if found:
            return found
    return ()


def accepts_auto(field: str) -> bool:
    """Whether a numeric knob also takes ``"auto"`` (``learning_rate``: the range test)."""
    info = Hyperparameters.model_fields[field]
    return not _choices(field) and "auto" in _literal_strings(info.annotation, strict=False)


def choices(field: str) -> tuple[str, ...]:
    """The allowed names of a categorical knob (empty for numeric knobs)."""
    return _choices(field)


def knob_info(field: str) -> dict[str, Any]:
    """Help text, allowed range, typical value and group of one knob."""
    if field not in Hyperparameters.model_fields:
        raise unknown_knob(field)
    info = Hyperparameters.model_fields[field]
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    return {
        "name": field,
        "help": info.description or "",
        "default": info.default,
        "choices": list(_choices(field)),
        **extra,
    }
