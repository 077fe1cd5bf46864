"""Train/eval data for an experiment config, from prepared files."""

import pytest
import torch
from data_builders import write_faces, write_mnist, write_png

from gan_core.config import ExperimentConfig
from gan_core.data.datasets import DEFAULT_SIC_PATCHES, ImageData, load_eval_data, load_train_data
from gan_core.data.errors import DataError
from gan_core.data.prepare import prepare

SIC_HOLE = {"size": 4, "position": "fixed"}


def config(dataset, task="gan", image_size=28, train_size=0, seed=0):
    hole = SIC_HOLE if task == "inpaint" else None
    return ExperimentConfig(task=task, dataset=dataset, image_size=image_size, hole=hole,
                            train={"train_size": train_size, "seed": seed})


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Prepared files from a tiny data folder, built once for this module."""
    root = tmp_path_factory.mktemp("data")
    write_mnist(root)
    write_faces(root / "celeba" / "img_align_celeba", 20)  # no list file: 18 train, 2 test
    for name, value in (("slice7", 10), ("slice24", 20)):  # constant train slices: patches show their source
        write_png(root / "sic" / f"{name}.png", torch.full((30, 30), value, dtype=torch.uint8).numpy())
    held_out = torch.randint(100, 256, (30, 30), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    write_png(root / "sic" / "slice202.png", held_out.numpy())
    out = root / "prepared"
    prepare(root, out, cache_dir=root / "cache")
    return out


def test_mnist_gan_has_no_labels_and_cgan_has_them(prepared):
    gan = load_train_data(config("mnist"), prepared)
    assert isinstance(gan, ImageData) and len(gan) == 12 and gan.labels is None
    assert gan.images.dtype == torch.uint8 and gan.images.shape == (12, 1, 28, 28)
    cgan = load_train_data(config("mnist", task="cgan"), prepared)
    assert cgan.labels is not None and cgan.labels.dtype == torch.int64 and cgan.labels.shape == (12,)
    assert torch.equal(cgan.images, gan.images)


def test_train_size_takes_the_first_images(prepared):
    full = load_train_data(config("mnist", task="cgan"), prepared)
    first = load_train_data(config("mnist", task="cgan", train_size=5), prepared)
    assert torch.equal(first.images, full.images[:5]) and torch.equal(first.labels, full.labels[:5])


def test_train_size_beyond_the_data_is_an_error(prepared):
    with pytest.raises(DataError, match=r"train\.train_size: got 13, .*mnist\.pt has 12 training images"):
        load_train_data(config("mnist", train_size=13), prepared)


def test_mnist_eval_keeps_labels(prepared):
    data = load_eval_data(config("mnist"), prepared, n=4)
    assert data.images.shape == (4, 1, 28, 28) and data.labels.shape == (4,)


@pytest.mark.parametrize("size", [32, 64])
def test_celeba_train_and_eval_at_the_experiment_size(prepared, size):
    train = load_train_data(config("celeba", image_size=size), prepared)
    test = load_eval_data(config("celeba", image_size=size), prepared, n=2)
    assert train.images.shape == (18, 3, size, size) and train.labels is None
    assert test.images.shape == (2, 3, size, size) and test.labels is None


def test_asking_for_more_eval_images_than_held_out(prepared):
    with pytest.raises(DataError, match=r"asked for 3 evaluation images, .*celeba32\.pt has 2 test images"):
        load_eval_data(config("celeba", image_size=32), prepared, n=3)


def test_sic_train_patches_come_from_train_slices_seeded_by_train_seed(prepared):
    cfg = config("sic", task="inpaint", image_size=12, train_size=64, seed=1)
    data = load_train_data(cfg, prepared)
    assert data.images.shape == (64, 1, 12, 12) and data.labels is None
    assert set(data.images.unique().tolist()) == {10, 20}  # never the held-out slice (values >= 100)
    assert torch.equal(data.images, load_train_data(cfg, prepared).images)


def test_sic_default_train_size_is_20000_patches(prepared):
    assert len(load_train_data(config("sic", task="inpaint", image_size=8), prepared)) == DEFAULT_SIC_PATCHES


def test_sic_eval_patches_come_from_the_held_out_slice_with_a_fixed_seed(prepared):
    first = load_eval_data(config("sic", task="inpaint", image_size=12, seed=0), prepared, n=10)
    other_seed = load_eval_data(config("sic", task="inpaint", image_size=12, seed=5), prepared, n=10)
    assert first.images.shape == (10, 1, 12, 12) and (first.images >= 100).all()
    assert torch.equal(first.images, other_seed.images)  # independent of the training seed
    assert len({tuple(p.flatten().tolist()) for p in first.images}) > 1  # distinct positions


def test_missing_prepared_file_says_which_stage_to_run(tmp_path):
    with pytest.raises(DataError, match=r"celeba64\.pt not found: run the prepare stage .*--only celeba64"):
        load_train_data(config("celeba", image_size=64), tmp_path)


def test_image_data_checks_its_tensors():
    with pytest.raises(DataError, match="uint8"):
        ImageData(torch.zeros(2, 1, 4, 4))
    with pytest.raises(DataError, match="2 images but labels of shape"):
        ImageData(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(3, dtype=torch.int64))
