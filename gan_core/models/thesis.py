"""The `thesis` family: the networks of JohannesKMB/Generative-Adversarial-Networks, layer for layer.

MNIST (`MNIST Generation/MSGAN.ipynb`), one MLP pair for the GAN and, with one-hot labels, the cGAN.
Original hyper-parameters: nz 100, batch 128, Adam lr_D 9e-5 and lr_G 3e-4 (default betas), 2 D steps per
G step, mode-seeking weight 1.

CelebA 32 px (`CelebA Generation/CelebAGAN_Braitinger.py`), a fully connected stem and a small conv net.
Original hyper-parameters: nz 400, batch 128, Adam lr 7e-5 with betas (0.5, 0.999) for G and D,
mode-seeking weight 1.

Departures, all at the edges: discriminators return logits (the thesis's final Sigmoid is folded into the
numerically stable loss), generators return [0, 1] like the rest of the library, and labels are always
0..9 (the thesis drew about 5% of fake labels as the all-zero one-hot "10"). Attribute names follow the
thesis (`gen`, `disc`, `linear_layers`, `conv_layers`, `cnn_layers`) so its saved state dicts load as is.
The widths are fixed; only `nz` comes from the config.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gan_core.models.dcgan import check_labels

MNIST_PIXELS = 28 * 28


def _append_one_hot(x: torch.Tensor, labels: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """The thesis's conditioning: concatenate the one-hot label to the network's flat input."""
    if num_classes == 0:
        return x
    return torch.cat([x, F.one_hot(labels, num_classes).to(x.dtype)], dim=1)


class ThesisMLPGenerator(nn.Module):
    """MNIST G: Linear(nz + n_labels, 512), LeakyReLU(0.1), Linear(512, 784), Tanh -> (B, 1, 28, 28) in [0, 1]."""

    def __init__(self, nz: int = 100, num_classes: int = 0) -> None:
        super().__init__()
        self.nz, self.num_classes = nz, num_classes
        self.gen = nn.Sequential(
            nn.Linear(nz + num_classes, 512), nn.LeakyReLU(0.1), nn.Linear(512, MNIST_PIXELS), nn.Tanh()
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        check_labels(labels, self.num_classes, z.shape[0])
        images = (self.gen(_append_one_hot(z, labels, self.num_classes)) + 1) / 2  # (B, 784) in [0, 1]
        return images.view(-1, 1, 28, 28)


class ThesisMLPDiscriminator(nn.Module):
    """MNIST D: Linear(784 + n_labels, 512), LeakyReLU(0.1), Linear(512, 1) -> logits (B,)."""

    def __init__(self, num_classes: int = 0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.disc = nn.Sequential(nn.Linear(MNIST_PIXELS + num_classes, 512), nn.LeakyReLU(0.1), nn.Linear(512, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        check_labels(labels, self.num_classes, x.shape[0])
        flat = (x * 2 - 1).flatten(1)  # the thesis's D saw [-1, 1] images (Normalize(0.5, 0.5), Tanh G); (B, 784)
        return self.disc(_append_one_hot(flat, labels, self.num_classes)).squeeze(1)


class ThesisCelebAGenerator(nn.Module):
    """CelebA 32 px G: Linear stem to 128x8x8, two ConvT x2 steps with 1x1 convs, Sigmoid -> (B, 3, 32, 32)."""

    def __init__(self, nz: int = 400) -> None:
        super().__init__()
        self.nz, self.num_classes = nz, 0
        self.linear_layers = nn.Sequential(nn.Linear(nz, 1024), nn.ReLU(), nn.Linear(1024, 128 * 8 * 8), nn.ReLU())
        self.conv_layers = nn.Sequential(
            nn.ConvTranspose2d(128, 128, kernel_size=2, stride=2, bias=False),  # (B, 128, 16, 16)
            nn.BatchNorm2d(128),
            nn.Conv2d(128, 64, 1, 1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.ConvTranspose2d(64, 32, kernel_size=2, stride=2, bias=False),  # (B, 32, 32, 32)
            nn.BatchNorm2d(32),
            nn.Conv2d(32, 64, 1, 1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.Conv2d(64, 3, 1, 1),
            nn.Sigmoid(),  # already [0, 1]: the thesis trained on pixels / 255
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        check_labels(labels, self.num_classes, z.shape[0])
        return self.conv_layers(self.linear_layers(z).view(-1, 128, 8, 8))


def _conv_block(in_channels: int, out_channels: int, pool_stride: int) -> nn.Sequential:
    """The thesis's D block: two 3x3 convs with ReLU, then a 2x2 max-pool with the given stride."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=pool_stride),
    )


class ThesisCelebADiscriminator(nn.Module):
    """CelebA 32 px D: blocks of 32/64/128 channels (pool strides 2/2/1: 32 -> 16 -> 8 -> 7 px), MLP -> logits (B,)."""

    def __init__(self) -> None:
        super().__init__()
        self.num_classes = 0
        self.cnn_layers = nn.Sequential(_conv_block(3, 32, 2), _conv_block(32, 64, 2), _conv_block(64, 128, 1), nn.Flatten())
        self.linear_layers = nn.Sequential(nn.Linear(128 * 7 * 7, 1024), nn.ReLU(), nn.Linear(1024, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        check_labels(labels, self.num_classes, x.shape[0])
        return self.linear_layers(self.cnn_layers(x)).squeeze(1)  # thesis input is pixels / 255: no rescale
