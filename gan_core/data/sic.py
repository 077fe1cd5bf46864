"""SiC-diamond CT slices and the seeded random patches the inpainting nets train on."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from gan_core.data.errors import DataError

Slice = tuple[str, torch.Tensor]  # (name, uint8 (H, W))
GREY_MODES = ("L", "RGB", "RGBA", "LA", "P")  # 8-bit modes that can hold a grey image


def natural_key(name: str) -> list[int | str]:
    """Sort key that puts slice7 before slice24 (numbers compared as numbers)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def load_slices(folder: str | os.PathLike[str]) -> list[Slice]:
    """Every PNG slice in `folder` as (name, uint8 (H, W)), in natural name order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"SiC slice folder not found: {folder}")
    files = sorted(folder.glob("*.png"), key=lambda p: natural_key(p.stem))
    if not files:
        raise DataError(f"no PNG slices in {folder}")
    return [(path.stem, read_grey_png(path)) for path in files]


def read_grey_png(path: Path) -> torch.Tensor:
    """A grey PNG (stored as L or as RGB with equal channels) as uint8 (H, W)."""
    try:
        with Image.open(path) as image:
            image.load()
    except (OSError, SyntaxError, UnidentifiedImageError) as error:
        raise DataError(f"{path}: cannot decode PNG ({error})") from None
    if image.mode not in GREY_MODES:
        raise DataError(f"{path}: PNG mode {image.mode!r} is not 8-bit; expected one of {GREY_MODES}")
    if image.mode == "L":
        return torch.from_numpy(np.array(image))
    rgb = np.array(image.convert("RGB"))  # (H, W, 3)
    if not ((rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])).all():
        raise DataError(f"{path}: colour image, expected a grey CT slice (equal R, G and B)")
    return torch.from_numpy(np.ascontiguousarray(rgb[..., 0]))


def sample_patches(slices: Sequence[Slice], patch_size: int, n: int, seed: int) -> torch.Tensor:
    """`n` random uint8 (1, p, p) patches: a uniform slice, then a uniform position in it.

    A private torch.Generator makes the result depend on `seed` only, never on global RNG state.
    """
    if patch_size < 1 or n < 0:
        raise ValueError(f"sample_patches: patch_size must be >= 1 and n >= 0, got {patch_size} and {n}")
    if not slices:
        raise DataError("sample_patches: no slices to sample from")
    for name, image in slices:
        if image.dim() != 2 or image.dtype != torch.uint8:
            raise DataError(f"slice {name}: expected uint8 (H, W), got {image.dtype} {tuple(image.shape)}")
        if min(image.shape) < patch_size:
            raise DataError(f"slice {name}: {tuple(image.shape)} px is smaller than the {patch_size} px patch")
    generator = torch.Generator().manual_seed(seed)
    which = torch.randint(len(slices), (n,), generator=generator)
    corner = torch.rand(n, 2, generator=generator)  # scaled per slice below
    offsets = torch.arange(patch_size)
    patches = torch.empty((n, 1, patch_size, patch_size), dtype=torch.uint8)
    for index, (_, image) in enumerate(slices):
        chosen = (which == index).nonzero().squeeze(1)
        room = torch.tensor(image.shape) - patch_size + 1  # valid top-left positions per axis
        top_left = (corner[chosen] * room).long()  # (k, 2)
        rows = (top_left[:, 0:1] + offsets)[:, :, None]  # (k, p, 1)
        cols = (top_left[:, 1:2] + offsets)[:, None, :]  # (k, 1, p)
        patches[chosen, 0] = image[rows, cols]  # (k, p, p)
    return patches
