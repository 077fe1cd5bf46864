"""A tiny copy of the project (code, dvc.yaml, small params, synthetic data mirror) and one Prefect API.

Every stage runs for real (DVC, Prefect, Ray, MLflow); only the sizes are small: 4-8 wide nets,
one epoch of at most two batches, a single Ray worker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))  # the data tests' format writers
from data_builders import write_faces, write_idx, write_slices  # noqa: E402

from gan_core.data.mnist import IMAGES_MAGIC, LABELS_MAGIC, MNIST_FILES  # noqa: E402

PROJECT = Path(__file__).resolve().parents[2]
CODE = ("gan_core", "flows")
PROJECT_FILES = ("dvc.yaml", ".dvcignore", ".gitignore")
MNIST_SIZES = {"train": 96, "test": 40}
CELEBA_PARTITIONS = [0] * 16 + [2] * 8  # 16 train, 8 test faces
EVAL_SAMPLES = {"mnist": 32, "celeba": 8, "sic": 16}


def tiny_params() -> dict:
    """The project's params.yaml shrunk to seconds per stage (same keys, so the same validation)."""
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["ray"].update(num_workers=1, cpus_per_worker=1)
    for name, block in params.items():
        if "task" not in block:
            continue
        if block["model"]["family"] == "dcgan":
            block["model"].update(nz=8, ngf=4, ndf=4)
        block["train"].update(batch_size=8, epochs=1, batches_per_epoch=2,
                              train_size=64 if block["dataset"] == "sic" else 0)
        block["eval"].update(every=1, n_samples=EVAL_SAMPLES[block["dataset"]])
    return params


def write_mirror(root: Path) -> Path:
    """Synthetic data laid out like the real mirror (/work/shared/data)."""
    rng = np.random.default_rng(0)
    raw = root / "mnist" / "MNIST" / "raw"
    for split, count in MNIST_SIZES.items():
        images_name, labels_name = MNIST_FILES[split]
        write_idx(raw / images_name, IMAGES_MAGIC, rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        write_idx(raw / labels_name, LABELS_MAGIC, np.arange(count, dtype=np.uint8) % 10)
    names = write_faces(root / "celeba" / "img_align_celeba", len(CELEBA_PARTITIONS))
    (root / "celeba" / "list_eval_partition.txt").write_text(
        "".join(f"{name} {part}\n" for name, part in zip(names, CELEBA_PARTITIONS)))
    write_slices(root / "sic-diamonds", ["slice7", "slice24"], shape=(48, 48))
    return root


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """A command in the tiny project; its output is kept for the assertion messages."""
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def git_commit(root: Path, message: str, env: dict[str, str]) -> None:
    for args in (["git", "add", "-A"], ["git", "commit", "-q", "-m", message]):
        subprocess.run(args, cwd=root, env=env, check=True, capture_output=True)


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """One Prefect test server for the session; stage subprocesses report to it via PREFECT_API_URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield PREFECT_API_URL.value()


@pytest.fixture(scope="session")
def project_env(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of every pipeline subprocess: this venv first on PATH, the shared API, private caches."""
    env = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
    env.update(
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        PREFECT_API_URL=prefect_api,
        GAN_CACHE_DIR=str(tmp_path_factory.mktemp("decode-cache")),
        GIT_AUTHOR_NAME="test", GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="test", GIT_COMMITTER_EMAIL="test@example.com",
        OMP_NUM_THREADS="1",
    )
    return env


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory: pytest.TempPathFactory, project_env: dict[str, str]) -> Path:
    """A git + DVC repo holding a copy of the code and pipeline, tiny params and no data yet."""
    root = tmp_path_factory.mktemp("project")
    for name in CODE:
        shutil.copytree(PROJECT / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in PROJECT_FILES:
        shutil.copy2(PROJECT / name, root / name)
    (root / "params.yaml").write_text(yaml.safe_dump(tiny_params(), sort_keys=False))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    for args in (["init", "-q"], ["config", "core.analytics", "false"],
                 ["config", "--local", "core.site_cache_dir", str(root / ".dvc" / "site-cache")]):
        subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, env=project_env, check=True, capture_output=True)
    git_commit(root, "tiny project", project_env)
    return root


@pytest.fixture(scope="session")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mirror(tmp_path_factory.mktemp("mirror"))


@pytest.fixture(scope="session")
def first_run(tiny_project: Path, mirror: Path, project_env: dict[str, str]) -> str:
    """`python -m flows.run_all --mirror ...` in the fresh tiny project (what `make run` does); its output."""
    done = run([sys.executable, "-m", "flows.run_all", "--mirror", str(mirror)], tiny_project, project_env, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    git_commit(tiny_project, "first run", project_env)  # `dvc exp` needs the pipeline state committed
    return done.stdout + done.stderr
