"""The params schema: every knob of params.yaml, validated before any work starts.

Errors name the key path, the bad value and what is allowed, in one message, so a typo in
params.yaml or in `--set` never reaches Ray, MLflow or a half-finished training run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

EXPERIMENTS = ("mnist_gan", "mnist_cgan", "celeba32_gan", "celeba64_gan", "mnist_inpaint", "sic_inpaint")

Task = Literal["gan", "cgan", "inpaint"]
Dataset = Literal["mnist", "celeba", "sic"]
Family = Literal["dcgan", "thesis"]

CHANNELS: dict[str, int] = {"mnist": 1, "celeba": 3, "sic": 1}
NUM_CLASSES = 10  # MNIST digits: the only labelled data set here

# Image sizes each (family, task) pair supports. The general inpainting family adapts to any
# patch size; the thesis nets are fixed to the geometry they were published with.
SUPPORTED_SIZES: dict[tuple[str, str], tuple[int, ...]] = {
    ("dcgan", "gan"): (28, 32, 64),
    ("dcgan", "cgan"): (28, 32, 64),
    ("thesis", "gan"): (28, 32),  # MNIST MLP (28, grey) or CelebA conv net (32, RGB)
    ("thesis", "cgan"): (28,),  # MNIST MLP with one-hot labels
    ("thesis", "inpaint"): (28,),  # 28 px patch, 18 px hole
}
THESIS_HOLE = 18
MIN_INPAINT_SIZE, MAX_INPAINT_SIZE = 8, 256

PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
Beta = Annotated[float, Field(ge=0, lt=1)]


class ConfigError(ValueError):
    """Raised for any invalid params; the message lists every problem, one per line."""


class Strict(BaseModel):
    """Base for all params blocks: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(Strict):
    root: str = "data"  # versioned by DVC (data.dvc)
    prepared: str = "prepared"  # derived tensors, outside data/ (DVC refuses overlapping outputs)
    mirror: str = ""  # offline: copy from this folder instead of downloading (or GAN_DATA_MIRROR)


class TrackingConfig(Strict):
    uri: str = ""  # empty: sqlite:///<project>/mlflow.db; MLFLOW_TRACKING_URI overrides
    artifact_root: str = "mlartifacts"


class RayConfig(Strict):
    address: str = ""  # empty: start a local Ray; "auto" or "ray://host:10001" for a cluster
    num_workers: PositiveInt = 1
    use_gpu: bool = False
    cpus_per_worker: PositiveFloat = 1.0
    storage_path: str = "runs/ray"  # must be shared by all nodes on a cluster (NFS or s3://)
    max_failures: NonNegativeInt = 1


class ModelConfig(Strict):
    family: Family = "dcgan"
    nz: PositiveInt = 100  # latent size
    ngf: PositiveInt = 64  # generator width
    ndf: PositiveInt = 64  # discriminator width


class TrainConfig(Strict):
    batch_size: PositiveInt = 64  # global batch: split evenly across Ray workers
    epochs: PositiveInt = 5
    lr_g: PositiveFloat = 2e-4
    lr_d: PositiveFloat = 2e-4
    betas: tuple[Beta, Beta] = (0.5, 0.999)
    d_steps: PositiveInt = 1  # D updates per G update
    loss: Literal["ns", "hinge"] = "ns"
    mode_seeking_weight: NonNegativeFloat = 0.0
    l1_weight: NonNegativeFloat = 0.0  # inpainting only: L1 on the hole (0 = thesis)
    ema_decay: Annotated[float, Field(ge=0, lt=1)] = 0.999
    seed: NonNegativeInt = 0
    train_size: NonNegativeInt = 0  # 0: the whole training set; else the first N images
    batches_per_epoch: NonNegativeInt = 0  # 0: one full pass; else this many batches (CPU sizing)
    amp: bool = True  # only has an effect on CUDA


class EvalConfig(Strict):
    every: NonNegativeInt = 1  # epochs between quality metrics (0: only at the end)
    n_samples: PositiveInt = 1000
    grid_every: PositiveInt = 1


class HoleConfig(Strict):
    size: PositiveInt = 18
    position: Literal["fixed", "random"] = "fixed"
    top: NonNegativeInt | None = None  # fixed position; None centres the hole
    left: NonNegativeInt | None = None


class ExperimentConfig(Strict):
    task: Task
    dataset: Dataset
    image_size: PositiveInt
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()
    hole: HoleConfig | None = None  # inpainting only

    @property
    def channels(self) -> int:
        return CHANNELS[self.dataset]

    @property
    def num_classes(self) -> int:
        return NUM_CLASSES if self.task == "cgan" else 0

    def hole_box(self) -> tuple[int, int, int]:
        """(top, left, size) of the fixed hole; random holes draw their top-left per sample."""
        assert self.hole is not None, "hole_box() is for inpainting experiments"
        centre = (self.image_size - self.hole.size) // 2
        top = centre if self.hole.top is None else self.hole.top
        left = centre if self.hole.left is None else self.hole.left
        return top, left, self.hole.size

    @model_validator(mode="after")
    def _check_combination(self) -> ExperimentConfig:
        problems: list[str] = []
        if self.task == "cgan" and self.dataset != "mnist":
            problems.append(f"task 'cgan' needs labelled data (dataset 'mnist'), got dataset {self.dataset!r}")
        if self.dataset == "sic" and self.task != "inpaint":
            problems.append(f"dataset 'sic' has no whole-image task: use task 'inpaint', got {self.task!r}")
        if self.dataset == "mnist" and self.image_size != 28:
            problems.append(f"image_size: got {self.image_size}, MNIST images are 28 px")
        if self.dataset == "celeba" and self.image_size not in (32, 64):
            problems.append(f"image_size: got {self.image_size}, CelebA is prepared at 32 or 64 px")
        family = self.model.family
        if self.task == "inpaint":
            problems += self._check_hole()
            if family == "dcgan" and not MIN_INPAINT_SIZE <= self.image_size <= MAX_INPAINT_SIZE:
                problems.append(
                    f"image_size: got {self.image_size}, inpainting patches must be "
                    f"{MIN_INPAINT_SIZE}..{MAX_INPAINT_SIZE} px"
                )
        elif self.hole is not None:
            problems.append(f"hole: only inpainting experiments have a hole, task is {self.task!r}")
        if self.task != "inpaint" and self.train.l1_weight:
            problems.append("train.l1_weight: only inpainting experiments have a reconstruction term")
        allowed = SUPPORTED_SIZES.get((family, self.task))
        if allowed is not None and self.image_size not in allowed:
            problems.append(
                f"image_size: got {self.image_size}, model.family {family!r} for task {self.task!r} "
                f"supports {list(allowed)}"
            )
        if family == "thesis" and self.task == "gan":
            expected = {28: "mnist", 32: "celeba"}.get(self.image_size)
            if expected and self.dataset != expected:
                problems.append(f"model.family 'thesis' at {self.image_size} px is the {expected} net, got dataset {self.dataset!r}")
        if family == "thesis" and self.task == "inpaint" and self.hole and self.hole.size != THESIS_HOLE:
            problems.append(f"hole.size: got {self.hole.size}, the thesis inpainting nets fill an {THESIS_HOLE} px hole")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _check_hole(self) -> list[str]:
        if self.hole is None:
            return ["hole: inpainting experiments need a hole block (size, position, top, left)"]
        size, limit = self.hole.size, self.image_size - 2  # at least 1 px of context on every side
        if size > limit:
            return [f"hole.size: got {size}, a hole in a {self.image_size} px image may be at most {limit} px (1 px of context on each side)"]
        problems = []
        if self.hole.position == "fixed":
            top, left, _ = self.hole_box()
            for name, value in (("top", top), ("left", left)):
                if not 1 <= value <= self.image_size - 1 - size:
                    problems.append(
                        f"hole.{name}: got {value}, must be 1..{self.image_size - 1 - size} so the "
                        f"{size} px hole leaves at least 1 px of context"
                    )
        elif self.hole.top is not None or self.hole.left is not None:
            problems.append("hole.top/hole.left: only a fixed hole has a position; random holes are drawn per sample")
        return problems


class Params(Strict):
    """The whole params.yaml."""

    data: DataConfig = DataConfig()
    tracking: TrackingConfig = TrackingConfig()
    ray: RayConfig = RayConfig()
    mnist_gan: ExperimentConfig
    mnist_cgan: ExperimentConfig
    celeba32_gan: ExperimentConfig
    celeba64_gan: ExperimentConfig
    mnist_inpaint: ExperimentConfig
    sic_inpaint: ExperimentConfig

    def experiment(self, name: str) -> ExperimentConfig:
        if name not in EXPERIMENTS:
            raise ConfigError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
        return getattr(self, name)


def _format_errors(error: ValidationError, source: str) -> str:
    lines = [f"invalid params in {source}:"]
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling or remove it)"
        elif item["type"] == "missing":
            message = "required key is missing"
        if item["type"] == "value_error" and isinstance(item["input"], dict):
            # Cross-field rules (model validators) already name their keys relative to the block.
            lines += [f"  {path}.{problem}" if path else f"  {problem}" for problem in message.split("; ")]
            continue
        got = "" if item["type"] == "missing" else f"got {item['input']!r}: "
        lines.append(f"  {path}: {got}{message}" if path else f"  {got}{message}")
    return "\n".join(lines)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `key.path=value` overrides (values parsed as YAML) to a raw params dict."""
    result = json.loads(json.dumps(raw))  # deep copy of plain data
    for override in overrides:
        key, sep, text = override.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {override!r}: expected key.path=value, e.g. mnist_gan.train.epochs=3")
        parts = key.strip().split(".")
        node = result
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"override {override!r}: {'.'.join(parts[: depth + 1])} is a value, not a block")
            node = child
        node[parts[-1]] = yaml.safe_load(text) if text.strip() else None
    return result


def validate_params(raw: Any, source: str = "params") -> Params:
    """Validate a raw params dict; raise ConfigError naming each bad key, value and rule."""
    if not isinstance(raw, dict):
        raise ConfigError(f"invalid params in {source}: expected a mapping of blocks, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_format_errors(error, source)) from None


def load_params(path: str | Path = "params.yaml", overrides: list[str] | None = None) -> Params:
    """Read params.yaml, apply `--set` overrides, validate."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"params file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"params file {path} is not valid YAML: {error}") from None
    if overrides:
        if not isinstance(raw, dict):
            raise ConfigError(f"invalid params in {path}: expected a mapping of blocks")
        raw = apply_overrides(raw, overrides)
    return validate_params(raw, str(path))


def config_hash(config: BaseModel) -> str:
    """A short, stable hash of a validated config (for tags and cache keys)."""
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def flatten(config: BaseModel, prefix: str = "") -> dict[str, Any]:
    """Flatten a config to dotted keys (for MLflow params)."""
    out: dict[str, Any] = {}

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for child_key, child in value.items():
                walk(child, f"{key}.{child_key}" if key else child_key)
        else:
            out[key] = value

    walk(config.model_dump(mode="json"), prefix)
    return out
