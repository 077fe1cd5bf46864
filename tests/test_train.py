"""The one training loop: runs, outputs, exact resume, corrupt checkpoints, EMA maths."""

from __future__ import annotations

import csv

import pytest
import torch
from torch import nn

from gan_core.checkpoint import CHECKPOINT_NAME, PREVIOUS_NAME, CheckpointError, load_generator, read_checkpoint
from gan_core.config import ExperimentConfig, HoleConfig, ModelConfig, TrainConfig
from gan_core.data.datasets import ImageData
from gan_core.train import epoch_order, train, update_ema


def tiny(task: str = "gan", family: str = "dcgan", **train_overrides) -> ExperimentConfig:
    train_cfg = dict(batch_size=16, epochs=2, seed=3, batches_per_epoch=3, ema_decay=0.9) | train_overrides
    hole = HoleConfig(size=10, position="fixed", top=9, left=9) if task == "inpaint" else None
    return ExperimentConfig(task=task, dataset="mnist", image_size=28, hole=hole,
                            model=ModelConfig(family=family, nz=8, ngf=8, ndf=8), train=TrainConfig(**train_cfg))


def digits(n: int = 64, seed: int = 0) -> ImageData:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=generator)
    images = torch.zeros(n, 1, 28, 28, dtype=torch.uint8)
    for i, label in enumerate(labels):  # a bright bar whose position encodes the digit
        images[i, 0, 2 + 2 * label: 4 + 2 * label, 4:24] = 255
    return ImageData(images, labels)


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("task,family", [("gan", "dcgan"), ("cgan", "dcgan"), ("cgan", "thesis"), ("inpaint", "dcgan")])
def test_short_run_writes_history_grids_and_checkpoint(tmp_path, task, family):
    cfg = tiny(task, family, mode_seeking_weight=1.0, d_steps=2, l1_weight=1.0 if task == "inpaint" else 0.0)
    reports = []
    result = train("t", cfg, digits(), tmp_path, progress=False, on_epoch_end=reports.append)

    assert [r.epoch for r in reports] == [1, 2] and reports[-1].step == 6
    assert len(result.history) == 2
    for row in result.history:
        for key in ("loss_d", "loss_g", "d_real", "d_fake", "images_per_sec"):
            assert torch.isfinite(torch.tensor(row[key])), key
        assert 0 <= row["d_real"] <= 1 and 0 <= row["d_fake"] <= 1
    assert (tmp_path / CHECKPOINT_NAME).is_file() and (tmp_path / PREVIOUS_NAME).is_file()
    assert (tmp_path / "samples/epoch_001.png").is_file() and (tmp_path / "samples/latest.png").is_file()
    with (tmp_path / "history.csv").open() as handle:
        assert [int(float(row["epoch"])) for row in csv.DictReader(handle)] == [1, 2]
    cfg_back, generator = load_generator(tmp_path / CHECKPOINT_NAME)
    assert cfg_back == cfg and not generator.training


def test_cgan_grid_is_ten_rows_of_ten(tmp_path):
    from PIL import Image

    train("t", tiny("cgan", epochs=1), digits(), tmp_path, progress=False)
    width, height = Image.open(tmp_path / "samples/latest.png").size
    assert width == height == 10 * 28 + 11 * 2  # 10 x 10 tiles of 28 px with 2 px padding


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path):
    cfg, data = tiny("cgan", mode_seeking_weight=0.5), digits()
    full = train("t", cfg, data, tmp_path / "full", progress=False)
    train("t", cfg, data, tmp_path / "split", progress=False, stop_after_epochs=1)
    torch.manual_seed(12345)  # a disturbed global RNG must not matter after resume
    resumed = train("t", cfg, data, tmp_path / "split", progress=False)

    a = read_checkpoint(tmp_path / "full" / CHECKPOINT_NAME)
    b = read_checkpoint(tmp_path / "split" / CHECKPOINT_NAME)
    for key in ("generator", "discriminator", "generator_ema"):
        assert states_equal(a[key], b[key]), key
    assert a["step"] == b["step"] == 6
    assert [row["loss_g"] for row in full.history] == [row["loss_g"] for row in resumed.history]


def test_corrupt_checkpoint_is_a_clear_error_and_previous_survives(tmp_path):
    cfg = tiny()
    train("t", cfg, digits(), tmp_path, progress=False)
    current = tmp_path / CHECKPOINT_NAME
    current.write_bytes(current.read_bytes()[:1000])  # truncated, as by a crash during copy
    with pytest.raises(CheckpointError, match="corrupt or truncated.*previous checkpoint .* is intact"):
        train("t", cfg.model_copy(update={"train": cfg.train.model_copy(update={"epochs": 3})}), digits(), tmp_path, progress=False)
    assert read_checkpoint(tmp_path / PREVIOUS_NAME)["epoch"] == 1


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path):
    train("t", tiny(epochs=1), digits(), tmp_path, progress=False)
    other = tiny(epochs=2)
    other = other.model_copy(update={"model": other.model.model_copy(update={"ngf": 16})})
    with pytest.raises(CheckpointError, match="different run.*model"):
        train("t", other, digits(), tmp_path, progress=False)


def test_ema_update_maths():
    model, ema = nn.Linear(2, 1), nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.fill_(1.0), model.bias.fill_(2.0), ema.weight.fill_(0.0), ema.bias.fill_(0.0)
    update_ema(ema, model, decay=0.75)
    assert torch.allclose(ema.weight, torch.full((1, 2), 0.25)) and torch.allclose(ema.bias, torch.tensor([0.5]))


def test_epoch_order_shards_partition_one_permutation():
    shards = [epoch_order(10, seed=1, epoch=2, rank=r, world_size=2) for r in range(2)]
    assert sorted(torch.cat(shards).tolist()) == list(range(10))
    assert not torch.equal(epoch_order(10, 1, 2, 0, 1), epoch_order(10, 1, 3, 0, 1))
