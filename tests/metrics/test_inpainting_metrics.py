"""Inpainting metrics: keys, an oracle scores perfectly, baselines and known values, bad arguments."""

import math

import pytest
import torch
from torch import Tensor, nn

from gan_core.config import ExperimentConfig, HoleConfig, ModelConfig
from gan_core.data.datasets import ImageData
from gan_core.data.masks import crop_patch, fixed_boxes
from gan_core.metrics.inpainting import (
    MAX_PSNR,
    context_mean_fill,
    evaluate_inpainting,
    hole_scores,
    mean_pairwise_l1,
    rank_correlation,
)
from gan_core.models.inpainting import build_inpainter

KEYS = {
    "hole_psnr", "hole_ssim", "hole_l1",
    "baseline_cond_psnr", "baseline_cond_ssim", "baseline_cond_l1",
    "baseline_mean_psnr", "baseline_mean_ssim", "baseline_mean_l1",
    "diversity", "calibration",
}  # fmt: skip


def config(position: str = "fixed") -> ExperimentConfig:
    return ExperimentConfig(
        task="inpaint", dataset="sic", image_size=12, hole=HoleConfig(size=4, position=position),
        model=ModelConfig(nz=4, ngf=4, ndf=4),
    )  # fmt: skip


def held_out(n: int = 6) -> ImageData:
    """Smooth random images (hole content is not guessable from a flat mean) as uint8."""
    coarse = torch.rand(n, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    images = nn.functional.interpolate(coarse, size=12, mode="bilinear", align_corners=False)
    return ImageData(images=(images * 254 + 1).round().to(torch.uint8))  # 1..255: no pixel is exactly 0


class OracleInpainter(nn.Module):
    """Knows the held-out set: finds each holed image by its context and returns its true hole."""

    def __init__(self, truth: Tensor, hole_size: int) -> None:
        super().__init__()
        self.truth, self.nz, self.hole_size = truth, 3, hole_size
        self.image_size, self.channels = truth.shape[-1], truth.shape[1]

    def _originals(self, y: Tensor) -> Tensor:
        context = (y != 0).float()  # the hole is 0 in y, and no real pixel is
        distance = ((self.truth[None] - y[:, None]).abs() * context[:, None]).flatten(2).sum(2)  # (B, N)
        return self.truth[distance.argmin(dim=1)]

    def forward(self, z: Tensor, y: Tensor, boxes: Tensor) -> Tensor:
        return crop_patch(self._originals(y), boxes, self.hole_size)

    def condition(self, y: Tensor, boxes: Tensor) -> Tensor:
        return crop_patch(self._originals(y), boxes, self.hole_size)


@pytest.mark.parametrize("position", ["fixed", "random"])
def test_oracle_scores_perfectly(position):
    real = held_out()
    oracle = OracleInpainter(real.images.float() / 255, hole_size=4)
    metrics = evaluate_inpainting(config(position), oracle, real, n=6, k=3, seed=0, device="cpu")
    assert set(metrics) == KEYS
    assert metrics["hole_psnr"] == MAX_PSNR and metrics["baseline_cond_psnr"] == MAX_PSNR
    assert metrics["hole_l1"] == 0 and metrics["hole_ssim"] == pytest.approx(1.0)
    assert metrics["diversity"] == 0
    assert math.isnan(metrics["calibration"])  # std is 0 everywhere: nothing to rank
    assert metrics["baseline_mean_psnr"] < 40 and metrics["baseline_mean_l1"] > 0.005


def test_a_real_inpainter_gives_finite_diverse_results():
    torch.manual_seed(0)
    inpainter = build_inpainter(config("random"))
    metrics = evaluate_inpainting(config("random"), inpainter, held_out(), n=4, k=6, seed=1, device="cpu")
    assert set(metrics) == KEYS and all(math.isfinite(value) for value in metrics.values())
    assert metrics["diversity"] > 0 and -1 <= metrics["calibration"] <= 1
    assert 0 < metrics["hole_psnr"] < MAX_PSNR and 0 < metrics["hole_l1"] < 1
    assert inpainter.training  # evaluation left the caller's mode alone
    again = evaluate_inpainting(config("random"), inpainter, held_out(), n=4, k=6, seed=1, device="cpu")
    assert again == metrics


def test_hole_scores_of_a_known_offset():
    truth = torch.full((2, 1, 6, 6), 0.5)
    scores = hole_scores(truth + 0.1, truth)
    assert scores["l1"] == pytest.approx(0.1)
    assert scores["psnr"] == pytest.approx(20.0, abs=1e-3)  # 10 log10(1 / 0.01)
    assert 0.9 < scores["ssim"] <= 1  # same structure, shifted brightness
    assert hole_scores(truth, truth)["psnr"] == MAX_PSNR


def test_diversity_and_rank_correlation_on_known_values():
    samples = torch.stack([torch.zeros(1, 2, 2), torch.ones(1, 2, 2), torch.zeros(1, 2, 2)])
    assert mean_pairwise_l1(samples) == pytest.approx(2 / 3)  # pairs: (0,1)=1, (0,2)=0, (1,2)=1
    values = torch.rand(50)
    assert rank_correlation(values, values**3) == pytest.approx(1.0)
    assert rank_correlation(values, -values) == pytest.approx(-1.0)
    assert math.isnan(rank_correlation(values, torch.zeros(50)))


def test_context_mean_fill_uses_context_only():
    holed = torch.zeros(1, 2, 6, 6)
    holed[:, 0], holed[:, 1] = 0.2, 0.8
    holed[:, :, 1:4, 1:4] = 0  # the hole
    fill = context_mean_fill(holed, fixed_boxes(1, 1, 1), 3)
    assert fill.shape == (1, 2, 3, 3)
    torch.testing.assert_close(fill[0, :, 0, 0], torch.tensor([0.2, 0.8]))


@pytest.mark.parametrize(
    ("n", "k", "message"),
    [(0, 4, r"n must be 1..6 .*got 0"), (7, 4, r"n must be 1..6 .*got 7"), (2, 1, r"k must be 2..100000 .*got 1")],
)
def test_bad_arguments_are_named(n, k, message):
    real = held_out()
    with pytest.raises(ValueError, match=message):
        evaluate_inpainting(config(), OracleInpainter(real.images.float() / 255, 4), real, n=n, k=k, seed=0, device="cpu")
