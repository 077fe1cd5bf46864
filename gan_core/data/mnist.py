"""MNIST from the original IDX files, in torchvision's folder layout.

Parsing the four `*-ubyte.gz` files directly (rather than through `torchvision.datasets.MNIST`)
lets every header field be checked and reported with the file it came from.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import Literal

import torch

from gan_core.data.errors import DataError

Split = Literal["train", "test"]
IMAGE_SIZE = 28
NUM_CLASSES = 10
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801  # uint8 data; 3 dims for images, 1 for labels
# split -> (images file, labels file), the names torchvision uses
MNIST_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def mnist_raw_dir(root: str | os.PathLike[str]) -> Path:
    """Where torchvision keeps the IDX files under a data root."""
    return Path(root) / "MNIST" / "raw"


def load_mnist(
    root: str | os.PathLike[str], split: Split = "train", download: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images uint8 (N, 1, 28, 28) and labels int64 (N,) of one MNIST split."""
    if split not in MNIST_FILES:
        raise ValueError(f"MNIST split: got {split!r}, expected 'train' or 'test'")
    if download:
        from torchvision.datasets import MNIST  # network code only for users who ask for it

        MNIST(str(root), train=split == "train", download=True)
    images_name, labels_name = MNIST_FILES[split]
    raw = mnist_raw_dir(root)
    images = read_idx(raw / images_name, IMAGES_MAGIC)
    labels = read_idx(raw / labels_name, LABELS_MAGIC)
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f"{raw / images_name}: images are {tuple(images.shape[1:])} px, expected (28, 28)")
    if len(images) != len(labels):
        raise DataError(
            f"MNIST {split}: {raw / images_name} has {len(images)} images but "
            f"{raw / labels_name} has {len(labels)} labels"
        )
    if len(labels) and int(labels.max()) >= NUM_CLASSES:
        raise DataError(f"{raw / labels_name}: label {int(labels.max())} found, digits are 0..9")
    return images.unsqueeze(1), labels.long()  # (N, 1, 28, 28), (N,)


def read_idx(path: Path, magic: int) -> torch.Tensor:
    """The uint8 array stored in a gzipped IDX file, after checking its magic number and size."""
    if not path.is_file():
        raise DataError(
            f"MNIST file missing: {path} (run `python -m gan_core.data.fetch --data {path.parents[2]}`)"
        )
    try:
        data = gzip.decompress(path.read_bytes())
    except (EOFError, OSError, zlib.error) as error:
        raise DataError(f"{path}: truncated or corrupt gzip file ({error})") from None
    if len(data) < 4:
        raise DataError(f"{path}: {len(data)} bytes, too short for an IDX header")
    (found,) = struct.unpack(">I", data[:4])
    if found != magic:
        raise DataError(f"{path}: IDX magic number is 0x{found:08x}, expected 0x{magic:08x}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: IDX header cut short ({len(data)} of {header} bytes)")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + torch.Size(dims).numel()
    if len(data) != expected:
        raise DataError(f"{path}: header promises {dims} values ({expected} bytes), file has {len(data)} bytes")
    return torch.frombuffer(bytearray(data[header:]), dtype=torch.uint8).reshape(dims)
