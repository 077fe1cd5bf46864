"""Command lines: bad params reach the user as the validation message before Ray, MLflow or Prefect start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def test_bad_param_exits_2_with_the_message_and_starts_nothing(params_path: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    params = params_path.rename(project / "params.yaml")
    env = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
    done = subprocess.run(
        [sys.executable, "-m", "flows.train", "mnist_gan", "--params", str(params),
         "--set", "mnist_gan.train.batch_size=0"],
        cwd=project, capture_output=True, text=True, timeout=120,
        env=env | {"PYTHONPATH": str(PROJECT), "HOME": str(tmp_path / "home")},
    )
    assert done.returncode == 2, done.stderr
    assert "mnist_gan.train.batch_size: got 0" in done.stderr
    assert "greater than or equal to 1" in done.stderr
    assert sorted(p.name for p in project.iterdir()) == ["params.yaml"]  # no mlflow.db, outputs/, runs/


def test_unknown_experiment_is_refused_by_name(params_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "flows.train", "mnist_gann", "--params", str(params_path)],
                          cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "invalid choice: 'mnist_gann'" in done.stderr and "mnist_gan" in done.stderr


def test_deploy_without_a_server_says_how_to_start_one(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    done = subprocess.run([sys.executable, "-m", "flows.deploy"], cwd=PROJECT, capture_output=True, text=True,
                          timeout=120, env=env | {"HOME": str(tmp_path)})
    assert done.returncode == 2
    assert "need a Prefect server" in done.stderr and "prefect server start" in done.stderr
