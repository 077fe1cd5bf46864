"""The mode-seeking term keeps an inpainter diverse on a toy two-mode problem (the thesis's reason for it)."""

import torch

from gan_core.config import ExperimentConfig, HoleConfig, ModelConfig
from gan_core.data.masks import boxes_for, cut_hole, paste_patch
from gan_core.losses import discriminator_loss, generator_loss, mode_seeking_loss
from gan_core.metrics.inpainting import mean_pairwise_l1
from gan_core.models.inpainting import build_inpainter, build_inpainting_discriminator

CFG = ExperimentConfig(
    task="inpaint", dataset="sic", image_size=8, hole=HoleConfig(size=4), model=ModelConfig(nz=4, ngf=8, ndf=8)
)
BATCH, STEPS, SEEDS = 16, 40, (0, 1, 2)


def two_mode_images(n: int, noise: torch.Generator) -> torch.Tensor:
    """Grey 8 px images whose centre 4 px is dark or bright at random: one context, two right answers."""
    x = torch.full((n, 1, 8, 8), 0.5)
    bright = torch.randint(0, 2, (n, 1, 1, 1), generator=noise).float()
    x[:, :, 2:6, 2:6] = 0.1 + 0.8 * bright
    return x


def diversity_after_training(mode_seeking_weight: float, seed: int) -> float:
    """Train a tiny inpainter a few dozen steps; mean pairwise L1 of 64 fillings of one hole."""
    torch.manual_seed(seed)
    noise = torch.Generator().manual_seed(seed)
    inpainter, discriminator = build_inpainter(CFG), build_inpainting_discriminator(CFG)
    opt_g = torch.optim.Adam(inpainter.parameters(), 2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), 2e-3, betas=(0.5, 0.999))
    boxes = boxes_for(CFG, BATCH)
    for _ in range(STEPS):
        x = two_mode_images(BATCH, noise)
        y = cut_hole(x, boxes, 4)
        z1, z2 = torch.randn(BATCH, 4, generator=noise), torch.randn(BATCH, 4, generator=noise)
        patch1 = inpainter(z1, y, boxes)
        # update D: real x against the composite
        opt_d.zero_grad()
        discriminator_loss(discriminator(x), discriminator(paste_patch(y, patch1.detach(), boxes))).backward()
        opt_d.step()
        # update G and C: fool D, and (optionally) spread distant codes to distant patches
        loss = generator_loss(discriminator(paste_patch(y, patch1, boxes)))
        if mode_seeking_weight:
            loss = loss + mode_seeking_weight * mode_seeking_loss(z1, z2, patch1, inpainter(z2, y, boxes))
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
    inpainter.eval()
    with torch.no_grad():
        y = cut_hole(two_mode_images(1, noise), boxes[:1], 4).expand(64, -1, -1, -1)
        patches = inpainter(torch.randn(64, 4, generator=noise), y, boxes_for(CFG, 64))
    return mean_pairwise_l1(patches)


def test_mode_seeking_raises_diversity():
    without = sum(diversity_after_training(0.0, seed) for seed in SEEDS) / len(SEEDS)
    with_term = sum(diversity_after_training(1.0, seed) for seed in SEEDS) / len(SEEDS)
    assert with_term > 1.5 * without, (with_term, without)
