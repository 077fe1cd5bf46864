"""Per-task pieces of the one training loop: what a fake is, what D is told, extra G losses.

The loop in gan_core.train owns the two labelled updates (D, then G); a task only says how to
draw a condition (nothing, fake labels, or a holed image), how to turn noise into a fake that D
judges, and which output the mode-seeking and reconstruction terms compare.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gan_core.config import NUM_CLASSES, ExperimentConfig
from gan_core.losses import hole_l1_loss


@dataclass
class Condition:
    """What one batch of fakes is conditioned on (None fields do not apply to the task)."""

    labels: Tensor | None = None  # cGAN: the digits asked for
    holed: Tensor | None = None  # inpainting: y, the image with its hole set to 0
    boxes: Tensor | None = None  # inpainting: (B, 2) top-left of each hole
    truth: Tensor | None = None  # inpainting: the real content of each hole


class TaskSteps:
    """Unconditional GAN: G(z) is judged by D(x)."""

    def __init__(self, cfg: ExperimentConfig) -> None:
        self.cfg = cfg

    def condition(self, real: Tensor, labels: Tensor | None, noise: torch.Generator) -> Condition:
        return Condition()

    def generate(self, generator: nn.Module, z: Tensor, cond: Condition) -> tuple[Tensor, Tensor]:
        """(what D judges, what the mode-seeking term compares)."""
        fake = generator(z)
        return fake, fake

    def real_labels(self, labels: Tensor | None) -> Tensor | None:
        return None

    def fake_labels(self, cond: Condition) -> Tensor | None:
        return None

    def reconstruction_loss(self, output: Tensor, cond: Condition) -> Tensor | None:
        return None


class ConditionalSteps(TaskSteps):
    """Class-conditional GAN: fake labels drawn uniformly from all ten digits (never an 11th)."""

    def condition(self, real: Tensor, labels: Tensor | None, noise: torch.Generator) -> Condition:
        fake = torch.randint(0, NUM_CLASSES, (real.shape[0],), generator=noise, device=noise.device)
        return Condition(labels=fake.to(real.device))

    def generate(self, generator: nn.Module, z: Tensor, cond: Condition) -> tuple[Tensor, Tensor]:
        fake = generator(z, cond.labels)
        return fake, fake

    def real_labels(self, labels: Tensor | None) -> Tensor | None:
        return labels

    def fake_labels(self, cond: Condition) -> Tensor | None:
        return cond.labels


class InpaintingSteps(TaskSteps):
    """Inpainting: G(z, C(y)) fills the hole, D judges the whole composite against real x."""

    def condition(self, real: Tensor, labels: Tensor | None, noise: torch.Generator) -> Condition:
        from gan_core.data.masks import boxes_for, crop_patch, cut_hole

        size = self.cfg.hole_box()[2]
        boxes = boxes_for(self.cfg, real.shape[0], noise).to(real.device)
        return Condition(holed=cut_hole(real, boxes, size), boxes=boxes, truth=crop_patch(real, boxes, size))

    def generate(self, generator: nn.Module, z: Tensor, cond: Condition) -> tuple[Tensor, Tensor]:
        from gan_core.data.masks import paste_patch

        patch = generator(z, cond.holed, cond.boxes)
        return paste_patch(cond.holed, patch, cond.boxes), patch

    def reconstruction_loss(self, output: Tensor, cond: Condition) -> Tensor | None:
        if not self.cfg.train.l1_weight:
            return None
        return self.cfg.train.l1_weight * hole_l1_loss(output, cond.truth)


def steps_for(cfg: ExperimentConfig) -> TaskSteps:
    """The task's steps: one small class per task, one loop for all."""
    return {"gan": TaskSteps, "cgan": ConditionalSteps, "inpaint": InpaintingSteps}[cfg.task](cfg)
