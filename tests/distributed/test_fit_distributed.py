"""fit_distributed on a real local Ray (2 CPU workers, gloo): reports, DDP sync, faults, seeds, errors."""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from gan_core.checkpoint import CHECKPOINT_NAME, unwrap
from gan_core.distributed import DistributedTrainingError, fit_distributed
from gan_core.train import Runtime, train

pytestmark = pytest.mark.slow

LOSSES = ("loss_d", "loss_g", "d_real", "d_fake")


class WeightDigest:
    """A worker probe: each rank appends {epoch, param and buffer digests of G and D} to rank<r>.jsonl."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self, rank: int, epoch: int, models: list[nn.Module]) -> None:
        def digest(tensors) -> str:
            sha = hashlib.sha256()
            for tensor in tensors:
                sha.update(tensor.detach().cpu().contiguous().numpy().tobytes())
            return sha.hexdigest()

        row = {"epoch": epoch,
               "params": [digest(unwrap(m).parameters()) for m in models],
               "buffers": [digest(b for b in unwrap(m).buffers() if b.is_floating_point()) for m in models]}
        with (self.folder / f"rank{rank}.jsonl").open("a") as handle:
            handle.write(json.dumps(row) + "\n")

    def rows(self, rank: int) -> list[dict]:
        return [json.loads(line) for line in (self.folder / f"rank{rank}.jsonl").read_text().splitlines()]


class EpochEvaluator:
    """An evaluate_factory: built inside rank 0's worker; its metric says which epoch it scored."""

    def __call__(self):
        def evaluate(generator: nn.Module, epoch: int) -> dict[str, float]:
            assert not generator.training  # the EMA generator, as in the plain loop
            return {"scored_epoch": float(epoch)}

        return evaluate


@pytest.fixture(scope="module")
def probe_pickled_by_value(ray_cluster):
    """Workers cannot import this test module, so Ray ships its classes by value."""
    ray_cluster.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def two_worker_cgan(ray_cluster, probe_pickled_by_value, tmp_path_factory, tiny_config, ray_config, bars):
    """One 2-worker run shared by the tests that only read it (each fit costs ~12 s)."""
    folder = tmp_path_factory.mktemp("two_workers")
    probe = WeightDigest(folder)
    # cGAN with the mode-seeking term: labels travel too, and G runs twice before one backward.
    cfg = tiny_config("cgan", mode_seeking_weight=1.0)
    result = fit_distributed("t", cfg, ray_config(folder), bars(), folder / "out", worker_probe=probe, run_name="two",
                             evaluate_factory=EpochEvaluator())
    return result, folder, probe, cfg


def test_two_workers_report_each_epoch_with_a_checkpoint(two_worker_cgan):
    result, folder, probe, cfg = two_worker_cgan
    out = folder / "out"
    assert [row["epoch"] for row in result.history] == [1.0, 2.0]
    assert result.final_metrics["step"] == 4.0  # 2 epochs x 2 batches: each step is one global batch
    assert all(math.isfinite(row[key]) for row in result.history for key in LOSSES)
    assert [row["scored_epoch"] for row in result.history] == [1.0, 2.0]  # rank 0 evaluated every epoch
    assert result.checkpoint == out / CHECKPOINT_NAME
    payload = torch.load(out / CHECKPOINT_NAME, weights_only=True)
    assert payload["epoch"] == 2 and payload["step"] == 4
    assert (out / "history.csv").is_file()
    assert {p.name for p in (out / "samples").iterdir()} == {"epoch_001.png", "epoch_002.png", "latest.png"}
    assert len([p for p in (folder / "ray" / "two").glob("checkpoint_*") if p.is_dir()]) == 2  # one per epoch
    assert [row["epoch"] for row in probe.rows(0)] == [1, 2] and [row["epoch"] for row in probe.rows(1)] == [1, 2]
    ema = result.generator_ema
    assert not ema.training
    assert all(torch.equal(a, b) for a, b in zip(ema.state_dict().values(), payload["generator_ema"].values()))
    images = ema(torch.randn(3, cfg.model.nz), torch.tensor([0, 1, 2]))
    assert images.shape == (3, 1, 28, 28)


def test_ddp_keeps_g_and_d_weights_identical_on_both_ranks(two_worker_cgan):
    _, _, probe, _ = two_worker_cgan
    rank0, rank1 = probe.rows(0), probe.rows(1)
    for epoch0, epoch1 in zip(rank0, rank1):
        assert epoch0["params"] == epoch1["params"]  # gradients all-reduced: G and D stay replicas
        # BatchNorm running statistics are rank-local by design (DDP_KWARGS: no per-forward buffer sync).
        assert epoch0["buffers"][1] != epoch1["buffers"][1]
    assert rank0[0]["params"] != rank0[1]["params"]  # and the weights did train between the epochs


def test_hard_crash_of_a_worker_restarts_from_the_last_checkpoint(
    ray_cluster, probe_pickled_by_value, tmp_path, tiny_config, ray_config, bars, monkeypatch
):
    marker = tmp_path / "rank1-died"
    # Step 5 is in epoch 3: rank 1 only gets there once its epoch-1 report has been consumed,
    # so a checkpoint is always registered before the crash.
    monkeypatch.setenv("GAN_FAULT_INJECT", f"rank=1,step=5,marker={marker}")
    probe = WeightDigest(tmp_path)
    result = fit_distributed("t", tiny_config(epochs=3), ray_config(tmp_path, max_failures=1), bars(),
                             tmp_path / "out", worker_probe=probe)

    assert marker.is_file()  # the crash happened
    assert [row["epoch"] for row in result.history] == [1.0, 2.0, 3.0]
    assert result.final_metrics["step"] == 6.0
    assert math.isfinite(result.final_metrics["loss_d"]) and math.isfinite(result.final_metrics["loss_g"])
    epochs_run = [row["epoch"] for row in probe.rows(0)]
    assert epochs_run.count(1) == 1 and epochs_run[-1] == 3  # resumed after the crash, not restarted


def test_one_worker_matches_the_single_process_loop_and_resumes_by_run_name(
    ray_cluster, tmp_path, tiny_config, ray_config, bars
):
    data = bars()
    cpu = Runtime(device=torch.device("cpu"))  # the Ray workers are CPU workers, even on a GPU machine
    local = train("t", tiny_config(epochs=2), data, tmp_path / "local", runtime=cpu, progress=False).history
    one = ray_config(tmp_path, num_workers=1)
    first = fit_distributed("t", tiny_config(epochs=1), one, data, tmp_path / "ray-out", run_name="same").history
    # Same name, more epochs: Ray hands the run's last checkpoint back and the loop continues it.
    both = fit_distributed("t", tiny_config(epochs=2), one, data, tmp_path / "ray-out", run_name="same").history

    # Bit-identical: same seeds (rank 0's epoch seeds are the loop's), one thread each, no DDP at 1 worker.
    assert [first[0][k] for k in LOSSES] == [local[0][k] for k in LOSSES]
    assert [both[1][k] for k in LOSSES] == [local[1][k] for k in LOSSES]
    assert both[0] == first[0]  # epoch 1 was restored, not trained again


def test_worker_error_surfaces_with_the_original_message(ray_cluster, tmp_path, tiny_config, ray_config, bars):
    one = ray_config(tmp_path, num_workers=1)  # a worker fewer to start; the error path is the same
    with pytest.raises(DistributedTrainingError, match="4 training images give no full batch of 16 per worker"):
        fit_distributed("t", tiny_config(), one, bars(n=4), tmp_path / "out")


def test_more_workers_than_local_cpus_is_refused_before_starting(ray_cluster, tmp_path, tiny_config, ray_config, bars):
    with pytest.raises(ValueError, match=r"ray.num_workers 4 x ray.cpus_per_worker 1 needs 4 CPUs, the local Ray has 2"):
        fit_distributed("t", tiny_config(), ray_config(tmp_path, num_workers=4), bars(), tmp_path / "out")
