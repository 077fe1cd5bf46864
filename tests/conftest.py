"""Shared test set-up: quiet, offline, fast settings for torch, Ray, Prefect, MLflow and DVC."""

import os
import tempfile

# Set before any of the libraries is imported (see README, "Environment").
_QUIET_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.2",
    "RAY_TRAIN_METRICS_ENABLED": "0",
    "RAY_CHDIR_TO_TRIAL_DIR": "0",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "DVC_NO_ANALYTICS": "1",
    "GAN_DATA_MIRROR": "",  # tests never read the real data mirror
}
for _key, _value in _QUIET_ENV.items():
    os.environ.setdefault(_key, _value)
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-home-"))

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)  # tests are tiny; one thread keeps 2-core CI machines responsive


@pytest.fixture
def params_path(tmp_path):
    """A copy of the project's params.yaml in a temp dir, for tests that edit it."""
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "params.yaml"
    target = tmp_path / "params.yaml"
    target.write_text(source.read_text())
    return target
