"""Synthetic "digits" for the metrics tests: ten bright squares at ten places, with noise and jitter.

They are easy enough for a tiny LeNet to learn in a second, so no test needs real MNIST.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from gan_core.data.datasets import ImageData
from gan_core.metrics.classifier import LeNet, train_classifier


def synthetic_digits(n_per_class: int, seed: int, size: int = 28, channels: int = 1) -> ImageData:
    """Label k: a 6 px square at the k-th cell of a 4 x 3 grid, jittered by up to 1 px, with pixel noise."""
    rng = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat(n_per_class)
    images = torch.zeros(len(labels), channels, size, size)
    jitter = torch.randint(-1, 2, (len(labels), 2), generator=rng)
    for i, (label, (dy, dx)) in enumerate(zip(labels.tolist(), jitter.tolist())):
        top, left = 2 + 8 * (label // 4) + dy, 1 + 7 * (label % 4) + dx
        images[i, :, top : top + 6, left : left + 6] = 1.0
    images = (images + 0.15 * torch.randn(images.shape, generator=rng)).clamp(0, 1)
    return ImageData((images * 255).round().to(torch.uint8), labels)


class RealImageGenerator(nn.Module):
    """A perfect "generator": real images of the asked label (any label if none; always `only_label` if set), picked by z."""

    def __init__(self, real: ImageData, nz: int = 4, only_label: int | None = None) -> None:
        super().__init__()
        self.nz = nz
        self.real = real
        self.only_label = only_label
        self.anchor = nn.Parameter(torch.zeros(()))  # gives the stub a device, like a real net

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.only_label is not None:  # a collapsed (or label-deaf) generator
            labels = torch.full((len(z),), self.only_label)
        elif labels is None:
            labels = torch.full((len(z),), -1)
        pick = (z[:, 0].abs() * 1e4).long().cpu()
        out = []
        for k, p in zip(labels.cpu().tolist(), pick.tolist()):
            pool = self.real.images if k < 0 else self.real.images[self.real.labels == k]
            out.append(pool[p % len(pool)])
        return torch.stack(out).float().to(z.device) / 255


@pytest.fixture(scope="session")
def digits_train() -> ImageData:
    return synthetic_digits(60, seed=1)


@pytest.fixture(scope="session")
def digits_test() -> ImageData:
    return synthetic_digits(30, seed=2)


@pytest.fixture(scope="session")
def tiny_classifier(digits_train: ImageData) -> LeNet:
    """A narrow LeNet trained for two epochs on the synthetic digits (about a second)."""
    return train_classifier(digits_train.images, digits_train.labels, epochs=2, batch_size=32, lr=3e-3, width=4)


@pytest.fixture
def real_image_generator() -> type[RealImageGenerator]:
    """The stub generator class (test modules can't import conftest by name reliably)."""
    return RealImageGenerator
