"""GAN/cGAN networks of both families: shapes, ranges, label contract, thesis layer sizes, build dispatch."""

import sys
import types

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gan_core.config import ExperimentConfig, ModelConfig
from gan_core.models import build_discriminator, build_generator, init_weights
from gan_core.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_core.models.thesis import (
    ThesisCelebADiscriminator,
    ThesisCelebAGenerator,
    ThesisMLPDiscriminator,
    ThesisMLPGenerator,
)

B, NZ = 3, 8


def config(task: str, dataset: str, size: int, family: str = "dcgan", nz: int = NZ) -> ExperimentConfig:
    return ExperimentConfig(task=task, dataset=dataset, image_size=size, model=ModelConfig(family=family, nz=nz, ngf=4, ndf=4))


def labels_for(num_classes: int) -> torch.Tensor | None:
    return torch.tensor([0, 5, 9]) if num_classes else None


def check_pair(generator: nn.Module, discriminator: nn.Module, shape: tuple[int, ...], num_classes: int) -> None:
    labels = labels_for(num_classes)
    images = generator(torch.randn(B, generator.nz), labels)
    assert images.shape == (B, *shape)
    assert images.dtype == torch.float32
    assert 0 <= images.min() and images.max() <= 1
    logits = discriminator(images, labels)
    assert logits.shape == (B,)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("num_classes", [0, 10], ids=["gan", "cgan"])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [28, 32, 64])
def test_dcgan_shapes_and_ranges(size, channels, num_classes):
    generator = DCGANGenerator(nz=NZ, ngf=4, channels=channels, image_size=size, num_classes=num_classes)
    discriminator = DCGANDiscriminator(ndf=4, channels=channels, image_size=size, num_classes=num_classes)
    check_pair(generator, discriminator, (channels, size, size), num_classes)


@pytest.mark.parametrize(
    ("task", "dataset", "size", "shape", "num_classes"),
    [("gan", "mnist", 28, (1, 28, 28), 0), ("cgan", "mnist", 28, (1, 28, 28), 10), ("gan", "celeba", 32, (3, 32, 32), 0)],
)
def test_thesis_shapes_and_ranges(task, dataset, size, shape, num_classes):
    cfg = config(task, dataset, size, family="thesis")
    check_pair(build_generator(cfg), build_discriminator(cfg), shape, num_classes)


@pytest.mark.parametrize("family", ["dcgan", "thesis"])
def test_cgan_output_depends_on_label(family):
    cfg = config("cgan", "mnist", 28, family=family)
    generator, discriminator = build_generator(cfg).eval(), build_discriminator(cfg)
    z = torch.randn(1, NZ).expand(2, NZ)  # the same code twice
    images = generator(z, torch.tensor([3, 7]))
    assert (images[0] - images[1]).abs().max() > 1e-4
    # D: the same batch of images (so the same BatchNorm statistics) with the labels swapped.
    images, labels = torch.rand(4, 1, 28, 28), torch.tensor([3, 7, 1, 2])
    logits, swapped = discriminator(images, labels), discriminator(images, labels.flip(0))
    assert (logits - swapped).abs().min() > 1e-3 * logits.abs().max()


@pytest.mark.parametrize("family", ["dcgan", "thesis"])
def test_label_contract(family):
    conditional = config("cgan", "mnist", 28, family=family)
    unconditional = config("gan", "mnist", 28, family=family)
    z, images, labels = torch.randn(B, NZ), torch.rand(B, 1, 28, 28), torch.tensor([1, 2, 3])
    with pytest.raises(ValueError, match="labels of shape"):
        build_generator(conditional)(z)
    with pytest.raises(ValueError, match="labels of shape"):
        build_discriminator(conditional)(images)
    with pytest.raises(ValueError, match=r"must have shape \(3,\).*got \(2,\)"):
        build_generator(conditional)(z, labels[:2])
    with pytest.raises(ValueError, match="unconditional"):
        build_generator(unconditional)(z, labels)
    with pytest.raises(ValueError, match="unconditional"):
        build_discriminator(unconditional)(images, labels)


def test_thesis_cgan_one_hot_path_is_exact():
    generator, discriminator = ThesisMLPGenerator(nz=100, num_classes=10), ThesisMLPDiscriminator(num_classes=10)
    assert generator.gen[0].in_features == 110 and generator.gen[2].out_features == 784
    assert discriminator.disc[0].in_features == 794 and discriminator.disc[2].out_features == 1
    z, labels = torch.randn(B, 100), torch.tensor([0, 9, 4])  # 9: the last digit is a real one-hot, never all-zero
    one_hot = torch.eye(10)[labels]
    expected_images = ((generator.gen(torch.cat([z, one_hot], 1)) + 1) / 2).view(B, 1, 28, 28)
    torch.testing.assert_close(generator(z, labels), expected_images)
    images = torch.rand(B, 1, 28, 28)
    # The thesis's D saw [-1, 1] images with the one-hot appended.
    expected_logits = discriminator.disc(torch.cat([images.view(B, 784) * 2 - 1, one_hot], 1)).view(B)
    torch.testing.assert_close(discriminator(images, labels), expected_logits)
    with pytest.raises((RuntimeError, IndexError)):
        generator(z, torch.tensor([0, 10, 4]))  # no "label 10"


def shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(tensor.shape) for name, tensor in module.state_dict().items() if "running" not in name and "num_batches" not in name}


def test_thesis_mnist_parameters_match_the_thesis():
    assert shapes(ThesisMLPGenerator(nz=100, num_classes=0)) == {
        "gen.0.weight": (512, 100), "gen.0.bias": (512,), "gen.2.weight": (784, 512), "gen.2.bias": (784,),
    }
    assert shapes(ThesisMLPDiscriminator(num_classes=0)) == {
        "disc.0.weight": (512, 784), "disc.0.bias": (512,), "disc.2.weight": (1, 512), "disc.2.bias": (1,),
    }


def test_thesis_celeba_parameters_match_the_thesis():
    # Names and shapes as in CelebAGAN_Braitinger.py, so its saved state dicts load unchanged.
    assert shapes(ThesisCelebAGenerator(nz=400)) == {
        "linear_layers.0.weight": (1024, 400), "linear_layers.0.bias": (1024,),
        "linear_layers.2.weight": (8192, 1024), "linear_layers.2.bias": (8192,),
        "conv_layers.0.weight": (128, 128, 2, 2),
        "conv_layers.1.weight": (128,), "conv_layers.1.bias": (128,),
        "conv_layers.2.weight": (64, 128, 1, 1), "conv_layers.2.bias": (64,),
        "conv_layers.3.weight": (64,), "conv_layers.3.bias": (64,),
        "conv_layers.5.weight": (64, 32, 2, 2),
        "conv_layers.6.weight": (32,), "conv_layers.6.bias": (32,),
        "conv_layers.7.weight": (64, 32, 1, 1), "conv_layers.7.bias": (64,),
        "conv_layers.8.weight": (64,), "conv_layers.8.bias": (64,),
        "conv_layers.10.weight": (3, 64, 1, 1), "conv_layers.10.bias": (3,),
    }
    expected_d = {}
    for block, (c_in, c_out) in enumerate([(3, 32), (32, 64), (64, 128)]):
        expected_d |= {
            f"cnn_layers.{block}.0.weight": (c_out, c_in, 3, 3), f"cnn_layers.{block}.0.bias": (c_out,),
            f"cnn_layers.{block}.2.weight": (c_out, c_out, 3, 3), f"cnn_layers.{block}.2.bias": (c_out,),
        }
    expected_d |= {
        "linear_layers.0.weight": (1024, 6272), "linear_layers.0.bias": (1024,),
        "linear_layers.2.weight": (1, 1024), "linear_layers.2.bias": (1,),
    }
    discriminator = ThesisCelebADiscriminator()
    assert shapes(discriminator) == expected_d
    pools = [m for m in discriminator.modules() if isinstance(m, nn.MaxPool2d)]
    assert [(p.kernel_size, p.stride) for p in pools] == [(2, 2), (2, 2), (2, 1)]


def test_build_dispatch_returns_the_named_networks():
    assert type(build_generator(config("gan", "celeba", 64))) is DCGANGenerator
    assert type(build_discriminator(config("cgan", "mnist", 28))) is DCGANDiscriminator
    thesis_celeba = config("gan", "celeba", 32, family="thesis", nz=400)
    generator = build_generator(thesis_celeba)
    assert type(generator) is ThesisCelebAGenerator and generator.nz == 400
    assert generator.linear_layers[0].in_features == 400
    assert type(build_discriminator(thesis_celeba)) is ThesisCelebADiscriminator
    mnist = build_generator(config("gan", "mnist", 28, family="thesis", nz=100))
    assert type(mnist) is ThesisMLPGenerator and mnist.gen[0].in_features == 100


@pytest.mark.parametrize(
    ("family", "task", "dataset", "size"),
    [("thesis", "cgan", "mnist", 32), ("thesis", "gan", "celeba", 64), ("dcgan", "gan", "celeba", 48)],
)
def test_build_rejects_unsupported_combinations(family, task, dataset, size):
    # Bypass validation: the builders must refuse on their own (defence in depth).
    cfg = ExperimentConfig.model_construct(task=task, dataset=dataset, image_size=size, model=ModelConfig(family=family))
    for build in (build_generator, build_discriminator):
        with pytest.raises(ValueError, match=rf"model.family '{family}', task '{task}', image_size {size}"):
            build(cfg)


def test_inpainting_is_delegated(monkeypatch):
    fake = types.ModuleType("gan_core.models.inpainting")
    fake.build_inpainter = lambda cfg: ("inpainter", cfg.hole.size)
    fake.build_inpainting_discriminator = lambda cfg: ("critic", cfg.hole.size)
    monkeypatch.setitem(sys.modules, "gan_core.models.inpainting", fake)
    cfg = ExperimentConfig(task="inpaint", dataset="sic", image_size=28, hole={"size": 18}, model=ModelConfig(family="thesis"))
    assert build_generator(cfg) == ("inpainter", 18)
    assert build_discriminator(cfg) == ("critic", 18)


def test_dcgan_init_weights():
    generator = DCGANGenerator(nz=64, ngf=32, channels=3, image_size=64)
    convs = [m.weight for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    norms = [m.weight for m in generator.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(abs(w.std().item() - 0.02) < 0.004 and abs(w.mean().item()) < 0.004 for w in convs)
    assert all(abs(w.mean().item() - 1) < 0.01 for w in norms)
    layer = nn.Linear(400, 300)
    init_weights(layer)
    assert abs(layer.weight.std().item() - 0.02) < 0.002 and not layer.bias.any()
