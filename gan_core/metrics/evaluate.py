"""One entry point for a generator's quality metrics, chosen by task and data set, and the metric each is ranked by.

| experiment       | metrics                                                           | ranked by            |
|------------------|-------------------------------------------------------------------|----------------------|
| MNIST gan        | fid, kid, kid_std (LeNet features), modes_covered, label_entropy… | fid (min)            |
| MNIST cgan       | fid, kid, kid_std (LeNet features), class_accuracy(_0.._9)        | class_accuracy (max) |
| CelebA gan       | fid, kid, kid_std (Inception features)                            | fid (min)            |
| inpaint          | hole_psnr, … (gan_core.metrics.inpainting)                        | hole_psnr (max)      |

A metric that cannot be computed (no classifier, no Inception weights) is listed in
`unavailable` with the reason, never given a stand-in value.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch
from torch import Tensor, nn

from gan_core.config import NUM_CLASSES, ExperimentConfig
from gan_core.metrics.classifier import LeNet, load_classifier, predict_labels
from gan_core.metrics.distances import fid_kid
from gan_core.modes import eval_mode
from gan_core.metrics.generative import balanced_labels, labelled_accuracy, mode_coverage, sample_images
from gan_core.metrics.inception import MetricResult, inception_fid_kid

if TYPE_CHECKING:
    from gan_core.data.datasets import ImageData

Direction = Literal["min", "max"]

QUALITY_METRIC: dict[str, tuple[str, Direction]] = {
    "gan/mnist": ("fid", "min"),
    "gan/celeba": ("fid", "min"),
    "cgan/mnist": ("class_accuracy", "max"),
    "inpaint/mnist": ("hole_psnr", "max"),
    "inpaint/sic": ("hole_psnr", "max"),
}
INPAINT_SAMPLES_PER_IMAGE = 8  # k fills per masked image: enough for diversity and calibration


@dataclass
class EvalResult:
    """Quality metrics of one generator, the ones that could not be computed (name -> reason), and the cost."""

    metrics: dict[str, float]
    unavailable: dict[str, str]
    seconds: float


def _experiment_key(cfg: ExperimentConfig) -> str:
    return f"{cfg.task}/{cfg.dataset}"


def quality_metric(cfg: ExperimentConfig) -> tuple[str, Direction]:
    """(metric, "min" | "max") that ranks models of this experiment; the registry's promotion gate uses it."""
    key = _experiment_key(cfg)
    if key not in QUALITY_METRIC:
        raise ValueError(f"no quality metric for task/dataset {key!r}; known: {', '.join(QUALITY_METRIC)}")
    return QUALITY_METRIC[key]


def _real_subset(real: ImageData, n: int, seed: int) -> Tensor:
    """n real images drawn without replacement (all of them if fewer): data sets are often sorted by class."""
    picked = torch.randperm(len(real.images), generator=torch.Generator().manual_seed(seed))[:n]
    return real.images[picked]


def _mnist_metrics(
    cfg: ExperimentConfig,
    generator: nn.Module,
    real: ImageData,
    classifier: LeNet | None,
    n: int,
    seed: int,
    device: str | torch.device,
) -> MetricResult:
    """LeNet-feature FID/KID, plus class accuracy (cGAN) or mode coverage (GAN)."""
    conditional = cfg.task == "cgan"
    if classifier is None:
        names = ["fid", "kid", "kid_std"]
        if conditional:
            names += ["class_accuracy"] + [f"class_accuracy_{k}" for k in range(NUM_CLASSES)]
        else:
            names += ["modes_covered", "label_entropy", "label_kl_uniform"]
        reason = "no MNIST classifier: run `python -m gan_core.metrics.classifier` and pass its classifier.pt"
        return MetricResult(unavailable=dict.fromkeys(names, reason))
    classifier = classifier.to(device)
    n_per_class = max(1, n // NUM_CLASSES)
    labels = balanced_labels(n_per_class) if conditional else None
    fake = sample_images(generator, n_per_class * NUM_CLASSES if conditional else n, seed, device, labels=labels)
    with eval_mode(classifier):
        metrics = fid_kid(classifier.features, _real_subset(real, n, seed), fake, seed=seed, device=device)
    if conditional:
        metrics |= labelled_accuracy(classifier, fake, labels)  # the same samples, not drawn again
    else:
        metrics |= mode_coverage(predict_labels(classifier, fake))
    return MetricResult(metrics=metrics)


def evaluate_generator(
    cfg: ExperimentConfig,
    generator: nn.Module,
    real: ImageData,
    *,
    classifier: LeNet | None,
    n: int,
    seed: int,
    device: str | torch.device,
    feature_extractor: nn.Module | None = None,
) -> EvalResult:
    """Quality metrics of a generator (or inpainter) against real images, by the table in this module's docstring.

    `classifier` is the MNIST LeNet (ignored elsewhere); `feature_extractor` replaces Inception
    for CelebA (tests). Samples come from `seed`, so two calls with one seed see the same latents.
    """
    started = time.perf_counter()
    key = _experiment_key(cfg)
    if cfg.task == "inpaint":
        from gan_core.metrics.inpainting import evaluate_inpainting  # imported lazily: only inpainting needs it

        metrics = evaluate_inpainting(cfg, generator, real, n=n, k=INPAINT_SAMPLES_PER_IMAGE, seed=seed, device=device)
        result = MetricResult(metrics=metrics)
    elif cfg.dataset == "mnist":
        result = _mnist_metrics(cfg, generator, real, classifier, n, seed, device)
    elif cfg.dataset == "celeba":
        fake = sample_images(generator, n, seed, device)
        result = inception_fid_kid(_real_subset(real, n, seed), fake, feature_extractor, seed=seed, device=device)
    else:
        raise ValueError(f"evaluate_generator: no metrics for task/dataset {key!r}; known: {', '.join(QUALITY_METRIC)}")
    return EvalResult(result.metrics, result.unavailable, time.perf_counter() - started)


def make_evaluator(
    cfg: ExperimentConfig, real: ImageData, classifier_path: str | Path | None, *, seed: int = 0
) -> Callable[[nn.Module, int], dict[str, float]]:
    """The training loop's hook: `evaluate(generator, epoch) -> metrics`, with cfg.eval.n_samples and fixed latents.

    The classifier is loaded once; the same seed every epoch keeps epochs comparable.
    Unavailable metrics are left out (the loop logs numbers only).
    """
    uses_classifier = cfg.dataset == "mnist" and cfg.task != "inpaint"
    classifier = load_classifier(classifier_path) if classifier_path is not None and uses_classifier else None

    def evaluate(generator: nn.Module, epoch: int) -> dict[str, float]:
        device = next(generator.parameters()).device
        return evaluate_generator(
            cfg, generator, real, classifier=classifier, n=cfg.eval.n_samples, seed=seed, device=device
        ).metrics

    return evaluate
