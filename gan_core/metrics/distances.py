"""Distances between two sets of image features: Fréchet distance (FID) and kernel distance (KID).

The maths is torchmetrics' (its FID metric and its unbiased polynomial-kernel MMD); this module
only feeds it features extracted once, so FID and KID share one pass over the images, and draws
KID's subsets from a seeded torch.Generator instead of the global RNG.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import poly_mmd

FeatureExtractor = Callable[[Tensor], Tensor]  # float images in [0, 1], (B, C, H, W) -> (B, F)

KID_SUBSETS = 100  # the KID paper's and torch-fidelity's defaults
KID_SUBSET_SIZE = 1000


@torch.no_grad()
def feature_batches(
    extractor: FeatureExtractor, images: Tensor, *, batch_size: int = 256, device: str | torch.device = "cpu"
) -> Tensor:
    """Apply a network to a large image set a batch at a time; uint8 sets are scaled to [0, 1] per batch.

    Returns float64 features (N, F) on the CPU, ready for the distances below.
    """
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].to(device)
        if batch.dtype == torch.uint8:
            batch = batch.float() / 255
        outputs.append(extractor(batch).flatten(1).double().cpu())
    if not outputs:
        raise ValueError("feature_batches: got an empty image set")
    return torch.cat(outputs)


def _check_feature_sets(feats_a: Tensor, feats_b: Tensor, name: str) -> None:
    for label, feats in (("feats_a", feats_a), ("feats_b", feats_b)):
        if feats.dim() != 2 or len(feats) < 2:
            raise ValueError(f"{name}: {label} must be (N, F) with N >= 2, got shape {tuple(feats.shape)}")
    if feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(f"{name}: feature sizes differ, {feats_a.shape[1]} vs {feats_b.shape[1]}")


class _PrecomputedFeatures(nn.Identity):
    """Lets torchmetrics' FID take features we already extracted (it reads `num_features`)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features


def frechet_distance(feats_a: Tensor, feats_b: Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID for Inception features)."""
    _check_feature_sets(feats_a, feats_b, "frechet_distance")
    metric = FrechetInceptionDistance(feature=_PrecomputedFeatures(feats_a.shape[1]))
    metric.update(feats_a.double(), real=True)
    metric.update(feats_b.double(), real=False)
    return float(metric.compute())


def kernel_distance(
    feats_a: Tensor,
    feats_b: Tensor,
    *,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
) -> tuple[float, float]:
    """KID: unbiased MMD^2 with the cubic polynomial kernel, mean and std over random subsets.

    `subset_size` is capped at half the smaller set: subsets drawn from all of a set would all be
    the same, and their std would say nothing. MMD^2 is unbiased at any subset size.
    """
    _check_feature_sets(feats_a, feats_b, "kernel_distance")
    if subsets < 1 or subset_size < 2:
        raise ValueError(f"kernel_distance: need subsets >= 1 and subset_size >= 2, got {subsets} and {subset_size}")
    size = max(2, min(subset_size, len(feats_a) // 2, len(feats_b) // 2))
    rng = torch.Generator().manual_seed(seed)
    values = torch.stack(
        [
            poly_mmd(
                feats_a[torch.randperm(len(feats_a), generator=rng)[:size]].double(),
                feats_b[torch.randperm(len(feats_b), generator=rng)[:size]].double(),
            )
            for _ in range(subsets)
        ]
    )
    std = values.std() if subsets > 1 else values.new_zeros(())
    return float(values.mean()), float(std)


def fid_kid(
    extractor: FeatureExtractor,
    real: Tensor,
    fake: Tensor,
    *,
    seed: int = 0,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> dict[str, float]:
    """FID and KID (mean, std) of two image sets in one extractor's feature space."""
    feats_real = feature_batches(extractor, real, batch_size=batch_size, device=device)
    feats_fake = feature_batches(extractor, fake, batch_size=batch_size, device=device)
    kid, kid_std = kernel_distance(feats_real, feats_fake, seed=seed)
    return {"fid": frechet_distance(feats_real, feats_fake), "kid": kid, "kid_std": kid_std}
