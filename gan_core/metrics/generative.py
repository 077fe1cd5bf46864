"""What a generator's samples say about it: seeded sampling, class accuracy (cGAN) and mode coverage (GAN)."""

from __future__ import annotations

import torch
from scipy.stats import entropy
from torch import Tensor, nn

from gan_core.config import NUM_CLASSES
from gan_core.metrics.classifier import per_class_accuracy
from gan_core.modes import eval_mode

# A digit counts as covered when at least 1% of the samples are classified as it: a tenth of its
# share under a uniform generator, while the classifier's ~1% of errors, spread over nine other
# digits, stays well below it.
MODE_COVERAGE_THRESHOLD = 0.01


@torch.no_grad()
def sample_images(
    generator: nn.Module,
    n: int,
    seed: int,
    device: str | torch.device,
    labels: Tensor | None = None,
    batch_size: int = 256,
) -> Tensor:
    """n samples (n, C, H, W) in [0, 1] on the CPU, the same for a seed on any device.

    The latents come from a seeded CPU torch.Generator (never the global RNG), so evaluation
    does not disturb training's random stream. The generator is returned in the mode it came in.
    """
    if labels is not None and labels.shape != (n,):
        raise ValueError(f"sample_images: labels must have shape ({n},), got {tuple(labels.shape)}")
    z = torch.randn(n, generator.nz, generator=torch.Generator().manual_seed(seed))
    batches = []
    with eval_mode(generator):
        for start in range(0, n, batch_size):
            batch_labels = None if labels is None else labels[start : start + batch_size].to(device)
            batches.append(generator(z[start : start + batch_size].to(device), labels=batch_labels).float().cpu())
    return torch.cat(batches)


def balanced_labels(n_per_class: int, num_classes: int = NUM_CLASSES) -> Tensor:
    """int64 labels 0, 1, ..., K-1, 0, 1, ... with n_per_class of each."""
    return torch.arange(num_classes).repeat(n_per_class)


def class_accuracy(
    classifier: nn.Module, generator: nn.Module, n_per_class: int, seed: int, device: str | torch.device
) -> dict[str, float]:
    """Ask the cGAN for each digit; the fraction the classifier reads back as asked, overall and per digit."""
    labels = balanced_labels(n_per_class)
    return labelled_accuracy(classifier, sample_images(generator, len(labels), seed, device, labels=labels), labels)


def labelled_accuracy(classifier: nn.Module, images: Tensor, labels: Tensor) -> dict[str, float]:
    """Class accuracy of images generated for `labels`: overall and per digit."""
    per_class = per_class_accuracy(classifier, images, labels)
    metrics = {"class_accuracy": sum(per_class.values()) / len(per_class)}
    metrics |= {f"class_accuracy_{digit}": value for digit, value in per_class.items()}
    return metrics


def mode_coverage(predicted_labels: Tensor, num_classes: int = NUM_CLASSES) -> dict[str, float]:
    """How evenly samples spread over the digits: collapse shows as few modes, low entropy, high KL.

    "modes_covered": digits with at least MODE_COVERAGE_THRESHOLD (1%) of the samples;
    "label_entropy": entropy of the predicted-label histogram in nats (log 10 ~ 2.303 at best);
    "label_kl_uniform": KL(histogram || uniform) in nats (0 at best).
    """
    if predicted_labels.numel() == 0:
        raise ValueError("mode_coverage: got no predicted labels")
    if int(predicted_labels.min()) < 0 or int(predicted_labels.max()) >= num_classes:
        raise ValueError(f"mode_coverage: labels must be in 0..{num_classes - 1}, got {predicted_labels.unique().tolist()}")
    share = (torch.bincount(predicted_labels.cpu(), minlength=num_classes).double() / predicted_labels.numel()).numpy()
    return {
        "modes_covered": float((share >= MODE_COVERAGE_THRESHOLD).sum()),
        "label_entropy": float(entropy(share)),
        "label_kl_uniform": float(entropy(share, [1 / num_classes] * num_classes)),
    }
