"""The training flow of one experiment: params -> data -> Ray Train -> evaluation -> MLflow -> registry.

    python -m flows.train <experiment> [--params params.yaml] [--set key.path=value ...]

It is each DVC `train@<experiment>` stage and each nightly retrain deployment. Params are validated
first, so a bad value ends with its message and exit code 2 before Ray or MLflow start.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.classifier import CLASSIFIER_DIR
from flows.cli import params_or_exit
from flows.reporting import loss_curve_figure, publish_artifacts, write_metrics_json
import gan_core
from gan_core import tracking
from gan_core.checkpoint import export_generator
from gan_core.config import EXPERIMENTS, ExperimentConfig, Params, config_hash, flatten, load_params
from gan_core.data.masks import cut_hole, fixed_boxes
from gan_core.data.datasets import ImageData, load_eval_data, load_train_data, prepared_name
from gan_core.data.prepare import prepared_path
from gan_core.distributed import fit_distributed
from gan_core.inpaint import inpaint_image
from gan_core.metrics.evaluate import EvalResult, evaluate_generator, make_evaluator, quality_metric
from gan_core.metrics.classifier import load_classifier
from gan_core.train import HISTORY_FILE, LATEST_GRID, TrainResult
from gan_core.uncertainty import uncertainty_figure

METRICS_FILE = "metrics.json"
GENERATOR_FILE = "generator.pt"
UNCERTAINTY_FILE = "uncertainty.png"
UNCERTAINTY_SAMPLES = 256  # fillings of one hole behind the mean/std figure
EVAL_SEED = 0  # the seed the loop's evaluator uses: the final numbers match the last epoch's


@dataclass
class TrainSummary:
    """What one training flow produced, where to find it, and what the registry decided."""

    experiment: str
    metrics: dict[str, float]
    unavailable: dict[str, str]
    run_id: str
    model_version: int
    promoted: bool
    promotion: str
    out_dir: Path


def project_paths(params_path: Path, params: Params, experiment: str) -> tuple[Path, Path, Path]:
    """(project root, prepared dir, output dir): everything relative resolves against params.yaml's folder."""
    root = params_path.resolve().parent
    return root, root / params.data.prepared, root / "outputs" / experiment


@task(cache_policy=NO_CACHE)
def load_data(cfg: ExperimentConfig, prepared_dir: Path) -> tuple[ImageData, ImageData]:
    """Training images and the held-out images the metrics compare against."""
    return load_train_data(cfg, prepared_dir), load_eval_data(cfg, prepared_dir, cfg.eval.n_samples)


@task(cache_policy=NO_CACHE)
def fit(experiment: str, params: Params, train_data: ImageData, eval_data: ImageData,
        classifier_path: Path | None, out_dir: Path, run_name: str) -> TrainResult:
    """The Ray Train job; rank 0 scores the EMA generator every eval.every epochs."""
    cfg = params.experiment(experiment)
    shutil.rmtree(out_dir, ignore_errors=True)  # rebuilt from the Ray run (resumed by name), never from a stale checkpoint
    evaluate_factory = partial(make_evaluator, cfg, eval_data, classifier_path, seed=EVAL_SEED)
    return fit_distributed(experiment, cfg, params.ray, train_data, out_dir,
                           evaluate_factory=evaluate_factory, run_name=run_name)


@task(cache_policy=NO_CACHE)
def evaluate(cfg: ExperimentConfig, result: TrainResult, eval_data: ImageData, classifier_path: Path | None) -> EvalResult:
    """Final quality metrics of the EMA generator, with the reason for each one that could not be computed."""
    classifier = load_classifier(classifier_path) if classifier_path is not None else None
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return evaluate_generator(cfg, result.generator_ema.to(device), eval_data, classifier=classifier,
                              n=cfg.eval.n_samples, seed=EVAL_SEED, device=device)


def ray_run_name(experiment: str, cfg: ExperimentConfig, prepared_dir: Path) -> str:
    """Same config, code and data -> the same Ray run, so an interrupted `dvc repro` resumes it
    from its last checkpoint (and rerunning a finished one returns its model); any change starts fresh."""
    digest = hashlib.sha256(config_hash(cfg).encode())
    for source in sorted(Path(gan_core.__file__).parent.rglob("*.py")):
        digest.update(source.read_bytes())
    data = prepared_path(prepared_dir, prepared_name(cfg)).stat()
    digest.update(f"{data.st_size}:{data.st_mtime_ns}".encode())
    return f"{experiment}-{digest.hexdigest()[:12]}"


def _final_metrics(result: TrainResult, evaluation: EvalResult) -> dict[str, float]:
    final = result.final_metrics
    train_seconds = sum(row["epoch_seconds"] for row in result.history)
    return {**evaluation.metrics, "loss_d": final["loss_d"], "loss_g": final["loss_g"], "epochs": final["epoch"],
            "train_seconds": train_seconds, "eval_seconds": evaluation.seconds}


def _uncertainty_figure_path(cfg: ExperimentConfig, result: TrainResult, eval_data: ImageData) -> Path:
    """Mean and std of many fillings of one held-out image's hole (the thesis figure)."""
    truth = eval_data.images[:1].float() / 255  # (1, C, H, W)
    top, left, size = cfg.hole_box()
    maps = inpaint_image(result.generator_ema.cpu(), truth[0], (top, left), UNCERTAINTY_SAMPLES)
    path = result.out_dir / UNCERTAINTY_FILE
    uncertainty_figure(cut_hole(truth, fixed_boxes(1, top, left), size), maps, truth=truth, path=path)
    return path


@task(cache_policy=NO_CACHE)
def track(experiment: str, params: Params, root: Path, run_name: str, result: TrainResult,
          metrics: dict[str, float], quality: dict[str, float], eval_data: ImageData) -> tuple[str, int, tracking.Decision]:
    """One MLflow run: params, per-epoch metrics and grids, figures, tags; then register and gate the model."""
    cfg = params.experiment(experiment)
    with tracking.start_run(experiment, run_name, params.tracking, root) as run_id:
        tracking.log_params(flatten(cfg) | flatten(params.ray, "ray"))
        tracking.set_run_tags(root, config_hash(cfg), params.ray.num_workers, "cuda" if params.ray.use_gpu else "cpu")
        for row in result.history:
            epoch = int(row["epoch"])
            tracking.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=epoch)
            grid = result.out_dir / "samples" / f"epoch_{epoch:03d}.png"
            if grid.is_file():
                tracking.log_sample_grid(grid, step=epoch)
        tracking.log_metrics(metrics, step=int(metrics["epochs"]))
        tracking.log_figure(loss_curve_figure(result.history, experiment), "plots/loss_curves.png")
        if cfg.task == "inpaint":
            tracking.log_file(_uncertainty_figure_path(cfg, result, eval_data), "plots")
        tracking.log_file(result.out_dir / HISTORY_FILE)
        exported = export_generator(result.out_dir / GENERATOR_FILE, experiment, cfg, result.generator_ema)
        version = tracking.log_generator_model(experiment, exported, cfg, quality)
    metric, direction = quality_metric(cfg)
    uri = tracking.tracking_uri(params.tracking, root)
    decision = tracking.promote_if_better(version.name, version.version, metric, direction, tracking_uri=uri)
    return run_id, int(version.version), decision


def _summary_markdown(summary: TrainSummary, grid: Path) -> str:
    lines = [
        f"# {summary.experiment}",
        f"- MLflow run `{summary.run_id}`: start `mlflow ui --backend-store-uri sqlite:///mlflow.db`, then "
        f"[open the run](http://127.0.0.1:5000/#/runs/{summary.run_id})",
        f"- registered model `{tracking.registered_name(summary.experiment)}` v{summary.model_version}: {summary.promotion}",
        f"- samples: [{grid.name}]({grid.resolve().as_uri()}) in `{summary.out_dir}`",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {name} | {value:.4g} |" for name, value in sorted(summary.metrics.items())),
    ]
    lines += [f"- `{name}` not computed: {reason}" for name, reason in sorted(summary.unavailable.items())]
    return "\n".join(lines)


@flow(name="train", log_prints=True)
def train_flow(experiment: str, overrides: list[str] | None = None, params_path: str = "params.yaml") -> TrainSummary:
    """Train, evaluate, track and register one experiment; publish its metrics and summary as artifacts."""
    path = Path(params_path)
    params = load_params(path, overrides)  # deployments come here directly: validate again
    cfg = params.experiment(experiment)
    root, prepared_dir, out_dir = project_paths(path, params, experiment)
    run_name = ray_run_name(experiment, cfg, prepared_dir)
    classifier_path = root / CLASSIFIER_DIR / "classifier.pt"
    classifier_path = classifier_path if classifier_path.is_file() else None

    train_data, eval_data = load_data(cfg, prepared_dir)
    result = fit(experiment, params, train_data, eval_data, classifier_path, out_dir, run_name)
    evaluation = evaluate(cfg, result, eval_data, classifier_path)
    metrics = _final_metrics(result, evaluation)
    write_metrics_json(out_dir / METRICS_FILE, metrics)
    run_id, version, decision = track(experiment, params, root, run_name, result, metrics, evaluation.metrics, eval_data)

    summary = TrainSummary(experiment, metrics, evaluation.unavailable, run_id, version,
                           decision.promoted, decision.reason, out_dir)
    publish_artifacts(tracking.registered_name(experiment), metrics, _summary_markdown(summary, out_dir / LATEST_GRID))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.train", description=train_flow.__doc__)
    parser.add_argument("experiment", choices=EXPERIMENTS)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a param, e.g. --set mnist_gan.train.epochs=3 (validated like params.yaml)")
    args = parser.parse_args(argv)
    params_or_exit(args.params, args.overrides)
    summary = train_flow(args.experiment, args.overrides, args.params)
    print(f"{args.experiment}: model v{summary.model_version} ({summary.promotion}); "
          + ", ".join(f"{name}={value:.4g}" for name, value in sorted(summary.metrics.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
