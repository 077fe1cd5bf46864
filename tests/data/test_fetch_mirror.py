"""Fetching from a local mirror laid out like the shared data folder (never the network)."""

import os

import pytest

from gan_core.data import fetch
from gan_core.data.errors import DataError
from gan_core.data.fetch import fetch_data

EXPECTED = {
    "MNIST/raw/train-images-idx3-ubyte.gz": "mnist/MNIST/raw/train-images-idx3-ubyte.gz",
    "MNIST/raw/train-labels-idx1-ubyte.gz": "mnist/MNIST/raw/train-labels-idx1-ubyte.gz",
    "MNIST/raw/t10k-images-idx3-ubyte.gz": "mnist/MNIST/raw/t10k-images-idx3-ubyte.gz",
    "MNIST/raw/t10k-labels-idx1-ubyte.gz": "mnist/MNIST/raw/t10k-labels-idx1-ubyte.gz",
    "celeba/img_align_celeba/000001.jpg": "celeba/img_align_celeba/000001.jpg",
    "celeba/img_align_celeba/000002.jpg": "celeba/img_align_celeba/000002.jpg",
    "celeba/img_align_celeba/000003.jpg": "celeba/img_align_celeba/000003.jpg",
    "celeba/list_eval_partition.txt": "celeba/list_eval_partition.txt",
    "celeba/identity_CelebA.txt": "celeba/identity_CelebA.txt",
    "sic/slice7.png": "sic-diamonds/slice7.png",
    "sic/slice24.png": "sic-diamonds/slice24.png",
}


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    monkeypatch.setattr(fetch, "download", lambda data_dir: pytest.fail("tried to download"))


def test_copies_a_byte_identical_layout_and_counts_it(mirror, tmp_path):
    data = tmp_path / "data"
    counts = fetch_data(data, mirror)
    assert files_under(data) == sorted(EXPECTED)  # README.md and MANIFEST.tsv are not data
    for target, source in EXPECTED.items():
        assert (data / target).read_bytes() == (mirror / source).read_bytes(), target
    assert counts == {"mnist_train": 12, "mnist_test": 5, "celeba_images": 3, "sic_slices": 2,
                      "copied": len(EXPECTED), "skipped": 0}


def test_second_fetch_skips_identical_files_and_repairs_changed_ones(mirror, tmp_path):
    data = tmp_path / "data"
    fetch_data(data, mirror)
    untouched = data / "celeba" / "img_align_celeba" / "000001.jpg"
    inode = untouched.stat().st_ino
    (data / "sic" / "slice7.png").write_bytes(b"edited")
    counts = fetch_data(data, mirror)
    assert (counts["copied"], counts["skipped"]) == (1, len(EXPECTED) - 1)
    assert untouched.stat().st_ino == inode  # not rewritten
    assert (data / "sic" / "slice7.png").read_bytes() == (mirror / "sic-diamonds" / "slice7.png").read_bytes()


def test_mirror_from_the_environment(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_DATA_MIRROR", str(mirror))
    assert fetch_data(tmp_path / "data")["sic_slices"] == 2


def test_partial_mirror_copies_what_it_has(mirror, tmp_path, capsys):
    for path in sorted((mirror / "celeba").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    counts = fetch_data(tmp_path / "data", mirror)
    assert counts["celeba_images"] == 0 and counts["mnist_train"] == 12
    assert "note: the mirror has no *.jpg files" in capsys.readouterr().out


def test_missing_mirror(tmp_path):
    with pytest.raises(DataError, match=r"data mirror not found: .*nowhere"):
        fetch_data(tmp_path / "data", tmp_path / "nowhere")


def test_a_corrupt_mirror_file_is_reported_by_the_count(mirror, tmp_path):
    gz = mirror / "mnist" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-10])
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: truncated or corrupt gzip"):
        fetch_data(tmp_path / "data", mirror)


def test_cli_prints_the_counts(mirror, tmp_path, capsys):
    fetch.main(["--data", str(tmp_path / "data"), "--mirror", str(mirror)])
    out = capsys.readouterr().out
    assert "MNIST 12 + 5 | CelebA 3 | SiC 2 slices" in out
    assert os.path.isdir(tmp_path / "data" / "MNIST" / "raw")
