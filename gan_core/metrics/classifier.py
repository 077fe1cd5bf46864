"""A small MNIST classifier: the judge for class accuracy and the feature space of the "Fréchet LeNet distance".

Inception features are meaningless on 28 px grey digits, so MNIST GANs are measured in the
penultimate layer of a LeNet trained on real MNIST (a pipeline step, run once):

    python -m gan_core.metrics.classifier --prepared prepared --out outputs/classifier
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_core.atomic import atomic_torch_save, atomic_write_bytes
from gan_core.config import NUM_CLASSES
from gan_core.metrics.distances import feature_batches
from gan_core.modes import eval_mode

FEATURE_SIZE = 84  # LeNet-5's penultimate width
PREPARED_KEYS = ("train_images", "train_labels", "test_images", "test_labels")


class LeNet(nn.Module):
    """LeNet-5 shape (two 5x5 conv + pool stages, then 120 -> 84 -> 10), widened and batch-normed for >= 99% on MNIST."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.width = width
        self.conv = nn.Sequential(  # BatchNorm: >= 99% within three epochs on a CPU
            nn.Conv2d(1, width, 5, padding=2), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),  # (B, w, 14, 14)
            nn.Conv2d(width, 2 * width, 5), nn.BatchNorm2d(2 * width), nn.ReLU(), nn.MaxPool2d(2),  # (B, 2w, 5, 5)
        )  # fmt: skip
        self.hidden = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * width * 5 * 5, 120), nn.ReLU(), nn.Linear(120, FEATURE_SIZE), nn.ReLU()
        )
        self.head = nn.Linear(FEATURE_SIZE, NUM_CLASSES)

    def features(self, x: Tensor) -> Tensor:
        """(B, 1, 28, 28) in [0, 1] -> (B, 84): what the last layer sees, the space FID is measured in."""
        return self.hidden(self.conv(x))

    def forward(self, x: Tensor) -> Tensor:
        """(B, 1, 28, 28) in [0, 1] -> logits (B, 10)."""
        return self.head(self.features(x))


def _check_labelled(images: Tensor, labels: Tensor, name: str) -> None:
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"{name}: images must be (N, 1, 28, 28), got shape {tuple(images.shape)}")
    if labels.shape != (len(images),) or labels.dtype != torch.int64:
        raise ValueError(f"{name}: labels must be int64 of shape ({len(images)},), got {labels.dtype} {tuple(labels.shape)}")


def _random_shift(x: Tensor, rng: torch.Generator, max_shift: int = 2) -> Tensor:
    """Light augmentation: shift the whole batch by up to 2 px (digits are not always centred in GAN samples)."""
    dy, dx = torch.randint(-max_shift, max_shift + 1, (2,), generator=rng).tolist()
    return torch.roll(F.pad(x, [max_shift] * 4), (dy, dx), dims=(2, 3))[..., max_shift:-max_shift, max_shift:-max_shift]


def train_classifier(
    images: Tensor,
    labels: Tensor,
    *,
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    width: int = 32,
    device: str | torch.device = "cpu",
) -> LeNet:
    """Train a LeNet on uint8 images (N, 1, 28, 28); the same seed gives the same weights.

    The global RNG is left as it was (init and shuffling run on a forked, seeded RNG).
    Returns the model in eval mode.
    """
    _check_labelled(images, labels, "train_classifier")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LeNet(width).to(device)
        rng = torch.Generator().manual_seed(seed)
        optimiser = torch.optim.Adam(model.parameters(), lr=lr)
        steps = epochs * -(-len(images) // batch_size)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps)
        model.train()
        for _ in range(epochs):
            for idx in torch.randperm(len(images), generator=rng).split(batch_size):
                x = _random_shift(images[idx].to(device).float() / 255, rng)
                loss = F.cross_entropy(model(x), labels[idx].to(device))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
    return model.eval()


def predict_labels(model: nn.Module, images: Tensor, *, batch_size: int = 512) -> Tensor:
    """Predicted digits (N,) int64 for uint8 or [0, 1] float images."""
    device = next(model.parameters()).device
    with eval_mode(model):
        return feature_batches(model, images, batch_size=batch_size, device=device).argmax(dim=1)


def accuracy(model: nn.Module, images: Tensor, labels: Tensor) -> float:
    """Fraction of images whose predicted digit is their label."""
    return float((predict_labels(model, images) == labels.cpu()).double().mean())


def per_class_accuracy(model: nn.Module, images: Tensor, labels: Tensor) -> dict[int, float]:
    """Accuracy within each label present (digit -> fraction correct), to spot one weak class."""
    correct = predict_labels(model, images) == labels.cpu()
    return {int(k): float(correct[labels.cpu() == k].double().mean()) for k in labels.unique().tolist()}


def save_classifier(model: LeNet, path: str | Path, metrics: dict[str, float]) -> None:
    """Save weights, width and the metrics they reached in one file (atomically)."""
    payload = {"width": model.width, "state_dict": model.state_dict(), "metrics": dict(metrics)}
    atomic_torch_save(payload, path)


def load_classifier(path: str | Path, device: str | torch.device = "cpu") -> LeNet:
    """Load a classifier saved by save_classifier (weights_only: no code runs from the file). Eval mode."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"classifier file not found: {path} (create it with `python -m gan_core.metrics.classifier`)"
        )
    payload = torch.load(path, map_location=device, weights_only=True)
    if not isinstance(payload, dict) or not {"width", "state_dict"} <= payload.keys():
        raise ValueError(f"{path} is not a classifier saved by save_classifier (needs keys 'width' and 'state_dict')")
    model = LeNet(int(payload["width"])).to(device)
    model.load_state_dict(payload["state_dict"])
    return model.eval()


def load_prepared_mnist(path: str | Path) -> dict[str, Tensor]:
    """Read prepared/mnist.pt and check it holds uint8 (N, 1, 28, 28) images and int64 labels."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"prepared MNIST not found: {path} (run the prepare stage first)")
    data = torch.load(path, weights_only=True)
    missing = [key for key in PREPARED_KEYS if key not in data]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}; expected {list(PREPARED_KEYS)}")
    for split in ("train", "test"):
        images = data[f"{split}_images"]
        if images.dtype != torch.uint8:
            raise ValueError(f"{path}: {split}_images must be uint8, got {images.dtype}")
        _check_labelled(images, data[f"{split}_labels"], f"{path} ({split})")
    return data


def main(argv: list[str] | None = None) -> int:
    """Pipeline step: train on prepared MNIST, write classifier.pt and metrics.json."""
    parser = argparse.ArgumentParser(prog="python -m gan_core.metrics.classifier", description=main.__doc__)
    parser.add_argument("--prepared", default="prepared", help="folder holding mnist.pt")
    parser.add_argument("--out", default="outputs/classifier", help="folder for classifier.pt and metrics.json")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    data = load_prepared_mnist(Path(args.prepared) / "mnist.pt")
    start = time.perf_counter()
    model = train_classifier(
        data["train_images"], data["train_labels"], epochs=args.epochs, seed=args.seed, device=args.device
    )
    seconds = time.perf_counter() - start
    metrics = {"test_accuracy": accuracy(model, data["test_images"], data["test_labels"])}
    out = Path(args.out)
    save_classifier(model, out / "classifier.pt", metrics)
    atomic_write_bytes(out / "metrics.json", json.dumps(metrics, indent=2).encode())
    print(f"test accuracy {metrics['test_accuracy']:.4f} after {seconds:.0f} s of training; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
