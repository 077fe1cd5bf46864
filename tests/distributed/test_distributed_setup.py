"""What fit_distributed checks and decides before Ray starts: fast, no cluster needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gan_core.config import RayConfig
from gan_core.distributed import (
    FaultInjection,
    check_batch_split,
    default_run_name,
    resolve_storage_path,
)


def test_fault_spec_is_parsed_into_rank_step_and_absolute_marker(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fault = FaultInjection.parse("rank=1, step=3, marker=flags/died")
    assert fault == FaultInjection(rank=1, step=3, marker=tmp_path / "flags/died")


@pytest.mark.parametrize("text,complaint", [
    ("rank=1,step=3", "missing marker"),
    ("rank=1,step=x,marker=/m", "rank and step must be integers"),
    ("rank=1,step=0,marker=/m", "step >= 1"),
    ("rank=1,stp=3,marker=/m", "bad item 'stp=3'"),
])
def test_bad_fault_spec_names_the_variable_and_the_problem(text, complaint):
    with pytest.raises(ValueError, match="GAN_FAULT_INJECT") as error:
        FaultInjection.parse(text)
    assert complaint in str(error.value)


def test_fault_hook_only_on_its_rank_and_never_after_the_marker_exists(tmp_path):
    marker = tmp_path / "died"
    marker.touch()  # a previous attempt already crashed
    fault = FaultInjection(rank=1, step=3, marker=marker)
    assert fault.step_hook(0) is None
    fault.step_hook(1)(3)  # would os._exit without the marker; returning proves the skip


def test_fault_env_unset_means_no_fault(monkeypatch):
    monkeypatch.delenv("GAN_FAULT_INJECT", raising=False)
    assert FaultInjection.from_env() is None
    monkeypatch.setenv("GAN_FAULT_INJECT", "rank=0,step=2,marker=/tmp/m")
    assert FaultInjection.from_env() == FaultInjection(0, 2, Path("/tmp/m"))


def test_global_batch_must_split_evenly_across_workers(tiny_config):
    check_batch_split(tiny_config(batch_size=16), RayConfig(num_workers=4))
    with pytest.raises(ValueError, match=r"train.batch_size 16 is the global batch .* ray.num_workers 3: use a multiple of 3"):
        check_batch_split(tiny_config(batch_size=16), RayConfig(num_workers=3))


def test_run_name_follows_the_params(tiny_config):
    assert default_run_name("mnist_gan", tiny_config()) == default_run_name("mnist_gan", tiny_config())
    assert default_run_name("mnist_gan", tiny_config()) != default_run_name("mnist_gan", tiny_config(lr_g=1e-3))
    assert default_run_name("mnist_gan", tiny_config()).startswith("mnist_gan-")


def test_storage_path_made_absolute_but_uris_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_storage_path("runs/ray") == str(tmp_path / "runs/ray")
    assert resolve_storage_path("s3://bucket/runs") == "s3://bucket/runs"


def test_importing_the_module_does_not_import_ray():
    code = "import sys, gan_core.distributed; assert 'ray' not in sys.modules, 'ray imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
