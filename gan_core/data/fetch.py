"""Fill `data/` with the raw data sets: copied from a local mirror, or downloaded.

Layout written (what `data.dvc` versions and `prepare` reads):
    data/MNIST/raw/*-ubyte.gz                     the four original IDX files
    data/celeba/img_align_celeba/*.jpg            aligned CelebA faces
    data/celeba/*.txt                             official list files (list_eval_partition.txt, ...)
    data/sic/slice*.png                           SiC-diamond CT slices

Mirror copies are byte-identical, so a DVC md5 taken once matches every machine that fetches
from the same source; files that are already identical are skipped.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import time
import urllib.request
from pathlib import Path

from gan_core.atomic import atomic_write_bytes, atomic_writer
from gan_core.data.celeba import list_images
from gan_core.data.errors import DataError
from gan_core.data.mnist import MNIST_FILES, load_mnist, mnist_raw_dir
from gan_core.data.sic import load_slices

MIRROR_ENV = "GAN_DATA_MIRROR"
SIC_SLICES = ("slice7", "slice24", "slice202", "slice431", "slice593")
SIC_URL = (
    "https://raw.githubusercontent.com/JohannesKMB/Generative-Adversarial-Networks/main/"
    "SiC%20Diamonds%20Inpainting/{name}.png"
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CELEBA_HELP = (
    "CelebA could not be downloaded ({error}). Place the aligned images yourself: "
    "download img_align_celeba.zip and list_eval_partition.txt from "
    "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html, then unpack them as "
    "{data}/celeba/img_align_celeba/*.jpg and {data}/celeba/list_eval_partition.txt "
    "(or copy them from a mirror with --mirror DIR)"
)


def celeba_dir(data_dir: Path) -> Path:
    return data_dir / "celeba" / "img_align_celeba"


def sic_dir(data_dir: Path) -> Path:
    return data_dir / "sic"


def fetch_data(data_dir: str | os.PathLike[str], mirror: str | os.PathLike[str] | None = None) -> dict[str, int]:
    """Fill `data_dir` from `mirror` (or $GAN_DATA_MIRROR), else download; return what it can read."""
    data_dir = Path(data_dir)
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    if mirror:
        copied, skipped = copy_from_mirror(Path(mirror), data_dir)
    else:
        copied, skipped = download(data_dir)
    return {**count_data(data_dir), "copied": copied, "skipped": skipped}


def mirror_sources(mirror: Path, data_dir: Path) -> list[tuple[Path, Path, str]]:
    """(source folder, target folder, file pattern) for each data set, by the mirror's layout."""
    def first_dir(*candidates: str) -> Path:
        return next((mirror / c for c in candidates if (mirror / c).is_dir()), mirror / candidates[0])

    return [
        (first_dir("mnist/MNIST/raw", "MNIST/raw"), mnist_raw_dir(data_dir), "*-ubyte.gz"),
        (first_dir("celeba/img_align_celeba"), celeba_dir(data_dir), "*.jpg"),
        (first_dir("celeba"), data_dir / "celeba", "*.txt"),
        (first_dir("sic-diamonds", "sic"), sic_dir(data_dir), "slice*.png"),
    ]


def copy_from_mirror(mirror: Path, data_dir: Path) -> tuple[int, int]:
    """Copy every data set the mirror has; returns (files copied, identical files skipped)."""
    if not mirror.is_dir():
        raise DataError(f"data mirror not found: {mirror} (from --mirror or ${MIRROR_ENV})")
    copied = skipped = 0
    for source, target, pattern in mirror_sources(mirror, data_dir):
        files = sorted(p for p in source.glob(pattern) if p.is_file()) if source.is_dir() else []
        if not files:
            print(f"note: the mirror has no {pattern} files in {source}; skipped")
            continue
        for path in files:
            if copy_if_changed(path, target / path.name):
                copied += 1
            else:
                skipped += 1
    return copied, skipped


def copy_if_changed(source: Path, target: Path) -> bool:
    """Byte-identical atomic copy; False (nothing written) when the target already matches."""
    if target.is_file() and filecmp.cmp(source, target, shallow=False):
        return False
    # Not fsynced: thousands of files would take minutes, and the next fetch re-verifies every byte.
    with source.open("rb") as reader, atomic_writer(target, durable=False) as writer:
        shutil.copyfileobj(reader, writer)
    return True


def download(data_dir: Path) -> tuple[int, int]:
    """Online fetch: MNIST and CelebA through torchvision, SiC slices from the thesis repo."""
    from torchvision.datasets import MNIST, CelebA  # network code only on this path

    copied = skipped = 0
    raw = mnist_raw_dir(data_dir)
    if all((raw / name).is_file() for pair in MNIST_FILES.values() for name in pair):
        skipped += 4
    else:
        for train in (True, False):
            MNIST(str(data_dir), train=train, download=True)
        for gz in raw.glob("*.gz"):  # torchvision also unpacks them: keep only the originals
            gz.with_suffix("").unlink(missing_ok=True)
        copied += 4
    for name in SIC_SLICES:
        target = sic_dir(data_dir) / f"{name}.png"
        if target.is_file():
            skipped += 1
            continue
        atomic_write_bytes(target, download_png(SIC_URL.format(name=name)))
        copied += 1
    if not celeba_dir(data_dir).is_dir():
        try:
            CelebA(str(data_dir), split="all", download=True)
        except Exception as error:  # Google Drive quotas, missing gdown, network: all need the same help
            raise DataError(CELEBA_HELP.format(error=error, data=data_dir)) from error
    return copied, skipped


def download_png(url: str, attempts: int = 4) -> bytes:
    """Bytes of a PNG at `url`, retried with back-off; an HTML error page is not accepted."""
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read()
            break
        except OSError as error:
            if attempt == attempts:
                raise DataError(f"{url}: download failed after {attempts} attempts ({error})") from error
            time.sleep(2**attempt)
    if not data.startswith(PNG_SIGNATURE):
        raise DataError(f"{url}: the download is not a PNG file")
    return data


def count_data(data_dir: str | os.PathLike[str]) -> dict[str, int]:
    """How many items of each data set `data_dir` holds and can be read (0 when absent)."""
    data_dir = Path(data_dir)
    counts = {"mnist_train": 0, "mnist_test": 0, "celeba_images": 0, "sic_slices": 0}
    if mnist_raw_dir(data_dir).is_dir():
        counts["mnist_train"] = len(load_mnist(data_dir, "train")[1])
        counts["mnist_test"] = len(load_mnist(data_dir, "test")[1])
    if celeba_dir(data_dir).is_dir():
        counts["celeba_images"] = len(list_images(celeba_dir(data_dir)))
    if sic_dir(data_dir).is_dir():
        counts["sic_slices"] = len(load_slices(sic_dir(data_dir)))
    return counts


def format_counts(counts: dict[str, int]) -> str:
    """One line such as 'MNIST 60,000 + 10,000 | CelebA 6,031 | SiC 5 slices'."""
    return (
        f"MNIST {counts['mnist_train']:,} + {counts['mnist_test']:,} | "
        f"CelebA {counts['celeba_images']:,} | SiC {counts['sic_slices']:,} slices"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data", help="data folder to fill (default: data)")
    parser.add_argument("--mirror", default=None, help=f"copy from this local folder (default: ${MIRROR_ENV})")
    args = parser.parse_args(argv)
    counts = fetch_data(args.data, args.mirror)
    print(f"copied {counts['copied']:,} files, {counts['skipped']:,} already up to date")
    print(format_counts(counts))


if __name__ == "__main__":
    main()
