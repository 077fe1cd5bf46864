"""Adversarial losses on raw logits, the mode-seeking term and the hole reconstruction term (torch only)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSS_KINDS = ("ns", "hinge")


def _check_kind(kind: str) -> None:
    if kind not in LOSS_KINDS:
        raise ValueError(f"loss kind {kind!r} is not known; allowed: {', '.join(LOSS_KINDS)} (train.loss)")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, kind: str = "ns") -> torch.Tensor:
    """D's loss: "ns" is -log D(x) - log(1 - D(G(z))) via BCE-with-logits (stable at any logit), "hinge" the SNGAN hinge."""
    _check_kind(kind)
    if kind == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def generator_loss(fake_logits: torch.Tensor, kind: str = "ns") -> torch.Tensor:
    """G's loss: "ns" the non-saturating -log D(G(z)), "hinge" -mean(D(G(z)))."""
    _check_kind(kind)
    if kind == "hinge":
        return -fake_logits.mean()
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def mode_seeking_loss(z1: torch.Tensor, z2: torch.Tensor, fake1: torch.Tensor, fake2: torch.Tensor) -> torch.Tensor:
    """MSGAN term (Mao et al. 2019) in the thesis's form: small when distant codes give distant images, against mode collapse."""
    ratio = (fake1 - fake2).abs().mean() / (z1 - z2).abs().mean()
    return 1 / (ratio + 1e-5)


def hole_l1_loss(patch: torch.Tensor, truth_patch: torch.Tensor) -> torch.Tensor:
    """Mean absolute error between the generated hole and the true one."""
    if patch.shape != truth_patch.shape:
        raise ValueError(f"hole_l1_loss: patch shape {tuple(patch.shape)} differs from truth shape {tuple(truth_patch.shape)}")
    return F.l1_loss(patch, truth_patch)
