"""FID and KID on features: zero for identical sets, growing with noise, near zero between halves of one set."""

import pytest
import torch

from gan_core.metrics.distances import feature_batches, fid_kid, frechet_distance, kernel_distance


def _noisy(images: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    noise = sigma * torch.randn(images.shape, generator=torch.Generator().manual_seed(seed))
    return (images.float() / 255 + noise).clamp(0, 1)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    feats = torch.randn(300, 16, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift():
    feats = torch.randn(4000, 4, generator=torch.Generator().manual_seed(0))
    # Same covariance, mean moved by 2 along every axis: ||mu_a - mu_b||^2 = 4 * 4.
    assert frechet_distance(feats, feats + 2.0) == pytest.approx(16.0, rel=1e-6)


def test_fid_and_kid_grow_with_noise(tiny_classifier, digits_test):
    real = digits_test.images
    scores = [fid_kid(tiny_classifier.features, real, _noisy(real, sigma, seed=3)) for sigma in (0.05, 0.2, 0.5)]
    fids = [s["fid"] for s in scores]
    kids = [s["kid"] for s in scores]
    assert fids[0] < fids[1] < fids[2], fids
    assert kids[0] < kids[1] < kids[2], kids


def test_kid_is_near_zero_for_two_halves_of_one_distribution(tiny_classifier, digits_test):
    feats = feature_batches(tiny_classifier.features, digits_test.images)
    halves = feats[:150], feats[150:]  # labels run 0..9, 0..9, ...: each half holds 15 of every digit
    kid, kid_std = kernel_distance(*halves, subsets=20, seed=0)
    kid_noisy, _ = kernel_distance(halves[0], feature_batches(tiny_classifier.features, _noisy(digits_test.images, 0.2, 4)))
    assert abs(kid) < 3 * kid_std  # unbiased: zero within its spread over subsets
    assert abs(kid) < 0.1 * kid_noisy


def test_kernel_distance_is_seeded_and_caps_the_subset_size():
    a = torch.randn(40, 8, generator=torch.Generator().manual_seed(0))
    b = torch.randn(60, 8, generator=torch.Generator().manual_seed(1)) + 0.5
    first = kernel_distance(a, b, subsets=5, subset_size=1000, seed=7)
    assert first == kernel_distance(a, b, subsets=5, subset_size=1000, seed=7)
    assert first != kernel_distance(a, b, subsets=5, subset_size=1000, seed=8)
    assert first[1] > 0  # subsets of 20 out of 40 differ, so their spread is informative


def test_feature_batches_scales_uint8_and_matches_float_input(tiny_classifier, digits_test):
    uint8 = digits_test.images[:50]
    from_uint8 = feature_batches(tiny_classifier.features, uint8, batch_size=16)
    from_float = feature_batches(tiny_classifier.features, uint8.float() / 255, batch_size=50)
    assert from_uint8.shape == (50, 84) and from_uint8.dtype == torch.float64
    torch.testing.assert_close(from_uint8, from_float, rtol=1e-5, atol=1e-5)  # float32 batch-size noise


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        (torch.zeros(1, 4), torch.zeros(5, 4), "N >= 2"),
        (torch.zeros(5, 4), torch.zeros(5, 3), "feature sizes differ, 4 vs 3"),
    ],
)
def test_bad_feature_sets_are_named(a, b, message):
    with pytest.raises(ValueError, match=message):
        frechet_distance(a, b)
    with pytest.raises(ValueError, match=message):
        kernel_distance(a, b)
