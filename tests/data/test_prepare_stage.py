"""The prepare stage: one weights_only-loadable file per data set, written atomically."""

import shutil

import pytest
import torch
from data_builders import write_slices

from gan_core.data import prepare as prepare_module
from gan_core.data.errors import DataError
from gan_core.data.prepare import prepare


def load(path):
    return torch.load(path, weights_only=True)


def test_prepares_every_data_set(data_root, tmp_path):
    out = tmp_path / "prepared"
    written = prepare(data_root, out, cache_dir=tmp_path / "cache")
    assert written == {name: out / f"{name}.pt" for name in ("mnist", "celeba32", "celeba64", "sic")}
    assert sorted(p.name for p in out.iterdir()) == ["celeba32.pt", "celeba64.pt", "mnist.pt", "sic.pt"]  # no temp files

    mnist = load(out / "mnist.pt")
    assert {k: tuple(v.shape) for k, v in mnist.items()} == {
        "train_images": (12, 1, 28, 28), "train_labels": (12,), "test_images": (5, 1, 28, 28), "test_labels": (5,)}
    assert mnist["train_images"].dtype == torch.uint8 and mnist["train_labels"].dtype == torch.int64

    for size in (32, 64):
        faces = load(out / f"celeba{size}.pt")
        assert faces["train_images"].shape == (7, 3, size, size)  # partition 0
        assert faces["test_images"].shape == (3, 3, size, size)  # partitions 1 and 2

    sic = load(out / "sic.pt")
    assert sic["train_names"] == ["slice7", "slice24"] and sic["eval_names"] == ["slice202"]  # last by name held out
    assert [s.shape for s in sic["train_slices"] + sic["eval_slices"]] == [(40, 48)] * 3


def test_absent_raw_data_is_skipped_with_a_note_unless_asked_for(data_root, tmp_path, capsys):
    shutil.rmtree(data_root / "celeba")
    written = prepare(data_root, tmp_path / "prepared", cache_dir=tmp_path / "cache")
    assert sorted(written) == ["mnist", "sic"]
    out = capsys.readouterr().out
    assert "note: celeba32: raw data not found at" in out and "skipped" in out
    with pytest.raises(DataError, match=r"celeba64: raw data not found at .*gan_core\.data\.fetch"):
        prepare(data_root, tmp_path / "prepared", which=["celeba64"], cache_dir=tmp_path / "cache")


def test_cli_only(data_root, tmp_path):
    out = tmp_path / "prepared"
    prepare_module.main(["--data", str(data_root), "--out", str(out), "--only", "mnist,sic", "--cache", str(tmp_path / "c")])
    assert sorted(p.name for p in out.iterdir()) == ["mnist.pt", "sic.pt"]


def test_unknown_data_set_name(data_root, tmp_path):
    with pytest.raises(ValueError, match=r"unknown prepared data set\(s\) \['cifar'\]; choose from mnist, celeba32"):
        prepare(data_root, tmp_path / "prepared", which=["cifar"])


def test_one_sic_slice_is_not_enough(tmp_path):
    write_slices(tmp_path / "data" / "sic", ["slice7"])
    with pytest.raises(DataError, match=r"sic: 1 slice, need at least 2"):
        prepare(tmp_path / "data", tmp_path / "prepared", which=["sic"])
    assert not (tmp_path / "prepared").exists() or not any((tmp_path / "prepared").iterdir())


def test_bad_raw_file_leaves_the_previous_prepared_file_intact(data_root, tmp_path):
    out = tmp_path / "prepared"
    prepare(data_root, out, which=["mnist"])
    before = (out / "mnist.pt").read_bytes()
    gz = data_root / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-5])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: truncated"):
        prepare(data_root, out, which=["mnist"])
    assert (out / "mnist.pt").read_bytes() == before
