"""Small inpainting configs and a stand-in inpainter, shared as fixtures by the inpainting tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

from gan_core.config import ExperimentConfig, HoleConfig, ModelConfig


def _inpaint_config(
    dataset: str = "mnist",
    image_size: int = 28,
    hole: int = 14,
    position: str = "fixed",
    top: int | None = None,
    left: int | None = None,
    family: str = "dcgan",
    nz: int = 8,
    width: int = 8,
) -> ExperimentConfig:
    """A validated inpainting config with tiny nets (the real params are far too big for tests)."""
    return ExperimentConfig(
        task="inpaint",
        dataset=dataset,
        image_size=image_size,
        hole=HoleConfig(size=hole, position=position, top=top, left=left),
        model=ModelConfig(family=family, nz=nz, ngf=width, ndf=width),
    )


class ConstantInpainter(nn.Module):
    """Ignores z: fills every hole with one value, so all K samples are identical; counts its calls."""

    def __init__(self, image_size: int = 12, hole_size: int = 4, channels: int = 1, nz: int = 3, value: float = 0.3) -> None:
        super().__init__()
        self.nz, self.hole_size, self.image_size, self.channels = nz, hole_size, image_size, channels
        self.value, self.calls = value, 0

    def forward(self, z: Tensor, y: Tensor, boxes: Tensor) -> Tensor:
        self.calls += 1
        return torch.full((y.shape[0], self.channels, self.hole_size, self.hole_size), self.value)


@pytest.fixture
def inpaint_config() -> Callable[..., ExperimentConfig]:
    return _inpaint_config


@pytest.fixture
def constant_inpainter() -> ConstantInpainter:
    return ConstantInpainter()
