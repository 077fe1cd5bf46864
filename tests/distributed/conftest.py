"""One local Ray for all distributed tests (2 CPUs, as on CI), plus tiny synthetic data and configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan_core.config import ExperimentConfig, ModelConfig, RayConfig, TrainConfig
from gan_core.data.datasets import ImageData


@pytest.fixture(scope="session")
def ray_cluster():
    """Started once per session: ray.init costs 3-4 s, and fit_distributed reuses a running Ray."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="session")
def tiny_config():
    """A factory: dcgan with nz/ngf/ndf 8 at 28 px, 2 epochs of 2 batches of 16 (one fit costs seconds)."""

    def make(task: str = "gan", **train_overrides) -> ExperimentConfig:
        train = dict(batch_size=16, epochs=2, seed=5, batches_per_epoch=2, ema_decay=0.9) | train_overrides
        return ExperimentConfig(task=task, dataset="mnist", image_size=28,
                                model=ModelConfig(family="dcgan", nz=8, ngf=8, ndf=8), train=TrainConfig(**train))

    return make


@pytest.fixture(scope="session")
def ray_config():
    """A factory: 2 CPU workers, checkpoints under `folder`, no retries unless asked."""

    def make(folder: Path, **overrides) -> RayConfig:
        settings = dict(num_workers=2, cpus_per_worker=1, storage_path=str(folder / "ray"), max_failures=0)
        return RayConfig(**(settings | overrides))

    return make


@pytest.fixture(scope="session")
def bars():
    """A factory of synthetic 'digits': a bright bar whose height encodes the label."""

    def make(n: int = 64, seed: int = 0) -> ImageData:
        generator = torch.Generator().manual_seed(seed)
        labels = torch.randint(0, 10, (n,), generator=generator)
        images = torch.zeros(n, 1, 28, 28, dtype=torch.uint8)
        for i, label in enumerate(labels):
            images[i, 0, 2 + 2 * label: 4 + 2 * label, 4:24] = 255
        return ImageData(images, labels)

    return make
