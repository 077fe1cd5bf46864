"""Fixtures: tiny data sets in each real on-disk format, built in temp dirs (never the real data)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from data_builders import write_faces, write_mnist, write_slices


@pytest.fixture
def mnist_root(tmp_path: Path) -> tuple[Path, dict]:
    return tmp_path, write_mnist(tmp_path)


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """A complete tiny data/ folder in the layout fetch writes."""
    root = tmp_path / "data"
    write_mnist(root)
    images = root / "celeba" / "img_align_celeba"
    names = write_faces(images, 10)
    partitions = [0] * 7 + [1, 2, 2]
    (root / "celeba" / "list_eval_partition.txt").write_text(
        "".join(f"{name} {part}\n" for name, part in zip(names, partitions))
    )
    write_slices(root / "sic", ["slice7", "slice24", "slice202"])
    return root


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    """A tiny mirror laid out like /work/shared/data."""
    root = tmp_path / "mirror"
    write_mnist(root / "mnist")
    names = write_faces(root / "celeba" / "img_align_celeba", 3)
    (root / "celeba" / "list_eval_partition.txt").write_text("".join(f"{n} 0\n" for n in names) + "999999.jpg 2\n")
    (root / "celeba" / "identity_CelebA.txt").write_text("".join(f"{n} 1\n" for n in names))
    (root / "celeba" / "MANIFEST.tsv").write_text("image\tidentity\n")
    write_slices(root / "sic-diamonds", ["slice7", "slice24"])
    (root / "README.md").write_text("mirror\n")
    return root


@pytest.fixture
def no_global_rng_use():
    """Fail a test that touches torch's global RNG (samplers must use their own Generator)."""
    state = torch.get_rng_state()
    yield
    assert torch.equal(state, torch.get_rng_state()), "global torch RNG was used"
