"""Writers of tiny data sets in each real on-disk format (IDX gzip, JPEG folder, PNG slices)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from gan_core.data.mnist import IMAGES_MAGIC, LABELS_MAGIC, MNIST_FILES

MNIST_COUNTS = {"train": 12, "test": 5}


def write_idx(path: Path, magic: int, array: np.ndarray) -> None:
    """Write a gzipped IDX file the way the original MNIST files are written."""
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def write_mnist(root: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Random MNIST-format splits under root/MNIST/raw; returns the arrays written."""
    rng = np.random.default_rng(0)
    written = {}
    for split, count in MNIST_COUNTS.items():
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count, dtype=np.uint8)
        images_name, labels_name = MNIST_FILES[split]
        write_idx(root / "MNIST" / "raw" / images_name, IMAGES_MAGIC, images)
        write_idx(root / "MNIST" / "raw" / labels_name, LABELS_MAGIC, labels)
        written[split] = (images, labels)
    return written


def write_jpeg(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb.astype(np.uint8), "RGB").save(path, quality=95, subsampling=0)


def face(colour: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """A 218x178 (H x W) RGB image, the aligned-CelebA geometry, of one colour."""
    return np.broadcast_to(np.array(colour, dtype=np.uint8), (218, 178, 3)).copy()


def write_faces(folder: Path, count: int) -> list[str]:
    """`count` plain grey JPEGs named like CelebA (000001.jpg, ...)."""
    names = [f"{index:06d}.jpg" for index in range(1, count + 1)]
    for index, name in enumerate(names):
        write_jpeg(folder / name, face((index * 10 % 256,) * 3))
    return names


def write_png(path: Path, grey: np.ndarray, as_rgb: bool = True) -> None:
    """A grey slice, stored as RGB like the thesis slices (or as L)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.repeat(grey[..., None], 3, axis=2) if as_rgb else grey
    Image.fromarray(pixels.astype(np.uint8), "RGB" if as_rgb else "L").save(path)


def write_slices(folder: Path, names: list[str], shape: tuple[int, int] = (40, 48)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    slices = {}
    for name in names:
        slices[name] = rng.integers(0, 256, size=shape, dtype=np.uint8)
        write_png(folder / f"{name}.png", slices[name])
    return slices
