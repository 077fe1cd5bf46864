"""Tiny exported generators of each task kind (real nets built from configs with small widths)."""

import pytest
import torch

from gan_core.config import ExperimentConfig

SMALL = {"family": "dcgan", "nz": 8, "ngf": 4, "ndf": 4}
CONFIGS = {
    "mnist_gan": ExperimentConfig(task="gan", dataset="mnist", image_size=28, model=SMALL),
    "mnist_cgan": ExperimentConfig(task="cgan", dataset="mnist", image_size=28, model=SMALL),
    "mnist_inpaint": ExperimentConfig(task="inpaint", dataset="mnist", image_size=28, model=SMALL,
                                      hole={"size": 14, "position": "fixed", "top": 7, "left": 7}),
}


@pytest.fixture(scope="session")
def exported_generators(tmp_path_factory):
    """experiment -> (config, path of its weights-only export)."""
    from gan_core.checkpoint import export_generator
    from gan_core.models import build_generator

    folder = tmp_path_factory.mktemp("exports")
    torch.manual_seed(0)
    return {name: (cfg, export_generator(folder / f"{name}.pt", name, cfg, build_generator(cfg).eval()))
            for name, cfg in CONFIGS.items()}
