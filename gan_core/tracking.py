"""MLflow behind one thin module: runs (params, metrics, grids, tags), the serving model and the champion gate.

Every registered generator version gets the alias `challenger`; `promote_if_better` moves `champion`
only when the version's metric beats the current champion's, and tags the version with why, so the
registry itself says which model is served and for what reason.
CLI: `python -m gan_core.tracking promote <experiment|model> <version>` and `... champions`.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any, Literal, NamedTuple

import mlflow
import numpy as np
import yaml
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from gan_core.config import ExperimentConfig, TrackingConfig
from gan_core.serving.pyfunc import PYFUNCS

CHAMPION, CHALLENGER = "champion", "challenger"
MODEL_ARTIFACT = "generator"
METRIC_TAG = "metric."  # version tags carrying the metrics the version was registered with
PROMOTION_TAG, PROMOTION_METRIC_TAG = "promotion", "promotion.metric"
MODEL_CODE = Path(__file__).with_name("serving") / "model_code.py"
SERVING_REQUIREMENTS = ("mlflow", "torch", "torchvision", "numpy", "pandas", "pillow", "pydantic", "pyyaml")


def registered_name(experiment: str) -> str:
    """The MLflow experiment and registered-model name of a params block: mnist_cgan -> mnist-cgan."""
    return experiment.replace("_", "-")


def tracking_uri(tracking_cfg: TrackingConfig, project_root: Path) -> str:
    """Env MLFLOW_TRACKING_URI wins, then params' tracking.uri, else a SQLite file in the project."""
    return os.environ.get("MLFLOW_TRACKING_URI") or tracking_cfg.uri or f"sqlite:///{Path(project_root).resolve() / 'mlflow.db'}"


def tracking_uri_from_params(params_path: Path) -> str:
    """The store a CLI should use: tracking_uri of params.yaml's tracking block (defaults if the file is absent)."""
    from gan_core.config import load_params

    params_path = Path(params_path)
    cfg = load_params(params_path).tracking if params_path.is_file() else TrackingConfig()
    return tracking_uri(cfg, params_path.resolve().parent)


def artifact_location(tracking_cfg: TrackingConfig, project_root: Path) -> str:
    """Explicit artifact root: without it MLflow writes to ./mlruns of whatever the cwd is."""
    return (Path(project_root).resolve() / tracking_cfg.artifact_root).as_uri()


def _experiment_id(name: str, location: str) -> str:
    existing = mlflow.get_experiment_by_name(name)
    return existing.experiment_id if existing else mlflow.create_experiment(name, artifact_location=location)


@contextmanager
def start_run(experiment: str, run_name: str, tracking_cfg: TrackingConfig, project_root: Path) -> Iterator[str]:
    """An MLflow run in the experiment's dashed-name experiment; yields the run id."""
    mlflow.set_tracking_uri(tracking_uri(tracking_cfg, project_root))
    experiment_id = _experiment_id(registered_name(experiment), artifact_location(tracking_cfg, project_root))
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        yield run.info.run_id


def log_params(flat: dict[str, Any]) -> None:
    """Flat (dotted-key) params of the active run, e.g. from gan_core.config.flatten."""
    mlflow.log_params({key: "" if value is None else value for key, value in flat.items()})


def log_metrics(metrics: dict[str, float], step: int) -> None:
    """Scalar metrics at a step (epoch); None values (metric not computed this epoch) are skipped."""
    mlflow.log_metrics({key: float(value) for key, value in metrics.items() if value is not None}, step=step)


def log_sample_grid(image: np.ndarray | str | Path, key: str = "samples", step: int = 0) -> None:
    """A sample grid (uint8 HWC array or an image file) as a stepped image, browsable per epoch in the UI."""
    if isinstance(image, (str, Path)):
        from PIL import Image

        with Image.open(image) as opened:
            image = np.asarray(opened.convert("RGB" if opened.mode not in ("L", "RGB") else opened.mode))
    mlflow.log_image(image, key=key, step=step)


def log_figure(fig: Any, path: str) -> None:
    """A matplotlib figure as an artifact at `path` (e.g. plots/uncertainty.png)."""
    mlflow.log_figure(fig, path)


def log_file(path: str | Path, artifact_path: str | None = None) -> None:
    """A local file as a run artifact under `artifact_path`."""
    mlflow.log_artifact(str(path), artifact_path)


def _git(project_root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=project_root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def data_md5(project_root: Path) -> str | None:
    """The md5 DVC recorded for the data folder in data.dvc, or None where there is no data.dvc."""
    path = Path(project_root) / "data.dvc"
    if not path.is_file():
        return None
    outs = (yaml.safe_load(path.read_text()) or {}).get("outs") or [{}]
    return outs[0].get("md5")


def provenance_tags(project_root: Path, params_hash: str, ray_workers: int, device: str) -> dict[str, str]:
    """What a run was made from: code (git SHA, dirty), data (DVC md5), params hash, Ray workers, device."""
    sha = _git(project_root, "rev-parse", "HEAD")
    status = _git(project_root, "status", "--porcelain", "--untracked-files=no")
    return {
        "git.sha": sha or "unknown",
        "git.dirty": "unknown" if status is None else str(bool(status)).lower(),
        "data.md5": data_md5(project_root) or "unknown",
        "params.hash": params_hash,
        "ray.workers": str(ray_workers),
        "device": device,
    }


def set_run_tags(project_root: Path, params_hash: str, ray_workers: int, device: str) -> dict[str, str]:
    """Tag the active run with its provenance (see provenance_tags); returns the tags set."""
    tags = provenance_tags(project_root, params_hash, ray_workers, device)
    mlflow.set_tags(tags)
    return tags


def _requirements() -> list[str]:
    # Explicit pins: otherwise MLflow infers them by loading the model in a subprocess (seconds per log).
    return [f"{name}=={installed_version(name)}" for name in SERVING_REQUIREMENTS]


def log_generator_model(experiment: str, exported_generator_path: Path, cfg: ExperimentConfig,
                        metrics: dict[str, float]) -> ModelVersion:
    """Log the serving pyfunc of an exported generator in the active run, register it as `challenger`.

    `metrics` (final quality metrics, e.g. {"fid": 12.3}) are stored as version tags `metric.<name>`,
    which is what `promote_if_better` compares.
    """
    if mlflow.active_run() is None:
        raise RuntimeError("log_generator_model needs an active run: call it inside tracking.start_run(...)")
    name = registered_name(experiment)
    info = mlflow.pyfunc.log_model(
        name=MODEL_ARTIFACT,
        python_model=str(MODEL_CODE),
        model_config={"task": cfg.task},
        artifacts={"generator": str(exported_generator_path)},
        signature=PYFUNCS[cfg.task].signature(),
        pip_requirements=_requirements(),
        registered_model_name=name,
    )
    client = MlflowClient()
    version = str(info.registered_model_version)
    for key, value in metrics.items():
        client.set_model_version_tag(name, version, f"{METRIC_TAG}{key}", repr(float(value)))
    client.set_model_version_tag(name, version, "task", cfg.task)
    client.set_registered_model_alias(name, CHALLENGER, version)
    return client.get_model_version(name, version)


@dataclass(frozen=True)
class Decision:
    """The gate's verdict and its reason (also written to the version's `promotion` tag)."""

    promoted: bool
    reason: str


def _version_metric(client: MlflowClient, version: ModelVersion, metric: str) -> float | None:
    """The metric a version was registered with, else its run's last value; None if absent or NaN."""
    text = version.tags.get(f"{METRIC_TAG}{metric}")
    value = float(text) if text is not None else None
    if value is None and version.run_id:
        value = client.get_run(version.run_id).data.metrics.get(metric)
    return None if value is None or math.isnan(value) else value


def _current_champion(client: MlflowClient, model_name: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException as error:
        # MLflow says "alias ... not found" with INVALID_PARAMETER_VALUE, an unknown model with RESOURCE_DOES_NOT_EXIST.
        if error.error_code == "RESOURCE_DOES_NOT_EXIST" or "alias" in error.message and "not found" in error.message:
            return None
        raise


def promote_if_better(model_name: str, version: int | str, metric: str, direction: Literal["min", "max"],
                      tracking_uri: str | None = None) -> Decision:
    """Move `champion` to `version` only if its metric beats the champion's (or there is none yet)."""
    if direction not in ("min", "max"):
        raise ValueError(f"direction: got {direction!r}, allowed 'min' or 'max'")
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    version = str(version)
    candidate = client.get_model_version(model_name, version)
    value = _version_metric(client, candidate, metric)
    champion = _current_champion(client, model_name)
    if value is None:
        decision = Decision(False, f"not promoted: v{version} has no {metric} (missing or NaN)")
    elif champion is None:
        decision = Decision(True, f"{metric} {value:.4g}, no champion before")
    elif str(champion.version) == version:
        decision = Decision(False, f"v{version} is already the champion")
    else:
        best = _version_metric(client, champion, metric)
        better = best is not None and (value < best if direction == "min" else value > best)
        sign = {("min", True): "<", ("max", True): ">", ("min", False): ">=", ("max", False): "<="}[direction, better]
        if best is None:
            decision = Decision(False, f"not promoted: champion v{champion.version} has no {metric} to compare with")
        else:
            verdict = "" if better else "not promoted: "
            decision = Decision(better, f"{verdict}{metric} {value:.4g} {sign} champion v{champion.version} {best:.4g}")
    client.set_model_version_tag(model_name, version, PROMOTION_TAG, decision.reason)
    if decision.promoted:
        client.set_model_version_tag(model_name, version, PROMOTION_METRIC_TAG, metric)
        client.set_registered_model_alias(model_name, CHAMPION, version)
    return decision


def promote(model_name: str, version: int | str, tracking_uri: str | None = None) -> Decision:
    """Manual promotion: `champion` moves to `version` whatever its metrics."""
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    version = str(version)
    existing = client.get_model_version(model_name, version)  # a clear MlflowException if it does not exist
    decision = Decision(True, "manual promotion")
    client.set_model_version_tag(model_name, version, PROMOTION_TAG, decision.reason)
    if PROMOTION_METRIC_TAG in existing.tags:  # champions() must not report a gate metric it was not promoted on
        client.delete_model_version_tag(model_name, version, PROMOTION_METRIC_TAG)
    client.set_registered_model_alias(model_name, CHAMPION, version)
    return decision


class Champion(NamedTuple):
    """A registered model's champion: its version and the metric it was promoted on (None if manual)."""

    version: int
    metric: str | None
    value: float | None


def champions(tracking_uri: str) -> dict[str, Champion]:
    """Every registered model that has a champion, for the end-of-pipeline summary."""
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    result: dict[str, Champion] = {}
    for model in client.search_registered_models():
        champion = _current_champion(client, model.name)
        if champion is None:
            continue
        metric = champion.tags.get(PROMOTION_METRIC_TAG)
        value = _version_metric(client, champion, metric) if metric else None
        result[model.name] = Champion(int(champion.version), metric, value)
    return result


def main(argv: list[str] | None = None) -> int:
    """CLI: promote a version by hand, or list the champions."""
    parser = argparse.ArgumentParser(prog="python -m gan_core.tracking", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="params file whose tracking block names the store")
    commands = parser.add_subparsers(dest="command", required=True)
    promote_cmd = commands.add_parser("promote", help="make a registered version the champion")
    promote_cmd.add_argument("model", help="experiment (mnist_cgan) or registered model (mnist-cgan)")
    promote_cmd.add_argument("version", type=int)
    commands.add_parser("champions", help="list each model's champion version")
    args = parser.parse_args(argv)

    from gan_core.config import ConfigError

    try:
        uri = tracking_uri_from_params(Path(args.params))
    except ConfigError as error:
        parser.error(str(error))
    if args.command == "promote":
        try:
            decision = promote(registered_name(args.model), args.version, tracking_uri=uri)
        except MlflowException as error:
            print(f"error: {error.message}", file=sys.stderr)
            return 1
        print(f"{registered_name(args.model)} v{args.version}: {decision.reason}")
        return 0
    for name, champion in sorted(champions(uri).items()):
        detail = f"{champion.metric} {champion.value:.4g}" if champion.value is not None else "manual"
        print(f"{name}: v{champion.version} ({detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
