"""Training and evaluation images for an experiment, read from the prepared tensor files.

Everything stays uint8 in memory; the training loop converts each batch with `x.float() / 255`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from gan_core.config import ExperimentConfig
from gan_core.data.errors import DataError
from gan_core.data.prepare import prepared_path
from gan_core.data.sic import sample_patches

DEFAULT_SIC_PATCHES = 20_000  # train.train_size 0 on SiC: patches drawn per training run
EVAL_SEED = 1234  # fixed, so every run is scored on the same held-out patches


@dataclass
class ImageData:
    """Images uint8 (N, C, H, W) with optional int64 (N,) labels."""

    images: torch.Tensor
    labels: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            shape = tuple(self.images.shape)
            raise DataError(f"ImageData: images must be uint8 (N, C, H, W), got {self.images.dtype} {shape}")
        if self.labels is not None and self.labels.shape != (len(self.images),):
            raise DataError(f"ImageData: {len(self.images)} images but labels of shape {tuple(self.labels.shape)}")

    def __len__(self) -> int:
        return self.images.shape[0]


def prepared_name(cfg: ExperimentConfig) -> str:
    """Which prepared file an experiment reads: mnist, celeba32/celeba64 or sic."""
    return f"celeba{cfg.image_size}" if cfg.dataset == "celeba" else cfg.dataset


def load_prepared(cfg: ExperimentConfig, prepared_dir: str | os.PathLike[str]) -> dict:
    """The prepared tensor file of an experiment's data set; missing means `prepare` has not run."""
    name = prepared_name(cfg)
    path = prepared_path(prepared_dir, name)
    if not path.is_file():
        raise DataError(
            f"{path} not found: run the prepare stage first "
            f"(`python -m gan_core.data.prepare --out {prepared_dir} --only {name}` or `dvc repro prepare`)"
        )
    return torch.load(path, weights_only=True)


def load_train_data(cfg: ExperimentConfig, prepared_dir: str | os.PathLike[str]) -> ImageData:
    """Training images (the first train.train_size, or all); labels only for cGANs."""
    data = load_prepared(cfg, prepared_dir)
    size = cfg.train.train_size
    if cfg.dataset == "sic":
        slices = list(zip(data["train_names"], data["train_slices"]))
        return ImageData(sample_patches(slices, cfg.image_size, size or DEFAULT_SIC_PATCHES, cfg.train.seed))
    images = data["train_images"]
    if size > len(images):
        raise DataError(
            f"train.train_size: got {size}, {prepared_path(prepared_dir, prepared_name(cfg))} has "
            f"{len(images):,} training images"
        )
    end = size or len(images)
    labels = data["train_labels"][:end] if cfg.task == "cgan" else None
    return ImageData(images[:end], labels)


def load_eval_data(cfg: ExperimentConfig, prepared_dir: str | os.PathLike[str], n: int) -> ImageData:
    """`n` held-out real images: MNIST test set (with labels), CelebA test split, SiC eval-slice patches."""
    data = load_prepared(cfg, prepared_dir)
    if cfg.dataset == "sic":
        slices = list(zip(data["eval_names"], data["eval_slices"]))
        return ImageData(sample_patches(slices, cfg.image_size, n, EVAL_SEED))
    images = data["test_images"]
    if n > len(images):
        raise DataError(
            f"asked for {n} evaluation images, {prepared_path(prepared_dir, prepared_name(cfg))} has "
            f"{len(images):,} test images (lower eval.n_samples)"
        )
    labels = data["test_labels"][:n] if cfg.dataset == "mnist" else None
    return ImageData(images[:n], labels)
