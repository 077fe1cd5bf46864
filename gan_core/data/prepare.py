"""The `prepare` stage: raw files in `data/` -> uint8 tensor files in `prepared/`.

    prepared/mnist.pt      {"train_images", "train_labels", "test_images", "test_labels"}
    prepared/celeba32.pt   {"train_images", "test_images"}        (and celeba64.pt)
    prepared/sic.pt        {"train_slices", "eval_slices", "train_names", "eval_names"}

Every file holds plain tensors, lists and strings (loadable with `weights_only=True`) and is
written atomically. The last SiC slice by name is held out, so inpainting metrics use patches
no model was trained on.
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial
from collections.abc import Callable, Sequence
from pathlib import Path

from gan_core.atomic import atomic_torch_save
from gan_core.data.celeba import load_celeba
from gan_core.data.errors import DataError
from gan_core.data.fetch import celeba_dir, sic_dir
from gan_core.data.mnist import load_mnist, mnist_raw_dir
from gan_core.data.sic import load_slices

PREPARED = ("mnist", "celeba32", "celeba64", "sic")
CACHE_ENV = "GAN_CACHE_DIR"


def default_cache_dir() -> Path:
    """Decode caches live outside data/ and prepared/: DVC deletes a stage's outputs before rerunning it."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gan-pipeline"


def prepared_path(prepared_dir: str | os.PathLike[str], name: str) -> Path:
    """File of one prepared data set, e.g. prepared/celeba32.pt."""
    return Path(prepared_dir) / f"{name}.pt"


def prepare_mnist(data_root: Path, cache_dir: Path) -> dict:
    """Both MNIST splits with labels (no decode cache needed: parsing takes a second)."""
    train_images, train_labels = load_mnist(data_root, "train")
    test_images, test_labels = load_mnist(data_root, "test")
    return {"train_images": train_images, "train_labels": train_labels,
            "test_images": test_images, "test_labels": test_labels}


def prepare_celeba(data_root: Path, cache_dir: Path, size: int) -> dict:
    """CelebA train/test images at one size, through the decode cache."""
    faces = load_celeba(data_root, size, cache_dir)
    return {"train_images": faces.train_images, "test_images": faces.test_images}


def prepare_sic(data_root: Path, cache_dir: Path) -> dict:
    """Whole SiC slices; patches are sampled per run, so only the held-out split is fixed here."""
    slices = load_slices(sic_dir(data_root))
    if len(slices) < 2:
        raise DataError(
            f"{sic_dir(data_root)}: {len(slices)} slice, need at least 2 (the last is held out for evaluation)"
        )
    *train, held_out = slices
    return {"train_slices": [image for _, image in train], "eval_slices": [held_out[1]],
            "train_names": [name for name, _ in train], "eval_names": [held_out[0]]}


# name -> (raw folder that must exist, builder)
BUILDERS: dict[str, tuple[Callable[[Path], Path], Callable[[Path, Path], dict]]] = {
    "mnist": (mnist_raw_dir, prepare_mnist),
    "celeba32": (celeba_dir, partial(prepare_celeba, size=32)),
    "celeba64": (celeba_dir, partial(prepare_celeba, size=64)),
    "sic": (sic_dir, prepare_sic),
}


def prepare(
    data_root: str | os.PathLike[str],
    prepared_dir: str | os.PathLike[str],
    which: Sequence[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Path]:
    """Write the prepared tensor files; returns name -> path of each file written.

    `which=None` prepares every data set whose raw folder exists and skips the others with a
    note; data sets named in `which` must be present.
    """
    names = list(PREPARED if which is None else which)
    unknown = [name for name in names if name not in BUILDERS]
    if unknown:
        raise ValueError(f"unknown prepared data set(s) {unknown}; choose from {', '.join(PREPARED)}")
    data_root = Path(data_root)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    written: dict[str, Path] = {}
    for name in names:
        raw_dir, build = BUILDERS[name]
        if not raw_dir(data_root).is_dir():
            message = f"{name}: raw data not found at {raw_dir(data_root)}"
            if which is not None:
                raise DataError(f"{message} (run `python -m gan_core.data.fetch --data {data_root}`)")
            print(f"note: {message}; skipped")
            continue
        start = time.perf_counter()
        target = prepared_path(prepared_dir, name)
        atomic_torch_save(build(data_root, cache), target)
        print(f"{name}: wrote {target} in {time.perf_counter() - start:.1f} s")
        written[name] = target
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data", help="raw data folder (default: data)")
    parser.add_argument("--out", default="prepared", help="output folder (default: prepared)")
    parser.add_argument("--only", default=None, help=f"comma-separated subset of {','.join(PREPARED)}")
    parser.add_argument(
        "--cache", default=None, help=f"decode cache folder (default: ${CACHE_ENV} or ~/.cache/gan-pipeline)"
    )
    args = parser.parse_args(argv)
    which = [name.strip() for name in args.only.split(",") if name.strip()] if args.only else None
    prepare(args.data, args.out, which, args.cache)


if __name__ == "__main__":
    main()
