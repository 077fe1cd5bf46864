"""Sample grids from fixed inputs, so the grids of different epochs compare like for like."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision.utils import make_grid, save_image

from gan_core.config import NUM_CLASSES, ExperimentConfig
from gan_core.modes import eval_mode

GRID_SEED_OFFSET = 7919  # fixed noise is independent of the training noise stream
INPAINT_INPUTS, INPAINT_SAMPLES = 8, 4


@dataclass
class FixedInputs:
    """Noise (and labels, or holed images) drawn once per run."""

    z: Tensor
    labels: Tensor | None = None
    holed: Tensor | None = None
    boxes: Tensor | None = None
    truth: Tensor | None = None
    nrow: int = 8


def fixed_inputs(cfg: ExperimentConfig, nz: int, examples: Tensor) -> FixedInputs:
    """8x8 samples for a GAN; a 10x10 grid (one row per digit) for a cGAN; 8 holed inputs for inpainting.

    `examples` is a float batch of real images in [0, 1] (inpainting uses the first 8).
    """
    noise = torch.Generator().manual_seed(cfg.train.seed + GRID_SEED_OFFSET)
    if cfg.task == "cgan":
        labels = torch.arange(NUM_CLASSES).repeat_interleave(NUM_CLASSES)  # row k: digit k
        return FixedInputs(z=torch.randn(len(labels), nz, generator=noise), labels=labels, nrow=NUM_CLASSES)
    if cfg.task == "inpaint":
        from gan_core.data.masks import boxes_for, cut_hole

        truth = examples[:INPAINT_INPUTS]
        size = cfg.hole_box()[2]
        boxes = boxes_for(cfg, len(truth), noise)
        z = torch.randn(INPAINT_SAMPLES * len(truth), nz, generator=noise)
        return FixedInputs(z=z, holed=cut_hole(truth, boxes, size), boxes=boxes, truth=truth, nrow=len(truth))
    return FixedInputs(z=torch.randn(64, nz, generator=noise))


@torch.no_grad()
def render_samples(generator: nn.Module, inputs: FixedInputs, device: torch.device) -> Tensor:
    """The grid picture (C, H, W) in [0, 1] from the (EMA) generator in eval mode."""
    with eval_mode(generator):
        if inputs.holed is None:
            labels = None if inputs.labels is None else inputs.labels.to(device)
            images = generator(inputs.z.to(device)) if labels is None else generator(inputs.z.to(device), labels)
        else:
            from gan_core.data.masks import paste_patch

            repeats = len(inputs.z) // len(inputs.holed)
            holed = inputs.holed.to(device).repeat(repeats, 1, 1, 1)
            boxes = inputs.boxes.to(device).repeat(repeats, 1)
            composites = paste_patch(holed, generator(inputs.z.to(device), holed, boxes), boxes)
            # rows: the holed input, `repeats` inpaintings, the truth
            images = torch.cat([inputs.holed.to(device), composites, inputs.truth.to(device)])
    return make_grid(images.float().cpu().clamp(0, 1), nrow=inputs.nrow, padding=2, pad_value=1.0)


def write_grid(grid: Tensor, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    save_image(grid, tmp)
    tmp.replace(path)
    return path
