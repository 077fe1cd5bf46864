"""CelebA faces: a folder of aligned JPEGs decoded once into a cached uint8 tensor.

Reads torchvision's layout (`<root>/celeba/img_align_celeba/*.jpg` with the official list files
in `<root>/celeba/`) or any plain folder of images. Each image is centre-cropped to a square
(178 px for aligned CelebA, 178x218) and resized with antialiasing. Decoded HWC pixels become
CHW by a permute, never a reshape (the thesis code reshaped and scrambled the pixels).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision.transforms.v2 import functional as F

from gan_core.atomic import atomic_torch_save
from gan_core.data.errors import DataError

CELEBA_SIZES = (32, 64)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
PARTITION_FILE = "list_eval_partition.txt"
TRAIN, TEST = 0, 1
CACHE_VERSION = 1  # bump when decoding changes, so old caches are not reused


@dataclass(frozen=True)
class CelebAImages:
    """Decoded faces with their file names and split (0 = train, 1 = test)."""

    images: torch.Tensor  # uint8 (N, 3, S, S)
    names: list[str]
    split: torch.Tensor  # int64 (N,)

    @property
    def train_images(self) -> torch.Tensor:
        return self.images[self.split == TRAIN]

    @property
    def test_images(self) -> torch.Tensor:
        return self.images[self.split == TEST]


def find_celeba(root: str | os.PathLike[str]) -> tuple[Path, Path | None]:
    """The image folder under `root` and its official partition file, if there is one."""
    root = Path(root)
    for folder in (root / "celeba" / "img_align_celeba", root / "img_align_celeba", root):
        if folder.is_dir():
            # torchvision keeps the list files beside img_align_celeba; a plain folder may hold its own
            partition = (folder.parent if folder.name == "img_align_celeba" else folder) / PARTITION_FILE
            return folder, partition if partition.is_file() else None
    raise DataError(f"CelebA folder not found: {root} (expected {root}/celeba/img_align_celeba/ or a folder of images)")


def list_images(folder: Path) -> list[Path]:
    """The image files of a folder, sorted by name; an empty folder is an error."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return files


def load_celeba(root: str | os.PathLike[str], size: int, cache_dir: str | os.PathLike[str]) -> CelebAImages:
    """All CelebA images at `size` px with names and split; decoded once, then read from the cache."""
    if size not in CELEBA_SIZES:
        raise ValueError(f"CelebA size: got {size}, expected one of {CELEBA_SIZES}")
    folder, partition = find_celeba(root)
    files = list_images(folder)
    names = [f.name for f in files]
    split = _read_partition(partition, names) if partition else _split_by_name(names)
    cache = Path(cache_dir) / f"celeba{size}-{_files_key(files, size)}.pt"
    if cache.is_file():
        images = torch.load(cache, weights_only=True)
    else:
        images = torch.empty((len(files), 3, size, size), dtype=torch.uint8)  # filled in place: no 2x peak
        for index, path in enumerate(files):
            images[index] = decode_face(path, size)
        atomic_torch_save(images, cache)
    return CelebAImages(images=images, names=names, split=split)


def decode_face(path: Path, size: int) -> torch.Tensor:
    """One image as uint8 (3, size, size): centre square crop, antialiased resize."""
    try:
        with Image.open(path) as opened:
            pixels = np.array(opened.convert("RGB"))  # (H, W, 3); convert() decodes the whole file
    except (OSError, SyntaxError, UnidentifiedImageError) as error:
        raise DataError(f"{path}: cannot decode image ({error})") from None
    image = torch.from_numpy(pixels).permute(2, 0, 1)  # (3, H, W): a permute moves axes, a reshape would scramble them
    side = min(image.shape[1:])
    square = F.center_crop(image, [side, side])
    return F.resize(square, [size, size], antialias=True)


def _files_key(files: list[Path], size: int) -> str:
    """Hash of names, byte sizes and mtimes: any added, removed or edited file gives a new cache."""
    digest = hashlib.sha256(f"v{CACHE_VERSION} size={size}\n".encode())
    for path in files:
        stat = path.stat()
        digest.update(f"{path.name}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _read_partition(path: Path, names: list[str]) -> torch.Tensor:
    """Official split of each image: partition 0 is train, 1 (valid) and 2 (test) are test."""
    partition: dict[str, int] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise DataError(f"{path}:{number}: expected '<image> <0|1|2>', got {line!r}")
        partition[fields[0]] = int(fields[1])
    missing = [name for name in names if name not in partition]
    if missing:
        raise DataError(f"{path}: {len(missing)} images are not listed, e.g. {missing[0]}")
    return torch.tensor([TRAIN if partition[name] == 0 else TEST for name in names], dtype=torch.int64)


def _split_by_name(names: list[str]) -> torch.Tensor:
    """Deterministic 90/10 split without a list file: every 10th image in name order is test."""
    return torch.tensor([TEST if index % 10 == 9 else TRAIN for index in range(len(names))], dtype=torch.int64)
