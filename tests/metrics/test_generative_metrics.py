"""Seeded sampling, class accuracy of a cGAN and mode coverage of a GAN."""

import math

import pytest
import torch
from torch import nn

from gan_core.metrics.classifier import accuracy, predict_labels
from gan_core.metrics.generative import class_accuracy, mode_coverage, sample_images


class NoiseImages(nn.Module):
    """A generator whose output is its latent, reshaped: shows exactly which latents were drawn."""

    nz = 16

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Dropout(0.5)  # mode-dependent, to check sample_images uses eval mode

    def forward(self, z, labels=None):
        return self.layer(torch.sigmoid(z)).view(-1, 1, 4, 4)


def test_sample_images_is_seeded_batched_and_leaves_global_rng_and_mode_alone():
    generator = NoiseImages().train()
    rng_before = torch.get_rng_state()
    first = sample_images(generator, 10, seed=5, device="cpu", batch_size=3)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert generator.training
    assert first.shape == (10, 1, 4, 4) and first.dtype == torch.float32
    torch.testing.assert_close(first, sample_images(generator, 10, seed=5, device="cpu", batch_size=10))
    assert not torch.equal(first, sample_images(generator, 10, seed=6, device="cpu"))
    assert (first > 0).all()  # eval mode: dropout zeroed nothing


def test_sample_images_rejects_labels_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\), got \(3,\)"):
        sample_images(NoiseImages(), 4, seed=0, device="cpu", labels=torch.zeros(3, dtype=torch.int64))


def test_class_accuracy_of_real_images_matches_the_classifier_accuracy(tiny_classifier, digits_test, real_image_generator):
    generator = real_image_generator(digits_test)
    metrics = class_accuracy(tiny_classifier, generator, n_per_class=30, seed=0, device="cpu")
    assert set(metrics) == {"class_accuracy"} | {f"class_accuracy_{k}" for k in range(10)}
    test_accuracy = accuracy(tiny_classifier, digits_test.images, digits_test.labels)
    assert metrics["class_accuracy"] == pytest.approx(test_accuracy, abs=0.03)
    assert metrics["class_accuracy"] == pytest.approx(sum(metrics[f"class_accuracy_{k}"] for k in range(10)) / 10)


def test_class_accuracy_drops_when_the_generator_ignores_labels(tiny_classifier, digits_test, real_image_generator):
    always_seven = real_image_generator(digits_test, only_label=7)
    metrics = class_accuracy(tiny_classifier, always_seven, n_per_class=5, seed=0, device="cpu")
    assert metrics["class_accuracy_7"] >= 0.8
    assert metrics["class_accuracy"] <= 0.2


def test_mode_coverage_of_one_label_is_one_mode_with_zero_entropy(tiny_classifier, digits_test, real_image_generator):
    only_threes = sample_images(real_image_generator(digits_test, only_label=3), 50, seed=0, device="cpu")
    coverage = mode_coverage(predict_labels(tiny_classifier, only_threes))
    assert coverage == pytest.approx({"modes_covered": 1.0, "label_entropy": 0.0, "label_kl_uniform": math.log(10)})


def test_mode_coverage_of_uniform_labels_and_the_one_percent_threshold():
    uniform = mode_coverage(torch.arange(10).repeat(20))
    assert uniform == pytest.approx({"modes_covered": 10.0, "label_entropy": math.log(10), "label_kl_uniform": 0.0}, abs=1e-12)
    # 1 of 100 samples (1%) counts as a mode; 1 of 200 (0.5%) does not.
    assert mode_coverage(torch.tensor([0] * 99 + [5]))["modes_covered"] == 2.0
    assert mode_coverage(torch.tensor([0] * 199 + [5]))["modes_covered"] == 1.0


def test_mode_coverage_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match=r"labels must be in 0..9, got \[3, 12\]"):
        mode_coverage(torch.tensor([3, 12]))
