"""Uncertainty of an inpainting: the mean and standard deviation over K sampled fillings of one hole.

As in the thesis (mean.png / std.png from 5000 samples), but streamed: samples are drawn in chunks and
folded into running float64 statistics (Chan et al.'s parallel Welford update), so memory stays bounded
for any K. The noise comes from a generator seeded per call and is drawn in fixed-size blocks, so the
result does not depend on the chunk size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from gan_core.data.masks import cut_hole, fixed_boxes, paste_patch, validate_box
from gan_core.modes import eval_mode

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_SAMPLES = 100_000  # K cap: beyond this the mean/std maps no longer change visibly, only the wait grows
NOISE_BLOCK = 256  # latent vectors drawn per call of the generator, whatever the chunk size


@dataclass
class UncertaintyMaps:
    """mean (C, H, W) composite mean, std (C, H, W) (exactly 0 on context), samples (s, C, H, W) composites."""

    mean: Tensor
    std: Tensor
    samples: Tensor


class _NoiseStream:
    """Latent vectors from one seeded generator, drawn in fixed blocks so consumers' chunking never changes them."""

    def __init__(self, nz: int, seed: int) -> None:
        self._generator = torch.Generator().manual_seed(seed)
        self._nz = nz
        self._buffer = torch.empty(0, nz)

    def take(self, n: int) -> Tensor:
        while self._buffer.shape[0] < n:
            block = torch.randn(NOISE_BLOCK, self._nz, generator=self._generator)
            self._buffer = torch.cat([self._buffer, block])
        taken, self._buffer = self._buffer[:n], self._buffer[n:]
        return taken


class _RunningMoments:
    """Mean and sum of squared deviations over batches, merged exactly in float64 (Chan et al. 1979)."""

    def __init__(self) -> None:
        self.count, self.mean, self.m2 = 0, torch.zeros(()), torch.zeros(())

    def add(self, batch: Tensor) -> None:
        batch = batch.double()
        n, mean = batch.shape[0], batch.mean(dim=0)
        m2 = ((batch - mean) ** 2).sum(dim=0)
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * n / total)
        self.count = total

    def std(self) -> Tensor:
        """Sample standard deviation (like torch.std); 0 for a single sample."""
        return (self.m2 / max(self.count - 1, 1)).sqrt()


def _device_of(module: nn.Module) -> torch.device:
    parameter = next(module.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _checked_image(inpainter: nn.Module, y: Tensor) -> Tensor:
    """y as (1, C, H, W) float, or a ValueError naming the shape the model needs."""
    expected = (inpainter.channels, inpainter.image_size, inpainter.image_size)
    if not isinstance(y, Tensor) or not y.is_floating_point():
        got = f"{type(y).__name__} {getattr(y, 'dtype', '')}".strip()
        raise ValueError(f"y must be a float tensor in [0, 1] of shape {expected} or (1, *{expected}), got {got}")
    image = y if y.dim() == 4 else y.unsqueeze(0)
    if image.dim() != 4 or image.shape[0] != 1 or tuple(image.shape[1:]) != expected:
        raise ValueError(
            f"y has shape {tuple(y.shape)}, but this model inpaints {expected[1]}x{expected[2]} px images with "
            f"{expected[0]} channel(s): pass shape {expected} or (1, *{expected})"
        )
    return image


def uncertainty_maps(
    inpainter: nn.Module,
    y: Tensor,
    box: tuple[int, int],
    k: int,
    *,
    seed: int = 0,
    chunk: int = 512,
    return_samples: int = 0,
) -> UncertaintyMaps:
    """Mean and std over k inpaintings of one image's hole at box (top, left); y's hole content is ignored."""
    if not isinstance(k, int) or not 1 <= k <= MAX_SAMPLES:
        raise ValueError(f"k (number of samples) must be an integer in 1..{MAX_SAMPLES}, got {k!r}")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if not 0 <= return_samples <= k:
        raise ValueError(f"return_samples must be in 0..k={k}, got {return_samples}")
    image = _checked_image(inpainter, y)
    top, left = (int(v) for v in box)
    size = inpainter.hole_size
    validate_box(inpainter.image_size, top, left, size)

    device = _device_of(inpainter)
    holed = cut_hole(image.to(device).float(), fixed_boxes(1, top, left, device), size)  # (1, C, H, W)
    noise, moments, samples = _NoiseStream(inpainter.nz, seed), _RunningMoments(), []
    with eval_mode(inpainter), torch.no_grad():
        for start in range(0, k, chunk):
            n = min(chunk, k - start)
            boxes = fixed_boxes(n, top, left, device)
            patches = inpainter(noise.take(n).to(device), holed.expand(n, -1, -1, -1), boxes)  # (n, C, h, h)
            moments.add(patches.cpu())
            if start < return_samples:
                samples.append(paste_patch(holed.expand(n, -1, -1, -1), patches, boxes)[: return_samples - start])

    holed, box_cpu = holed.cpu(), fixed_boxes(1, top, left)
    mean = paste_patch(holed, moments.mean.float()[None], box_cpu)[0]
    std = paste_patch(torch.zeros_like(holed), moments.std().float()[None], box_cpu)[0]
    stacked = torch.cat(samples).cpu() if samples else holed.new_empty(0, *holed.shape[1:])
    return UncertaintyMaps(mean=mean, std=std, samples=stacked)


def _show(axis: Axes, image: Tensor, title: str) -> None:
    """One image panel: grey images with a grey colour map, RGB as is."""
    array = image.detach().cpu().clamp(0, 1)
    if array.shape[0] == 1:
        axis.imshow(array[0].numpy(), cmap="gray", vmin=0, vmax=1)
    else:
        axis.imshow(array.permute(1, 2, 0).numpy())
    axis.set_title(title, fontsize=9)
    axis.axis("off")


def uncertainty_figure(
    y: Tensor, maps: UncertaintyMaps, truth: Tensor | None = None, path: str | Path | None = None, max_samples: int = 4
) -> Figure:
    """Input, ground truth (if known), mean, std heatmap with colour bar and a few samples; saved if path is given."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display needed, never pyplot state
    from matplotlib.figure import Figure

    before_std = [(y, "input y"), *([(truth, "ground truth")] if truth is not None else []), (maps.mean, "mean")]
    after_std = [(sample, f"sample {i + 1}") for i, sample in enumerate(maps.samples[:max_samples])]
    panels = len(before_std) + 1 + len(after_std)
    figure = Figure(figsize=(2.2 * panels, 2.6))
    FigureCanvasAgg(figure)
    axes = list(figure.subplots(1, panels, squeeze=False)[0])
    std_axis = axes.pop(len(before_std))
    for axis, (image, title) in zip(axes, before_std + after_std):
        _show(axis, image[0] if image.dim() == 4 else image, title)
    heat = std_axis.imshow(maps.std.mean(dim=0).numpy(), cmap="viridis")  # channel-averaged, as in the thesis
    std_axis.set_title("std", fontsize=9)
    std_axis.axis("off")
    figure.colorbar(heat, ax=std_axis, shrink=0.7)
    figure.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100)
    return figure
