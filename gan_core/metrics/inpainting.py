"""Inpainting quality on held-out images: how close the mean filling is, how diverse and how well calibrated.

For each of n held-out images a hole is cut (the experiment's fixed box, or random ones from `seed`) and
k fillings are drawn. The mean filling is scored inside the hole (PSNR, SSIM, L1) against the truth and
against two baselines that any useful G must beat: C(y) alone and the context's mean colour. "diversity"
is the mean pairwise L1 between fillings of the same hole; "calibration" the Spearman rank correlation
between the std map and the mean's error over all hole pixels (NaN when either is constant, e.g. a G
that ignores z).
"""

from __future__ import annotations

from typing import Any

import torch
from scipy.stats import spearmanr
from torch import Tensor, nn
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from gan_core.config import ExperimentConfig
from gan_core.data.masks import boxes_for, crop_patch, cut_hole, hole_mask
from gan_core.modes import eval_mode
from gan_core.uncertainty import MAX_SAMPLES, uncertainty_maps

MAX_PSNR = 100.0  # dB for a perfect patch (MSE 0): keeps the metric finite for trackers and averages
SSIM_WINDOW = 11  # the standard Gaussian window (sigma 1.5), shrunk for holes smaller than it


def hole_scores(pred: Tensor, truth: Tensor) -> dict[str, float]:
    """PSNR (per image, capped at MAX_PSNR, averaged), SSIM and L1 of patches (B, C, h, h) in [0, 1]."""
    psnr = peak_signal_noise_ratio(pred, truth, data_range=1.0, reduction="none", dim=(1, 2, 3))
    size = truth.shape[-1]
    window = min(SSIM_WINDOW, size if size % 2 else size - 1)  # odd, and no wider than the patch
    ssim = structural_similarity_index_measure(pred, truth, data_range=1.0, kernel_size=window, sigma=1.5 * window / SSIM_WINDOW)
    return {
        "psnr": psnr.clamp(max=MAX_PSNR).mean().item(),
        "ssim": float(ssim),
        "l1": (pred - truth).abs().mean().item(),
    }


def mean_pairwise_l1(samples: Tensor) -> float:
    """Mean |a - b| per pixel over all pairs of distinct samples (k, ...), k >= 2."""
    flat = samples.flatten(1).double()
    k = flat.shape[0]
    return (torch.cdist(flat, flat, p=1).sum() / (k * (k - 1) * flat.shape[1])).item()


def rank_correlation(a: Tensor, b: Tensor) -> float:
    """Spearman correlation of two equally long value sets; NaN when either is constant (no ranking)."""
    a, b = a.flatten().cpu().double(), b.flatten().cpu().double()
    if a.unique().numel() < 2 or b.unique().numel() < 2:
        return float("nan")
    return float(spearmanr(a.numpy(), b.numpy()).statistic)


def context_mean_fill(holed: Tensor, boxes: Tensor, size: int) -> Tensor:
    """Each hole filled with its image's mean context colour, per channel: (B, C, size, size)."""
    context = ~hole_mask(holed.shape, boxes.to(holed.device), size)
    mean = (holed * context).sum(dim=(2, 3)) / context.sum(dim=(2, 3))  # (B, C)
    return mean[:, :, None, None].expand(-1, -1, size, size)


def evaluate_inpainting(
    cfg: ExperimentConfig, inpainter: nn.Module, real: Any, n: int, k: int, seed: int, device: torch.device | str
) -> dict[str, float]:
    """Hole PSNR/SSIM/L1 of the mean of k fillings for n held-out images, two baselines, diversity, calibration.

    real: an ImageData (real.images uint8 (N, C, H, W)); the inpainter should already be on `device`.
    """
    available = len(real.images)
    if not 1 <= n <= available:
        raise ValueError(f"evaluate_inpainting: n must be 1..{available} (held-out images available), got {n}")
    if not 2 <= k <= MAX_SAMPLES:
        raise ValueError(f"evaluate_inpainting: k must be 2..{MAX_SAMPLES} fillings per image (diversity needs pairs), got {k}")
    size = cfg.hole_box()[2]
    images = real.images[:n].to(device).float() / 255  # (n, C, H, W)
    boxes = boxes_for(cfg, n, torch.Generator().manual_seed(seed)).to(device)
    holed, truth = cut_hole(images, boxes, size), crop_patch(images, boxes, size)

    means, stds, diversity = [], [], []
    for i in range(n):
        box = tuple(boxes[i].tolist())
        maps = uncertainty_maps(inpainter, holed[i], box, k, seed=seed + i, return_samples=k)
        means.append(maps.mean)
        stds.append(maps.std)
        diversity.append(mean_pairwise_l1(crop_patch(maps.samples, boxes[i : i + 1].cpu().expand(k, 2), size)))
    boxes_cpu = boxes.cpu()
    mean_patch = crop_patch(torch.stack(means), boxes_cpu, size)
    std_patch = crop_patch(torch.stack(stds), boxes_cpu, size)
    with eval_mode(inpainter), torch.no_grad():
        cond_patch = inpainter.condition(holed, boxes).clamp(0, 1).cpu()

    truth, holed = truth.cpu(), holed.cpu()
    metrics = {f"hole_{name}": value for name, value in hole_scores(mean_patch, truth).items()}
    metrics |= {f"baseline_cond_{name}": value for name, value in hole_scores(cond_patch, truth).items()}
    baseline_mean = context_mean_fill(holed, boxes_cpu, size)
    metrics |= {f"baseline_mean_{name}": value for name, value in hole_scores(baseline_mean, truth).items()}
    metrics["diversity"] = sum(diversity) / n
    metrics["calibration"] = rank_correlation(std_patch, (mean_patch - truth).abs())
    return metrics
