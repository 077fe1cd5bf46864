"""Atomic writes: the target is the old file or the new one, never a torn mix, and no temp is left."""

import os
import stat

import pytest
import torch

from gan_core import atomic
from gan_core.atomic import atomic_torch_save, atomic_write_bytes


def test_write_bytes_creates_parents_and_leaves_only_the_target(tmp_path):
    target = tmp_path / "a" / "b" / "file.bin"
    atomic_write_bytes(target, b"hello")
    assert target.read_bytes() == b"hello"
    assert os.listdir(target.parent) == ["file.bin"]


def test_new_file_gets_ordinary_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "f", b"x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o644


def test_data_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: events.append("replace") or real_replace(a, b))
    atomic_write_bytes(tmp_path / "f", b"x")
    assert events[:2] == ["fsync", "replace"]


def test_crash_before_rename_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "ckpt.pt"
    target.write_bytes(b"old")

    def crash(*args):
        raise OSError("disk gone")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write_bytes(target, b"new" * 1000)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["ckpt.pt"]


def test_failing_torch_save_keeps_the_previous_file(tmp_path):
    target = tmp_path / "ckpt.pt"
    atomic_torch_save({"step": 1}, target)
    with pytest.raises(Exception):
        atomic_torch_save({"step": 2, "bad": lambda: None}, target)  # lambdas cannot be pickled
    assert torch.load(target, weights_only=True) == {"step": 1}
    assert os.listdir(tmp_path) == ["ckpt.pt"]


def test_torch_save_round_trip_loads_with_weights_only(tmp_path):
    obj = {"w": torch.arange(6).reshape(2, 3), "names": ["a", "b"]}
    atomic_torch_save(obj, tmp_path / "x.pt")
    loaded = torch.load(tmp_path / "x.pt", weights_only=True)
    assert torch.equal(loaded["w"], obj["w"]) and loaded["names"] == ["a", "b"]


def test_non_durable_writes_skip_fsync_but_stay_atomic(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: pytest.fail("fsync called"))
    target = tmp_path / "f"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_writer(target, durable=False) as handle:
            handle.write(b"partial")
            raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["f"]
    with atomic.atomic_writer(target, durable=False) as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"new"
