"""`make run` on a tiny project: fetch, version, `dvc repro` every stage; then no-op and one-stage reruns."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from conftest import run

from gan_core.config import EXPERIMENTS

pytestmark = pytest.mark.slow
STAGES = ["prepare", "classifier", *(f"train@{name}" for name in EXPERIMENTS)]


def stages_run(output: str) -> list[str]:
    return re.findall(r"Running stage '([^']+)'", output)


def test_first_run_fetches_versions_and_runs_every_stage(first_run: str, tiny_project: Path) -> None:
    assert sorted(stages_run(first_run)) == sorted(STAGES)
    assert (tiny_project / "data.dvc").is_file()
    for name in ("mnist", "celeba32", "celeba64", "sic"):
        assert (tiny_project / "prepared" / f"{name}.pt").is_file()
    assert (tiny_project / "outputs" / "classifier" / "classifier.pt").is_file()
    for experiment in EXPERIMENTS:
        out = tiny_project / "outputs" / experiment
        for name in ("checkpoint.pt", "generator.pt", "history.csv", "samples/latest.png"):
            assert (out / name).is_file(), f"{experiment}: {name} missing"
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["epochs"] == 1 and {"loss_d", "loss_g", "train_seconds"} <= metrics.keys()
    assert json.loads((tiny_project / "outputs/mnist_cgan/metrics.json").read_text())["class_accuracy"] >= 0
    assert "hole_psnr" in json.loads((tiny_project / "outputs/sic_inpaint/metrics.json").read_text())
    assert (tiny_project / "outputs/mnist_inpaint/uncertainty.png").is_file()
    assert (tiny_project / "mlflow.db").is_file()
    # the champions: MNIST models have their metric offline; CelebA FID needs Inception weights
    for model in ("mnist-gan", "mnist-cgan", "mnist-inpaint", "sic-inpaint"):
        assert re.search(rf"champion {model}: v1 \(\w+ ", first_run), model


def test_dvc_reports_metrics_plots_and_clean_status(first_run: str, tiny_project: Path, project_env: dict) -> None:
    metrics = run([sys.executable, "-m", "dvc", "metrics", "show", "--json"], tiny_project, project_env)
    shown = json.loads(metrics.stdout)
    files = next(iter(shown.values()))["data"]
    assert "fid" in files["outputs/mnist_gan/metrics.json"]["data"]
    assert "test_accuracy" in files["outputs/classifier/metrics.json"]["data"]
    plots = run([sys.executable, "-m", "dvc", "plots", "show", "--json"], tiny_project, project_env)
    names = set(json.loads(plots.stdout)["data"])
    assert "mnist_gan losses" in names and "outputs/sic_inpaint/samples/latest.png" in names
    status = run([sys.executable, "-m", "dvc", "status", "--json"], tiny_project, project_env)
    assert json.loads(status.stdout) == {}


def test_second_run_runs_nothing(first_run: str, tiny_project: Path, mirror: Path, project_env: dict) -> None:
    pointer_written = (tiny_project / "data.dvc").stat().st_mtime_ns
    again = run([sys.executable, "-m", "flows.run_all", "--mirror", str(mirror)], tiny_project, project_env)
    assert again.returncode == 0, again.stderr[-4000:]
    assert stages_run(again.stdout + again.stderr) == []
    assert "champion mnist-gan: v1" in again.stdout
    assert (tiny_project / "data.dvc").stat().st_mtime_ns == pointer_written  # data unchanged: no new `dvc add`


def test_exp_run_with_one_param_reruns_only_that_experiment(first_run: str, tiny_project: Path, project_env: dict) -> None:
    done = run([sys.executable, "-m", "dvc", "exp", "run", "-S", "mnist_gan.train.lr_g=0.0003", "--name", "lr-g"],
               tiny_project, project_env)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert stages_run(done.stdout + done.stderr) == ["train@mnist_gan"]
    shown = run([sys.executable, "-m", "dvc", "exp", "show", "--md"], tiny_project, project_env)
    assert "lr-g" in shown.stdout and "0.0003" in shown.stdout
    diff = run([sys.executable, "-m", "dvc", "params", "diff", "--json"], tiny_project, project_env)
    assert json.loads(diff.stdout)["params.yaml"]["mnist_gan.train.lr_g"]["new"] == 0.0003
