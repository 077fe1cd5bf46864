"""Inpainting nets: a conditioning net C(y), a conditional generator G(z, C(y)) and a composite discriminator.

The method follows the thesis (`SiC Diamonds Inpainting/cGAN.ipynb`): y is x with a square hole set to 0,
C makes a first guess of the hole from y, G turns noise plus that guess into the hole's patch, and D
judges the whole composite (y with the patch pasted in) against real x. C and G live in one `Inpainter`
so one optimiser and one EMA copy cover both, as the thesis trained them with one Adam.

Thesis settings (family "thesis", 28 px patch, 18 px hole): nz 200, ngf 4, Adam lr 1e-3 for G + C and
3e-4 for D, batch 8, mode-seeking weight 0.05; the thesis's final Sigmoid in D folds into the loss.

The general family ("dcgan") adapts to any patch and hole size and position: C sees y and the hole mask
and G draws a full-size image from which the hole is cropped, both fully convolutional.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from gan_core.data.masks import crop_patch, hole_mask

if TYPE_CHECKING:  # models depend on torch only; the config is just read
    from gan_core.config import ExperimentConfig

THESIS_IMAGE, THESIS_HOLE = 28, 18  # the only geometry the thesis nets have (valid convs: 28 -> 18)


class Inpainter(nn.Module):
    """C and G of one inpainting model: forward(z, y, boxes) -> the hole's patch (B, C, h, h) in [0, 1]."""

    def __init__(
        self, conditioner: nn.Module, generator: nn.Module, *, nz: int, hole_size: int, image_size: int, channels: int
    ) -> None:
        super().__init__()
        self.conditioner, self.generator = conditioner, generator
        self.nz, self.hole_size, self.image_size, self.channels = nz, hole_size, image_size, channels

    def forward(self, z: Tensor, y: Tensor, boxes: Tensor) -> Tensor:
        """One sampled patch per image: z (B, nz), y (B, C, H, W) holed images, boxes (B, 2)."""
        raise NotImplementedError

    def condition(self, y: Tensor, boxes: Tensor) -> Tensor:
        """C's first guess of each hole (B, C, h, h), clamped to [0, 1]: the baseline G must beat."""
        raise NotImplementedError

    def _check(self, y: Tensor, boxes: Tensor, z: Tensor | None = None) -> None:
        """Fail early with the expected shapes rather than deep inside a conv."""
        expected = (self.channels, self.image_size, self.image_size)
        if y.dim() != 4 or tuple(y.shape[1:]) != expected:
            raise ValueError(f"y must have shape (B, {', '.join(map(str, expected))}), got {tuple(y.shape)}")
        if tuple(boxes.shape) != (y.shape[0], 2):
            raise ValueError(f"boxes must have shape ({y.shape[0]}, 2) of (top, left), got {tuple(boxes.shape)}")
        if z is not None and tuple(z.shape) != (y.shape[0], self.nz):
            raise ValueError(f"z must have shape ({y.shape[0]}, {self.nz}), got {tuple(z.shape)}")


# --- thesis family -------------------------------------------------------------------------------


class ConditioningNet(nn.Module):
    """Thesis C: valid convs shrink the 28 px holed image to an 18 px guess of the hole (unbounded values)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(channels, 4, 3), nn.ReLU(),  # 28 -> 26
            nn.Conv2d(4, 8, 5), nn.ReLU(),  # -> 22
            nn.Conv2d(8, 16, 5), nn.ReLU(),  # -> 18
            nn.Conv2d(16, 8, 1), nn.ReLU(),
            nn.Conv2d(8, channels, 1),
        )  # fmt: skip

    def forward(self, y: Tensor) -> Tensor:
        return self.layers(y)  # (B, C, 18, 18)


class InpaintingGenerator(nn.Module):
    """Thesis G: [z, flattened C(y)] as a 1x1 map, transposed convs 1 -> 5 -> 11 -> 13 -> 15 -> 18."""

    def __init__(self, nz: int, ngf: int, channels: int) -> None:
        super().__init__()

        def block(cin: int, cout: int, stride: int, padding: int) -> list[nn.Module]:
            return [nn.ConvTranspose2d(cin, cout, 5, stride, padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.layers = nn.Sequential(
            *block(nz + channels * THESIS_HOLE**2, ngf * 16, 2, 0),  # 1 -> 5
            *block(ngf * 16, ngf * 8, 2, 1),  # -> 11
            *block(ngf * 8, ngf * 4, 1, 1),  # -> 13
            *block(ngf * 4, ngf * 2, 1, 1),  # -> 15
            nn.ConvTranspose2d(ngf * 2, channels, 4, 1),  # -> 18
            nn.Sigmoid(),
        )

    def forward(self, z: Tensor, guess: Tensor) -> Tensor:
        code = torch.cat([z, guess.flatten(1)], dim=1)  # (B, nz + C*18*18)
        return self.layers(code[:, :, None, None])  # (B, C, 18, 18)


class ThesisInpainter(Inpainter):
    """The thesis pair: C never sees where the hole is (it was always at the same place)."""

    def forward(self, z: Tensor, y: Tensor, boxes: Tensor) -> Tensor:
        self._check(y, boxes, z)
        return self.generator(z, self.conditioner(y))

    def condition(self, y: Tensor, boxes: Tensor) -> Tensor:
        self._check(y, boxes)
        return self.conditioner(y).clamp(0, 1)


class ThesisInpaintingDiscriminator(nn.Module):
    """Thesis D on the 28 px composite: convs 28 -> 26 -> 11 -> 4, then an MLP to one logit."""

    def __init__(self, channels: int, ndf: int = 16) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(channels, ndf, 3), nn.ReLU(),  # 28 -> 26
            nn.Conv2d(ndf, 2 * ndf, 5, 2), nn.ReLU(),  # -> 11
            nn.Conv2d(2 * ndf, 2 * ndf, 5, 2), nn.ReLU(),  # -> 4
            nn.Flatten(),
            nn.Linear(2 * ndf * 4 * 4, 128), nn.ReLU(),
            nn.Linear(128, 1),
        )  # fmt: skip

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        _refuse_labels(labels)
        return self.layers(x).squeeze(1)


# --- general family ------------------------------------------------------------------------------


def context_dilations(hole_size: int) -> tuple[int, ...]:
    """Dilations 1, 2, 4, ... until a 3x3 stack reaches from the hole's centre to its nearest context pixel."""
    dilations, reach = [1], (hole_size + 1) // 2 + 1
    while 1 + sum(dilations) < reach:  # +1: the final 3x3 output conv
        dilations.append(2 * dilations[-1])
    return tuple(dilations)


def dilated_stack(in_channels: int, width: int, out_channels: int, dilations: tuple[int, ...], norm: bool) -> nn.Sequential:
    """Size-preserving 3x3 convs with growing dilation, then a 3x3 conv to out_channels and a Sigmoid."""
    layers: list[nn.Module] = []
    for dilation in dilations:
        layers.append(nn.Conv2d(in_channels, width, 3, padding=dilation, dilation=dilation, bias=not norm))
        layers += [nn.BatchNorm2d(width), nn.ReLU()] if norm else [nn.ReLU()]
        in_channels = width
    layers += [nn.Conv2d(width, out_channels, 3, padding=1), nn.Sigmoid()]
    return nn.Sequential(*layers)


class MaskedConditioningNet(nn.Module):
    """General C: [y, hole mask] (C + 1 channels) -> a full-size first guess (B, C, H, W) in [0, 1]."""

    def __init__(self, channels: int, width: int, hole_size: int) -> None:
        super().__init__()
        self.layers = dilated_stack(channels + 1, width, channels, context_dilations(hole_size), norm=False)

    def forward(self, y: Tensor, mask: Tensor) -> Tensor:
        return self.layers(torch.cat([y, mask], dim=1))


class DilatedInpaintingGenerator(nn.Module):
    """General G: z broadcast over the image + C's composite + mask -> a full-size image (B, C, H, W) in [0, 1]."""

    def __init__(self, nz: int, channels: int, width: int, hole_size: int) -> None:
        super().__init__()
        self.layers = dilated_stack(nz + channels + 1, width, channels, context_dilations(hole_size), norm=True)

    def forward(self, z: Tensor, composite: Tensor, mask: Tensor) -> Tensor:
        noise = z[:, :, None, None].expand(-1, -1, *composite.shape[-2:])  # (B, nz, H, W)
        return self.layers(torch.cat([noise, composite, mask], dim=1))


class DilatedInpainter(Inpainter):
    """The general pair: C sees the mask, so holes may sit anywhere; G's full-size output is cropped to the hole."""

    def _guess(self, y: Tensor, boxes: Tensor) -> tuple[Tensor, Tensor]:
        """(C's guess pasted into y's hole, the float mask) (B, C, H, W), (B, 1, H, W)."""
        mask = hole_mask((y.shape[0], 1, *y.shape[-2:]), boxes.to(y.device), self.hole_size, dtype=y.dtype)
        guess = self.conditioner(y, mask)
        return torch.where(mask.bool(), guess, y), mask

    def forward(self, z: Tensor, y: Tensor, boxes: Tensor) -> Tensor:
        self._check(y, boxes, z)
        composite, mask = self._guess(y, boxes)
        return crop_patch(self.generator(z, composite, mask), boxes, self.hole_size)

    def condition(self, y: Tensor, boxes: Tensor) -> Tensor:
        self._check(y, boxes)
        return crop_patch(self._guess(y, boxes)[0], boxes, self.hole_size)


class InpaintingDiscriminator(nn.Module):
    """General D for any image size: strided 4x4 convs down to <= 4 px, global average pooling, one logit."""

    def __init__(self, channels: int, ndf: int, image_size: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels, width, side = channels, ndf, image_size
        while True:
            layers += [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
            in_channels, side = width, side // 2
            if side <= 4:
                break
            width = min(2 * width, 8 * ndf)
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(in_channels, 1)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        _refuse_labels(labels)
        return self.head(self.features(x).mean(dim=(2, 3))).squeeze(1)


def _refuse_labels(labels: Tensor | None) -> None:
    if labels is not None:
        raise ValueError("inpainting discriminators are not class-conditional: call them without labels")


# --- builders ------------------------------------------------------------------------------------


def _geometry(cfg: ExperimentConfig) -> tuple[int, int]:
    """(image size, hole size) of an inpainting config; the thesis nets accept only 28 / 18."""
    if cfg.task != "inpaint" or cfg.hole is None:
        raise ValueError(f"inpainting nets need task 'inpaint' with a hole block, got task {cfg.task!r}")
    if cfg.model.family == "thesis" and (cfg.image_size, cfg.hole.size) != (THESIS_IMAGE, THESIS_HOLE):
        raise ValueError(
            f"model.family 'thesis' inpaints an {THESIS_HOLE} px hole in a {THESIS_IMAGE} px patch, "
            f"got image_size {cfg.image_size}, hole.size {cfg.hole.size}; use family 'dcgan' for other sizes"
        )
    return cfg.image_size, cfg.hole.size


def build_inpainter(cfg: ExperimentConfig) -> Inpainter:
    """C and G for an inpainting config (family 'thesis' or 'dcgan')."""
    image_size, hole_size = _geometry(cfg)
    nz, ngf, channels = cfg.model.nz, cfg.model.ngf, cfg.channels
    sizes = {"nz": nz, "hole_size": hole_size, "image_size": image_size, "channels": channels}
    if cfg.model.family == "thesis":
        return ThesisInpainter(ConditioningNet(channels), InpaintingGenerator(nz, ngf, channels), **sizes)
    conditioner = MaskedConditioningNet(channels, ngf, hole_size)
    return DilatedInpainter(conditioner, DilatedInpaintingGenerator(nz, channels, ngf, hole_size), **sizes)


def build_inpainting_discriminator(cfg: ExperimentConfig) -> nn.Module:
    """D over the whole composite: D(x, labels=None) -> logits (B,)."""
    image_size, _ = _geometry(cfg)
    if cfg.model.family == "thesis":
        return ThesisInpaintingDiscriminator(cfg.channels, cfg.model.ndf)
    return InpaintingDiscriminator(cfg.channels, cfg.model.ndf, image_size)
