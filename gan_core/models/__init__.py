"""Networks only: the `dcgan` and `thesis` families for GAN, cGAN and inpainting.

Every generator has `nz` and maps (z (B, nz), labels (B,) | None) to images (B, C, H, W) in [0, 1];
every discriminator maps (images, labels | None) to raw logits (B,). Conditional nets require labels,
unconditional ones refuse them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from gan_core.models.dcgan import GEOMETRY, DCGANDiscriminator, DCGANGenerator, init_weights
from gan_core.models.thesis import (
    ThesisCelebADiscriminator,
    ThesisCelebAGenerator,
    ThesisMLPDiscriminator,
    ThesisMLPGenerator,
)

if TYPE_CHECKING:  # models depend on torch only; the config is just read
    from gan_core.config import ExperimentConfig

__all__ = ["build_discriminator", "build_generator", "init_weights"]


def _network(cfg: ExperimentConfig) -> str:
    """Which G/D pair a GAN or cGAN config names; raises for combinations no network here supports."""
    family, task, size, channels = cfg.model.family, cfg.task, cfg.image_size, cfg.channels
    if family == "dcgan" and task in ("gan", "cgan") and size in GEOMETRY:
        return "dcgan"
    if family == "thesis" and task in ("gan", "cgan") and size == 28 and channels == 1:
        return "thesis_mnist"
    if family == "thesis" and task == "gan" and size == 32 and channels == 3:
        return "thesis_celeba"
    raise ValueError(
        f"no network for model.family {family!r}, task {task!r}, image_size {size} with {channels} channel(s); "
        f"supported: dcgan gan/cgan at {sorted(GEOMETRY)} px, thesis gan/cgan at 28 px grey (MNIST), "
        "thesis gan at 32 px RGB (CelebA); task 'inpaint' is built by gan_core.models.inpainting"
    )


def build_generator(cfg: ExperimentConfig) -> nn.Module:
    """The generator the config names (family x task x size)."""
    if cfg.task == "inpaint":
        from gan_core.models.inpainting import build_inpainter  # arrives with the inpainting nets

        return build_inpainter(cfg)
    network = _network(cfg)
    if network == "dcgan":
        return DCGANGenerator(cfg.model.nz, cfg.model.ngf, cfg.channels, cfg.image_size, cfg.num_classes)
    if network == "thesis_mnist":
        return ThesisMLPGenerator(cfg.model.nz, cfg.num_classes)
    return ThesisCelebAGenerator(cfg.model.nz)


def build_discriminator(cfg: ExperimentConfig) -> nn.Module:
    """The discriminator the config names (family x task x size)."""
    if cfg.task == "inpaint":
        from gan_core.models.inpainting import build_inpainting_discriminator

        return build_inpainting_discriminator(cfg)
    network = _network(cfg)
    if network == "dcgan":
        return DCGANDiscriminator(cfg.model.ndf, cfg.channels, cfg.image_size, cfg.num_classes)
    if network == "thesis_mnist":
        return ThesisMLPDiscriminator(cfg.num_classes)
    return ThesisCelebADiscriminator()
