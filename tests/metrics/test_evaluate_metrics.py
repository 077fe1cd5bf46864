"""evaluate_generator picks the metrics for each task/data set; quality_metric ranks them; make_evaluator feeds train."""

import sys
import types
import urllib.error
import urllib.request

import pytest
import torch
from torch import nn

from gan_core.config import load_params
from gan_core.data.datasets import ImageData
from gan_core.metrics.classifier import save_classifier
from gan_core.metrics.evaluate import QUALITY_METRIC, EvalResult, evaluate_generator, make_evaluator, quality_metric

LENET_DISTANCES = {"fid", "kid", "kid_std"}
CLASS_KEYS = {"class_accuracy"} | {f"class_accuracy_{k}" for k in range(10)}
MODE_KEYS = {"modes_covered", "label_entropy", "label_kl_uniform"}


@pytest.fixture(scope="module")
def params():
    return load_params("params.yaml")


def test_quality_metric_of_every_experiment(params):
    expected = {
        "mnist_gan": ("fid", "min"),
        "mnist_cgan": ("class_accuracy", "max"),
        "celeba32_gan": ("fid", "min"),
        "celeba64_gan": ("fid", "min"),
        "mnist_inpaint": ("hole_psnr", "max"),
        "sic_inpaint": ("hole_psnr", "max"),
    }
    assert {name: quality_metric(params.experiment(name)) for name in expected} == expected
    assert set(QUALITY_METRIC) == {"gan/mnist", "gan/celeba", "cgan/mnist", "inpaint/mnist", "inpaint/sic"}


def test_quality_metric_names_an_unknown_combination(params):
    odd = params.mnist_gan.model_construct(task="gan", dataset="sic")  # bypasses validation on purpose
    with pytest.raises(ValueError, match=r"'gan/sic'; known: gan/mnist, gan/celeba"):
        quality_metric(odd)


def test_mnist_gan_collapsed_to_one_digit(params, tiny_classifier, digits_test, real_image_generator):
    collapsed = real_image_generator(digits_test, only_label=4)
    healthy = real_image_generator(digits_test)
    bad = evaluate_generator(params.mnist_gan, collapsed, digits_test, classifier=tiny_classifier, n=200, seed=0, device="cpu")
    good = evaluate_generator(params.mnist_gan, healthy, digits_test, classifier=tiny_classifier, n=200, seed=0, device="cpu")
    assert isinstance(good, EvalResult) and good.unavailable == {} and good.seconds > 0
    assert set(good.metrics) == LENET_DISTANCES | MODE_KEYS
    assert good.metrics["modes_covered"] == 10 and bad.metrics["modes_covered"] == 1
    assert good.metrics["fid"] < bad.metrics["fid"] and good.metrics["kid"] < bad.metrics["kid"]


def test_mnist_cgan_reports_distances_and_class_accuracy(params, tiny_classifier, digits_test, real_image_generator):
    result = evaluate_generator(
        params.mnist_cgan, real_image_generator(digits_test), digits_test, classifier=tiny_classifier, n=100, seed=1, device="cpu"
    )
    assert set(result.metrics) == LENET_DISTANCES | CLASS_KEYS and result.unavailable == {}
    assert result.metrics["class_accuracy"] >= 0.95


@pytest.mark.parametrize(("experiment", "keys"), [("mnist_gan", MODE_KEYS), ("mnist_cgan", CLASS_KEYS)])
def test_mnist_without_classifier_lists_every_metric_as_unavailable(params, digits_test, real_image_generator, experiment, keys):
    result = evaluate_generator(
        params.experiment(experiment), real_image_generator(digits_test), digits_test, classifier=None, n=20, seed=0, device="cpu"
    )
    assert result.metrics == {}
    assert set(result.unavailable) == LENET_DISTANCES | keys
    assert all("no MNIST classifier" in reason for reason in result.unavailable.values())


class RgbNoise(nn.Module):
    """A tiny untrained CelebA-shaped generator."""

    nz = 8

    def __init__(self) -> None:
        super().__init__()
        self.to_image = nn.Linear(8, 3 * 32 * 32)

    def forward(self, z, labels=None):
        return torch.sigmoid(self.to_image(z)).view(-1, 3, 32, 32)


def test_celeba_with_stand_in_extractor_and_offline(params, tmp_path, monkeypatch):
    real = ImageData(torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8))
    torch.manual_seed(0)
    extractor = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    args = dict(classifier=None, n=30, seed=0, device="cpu")
    measured = evaluate_generator(params.celeba32_gan, RgbNoise(), real, feature_extractor=extractor, **args)
    assert set(measured.metrics) == LENET_DISTANCES and measured.unavailable == {}

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    def unreachable(*args, **kwargs):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    offline = evaluate_generator(params.celeba32_gan, RgbNoise(), real, **args)
    assert offline.metrics == {} and set(offline.unavailable) == LENET_DISTANCES
    assert "offline" in offline.unavailable["fid"]


def test_inpainting_is_delegated(params, monkeypatch, digits_test):
    calls = []

    def evaluate_inpainting(cfg, inpainter, real, n, k, seed, device):
        calls.append((cfg, inpainter, real, n, k, seed, device))
        return {"hole_psnr": 21.5}

    fake_module = types.ModuleType("gan_core.metrics.inpainting")
    fake_module.evaluate_inpainting = evaluate_inpainting
    monkeypatch.setitem(sys.modules, "gan_core.metrics.inpainting", fake_module)
    inpainter = nn.Identity()
    result = evaluate_generator(params.sic_inpaint, inpainter, digits_test, classifier=None, n=12, seed=3, device="cpu")
    assert result.metrics == {"hole_psnr": 21.5} and result.unavailable == {}
    (cfg, got_inpainter, got_real, n, k, seed, device), = calls
    assert (cfg, got_inpainter, got_real, n, seed, device) == (params.sic_inpaint, inpainter, digits_test, 12, 3, "cpu")
    assert k >= 2  # several fills per image, for diversity and calibration


def test_make_evaluator_loads_the_classifier_once_and_returns_numbers(params, tiny_classifier, digits_test, real_image_generator, tmp_path):
    path = tmp_path / "classifier.pt"
    save_classifier(tiny_classifier, path, {"test_accuracy": 1.0})
    cfg = params.mnist_gan.model_copy(update={"eval": params.mnist_gan.eval.model_copy(update={"n_samples": 60})})
    evaluate = make_evaluator(cfg, digits_test, path)
    generator = real_image_generator(digits_test)
    first, second = evaluate(generator, 1), evaluate(generator, 2)
    assert set(first) == LENET_DISTANCES | MODE_KEYS
    assert first == second  # fixed latents: epochs are comparable
    assert make_evaluator(cfg, digits_test, None)(generator, 1) == {}
