"""Inpainting nets: patch shapes and ranges over hole geometries, thesis layer sizes, D contract, builders."""

import pytest
import torch
from torch import nn

from gan_core.data.masks import boxes_for, cut_hole, paste_patch
from gan_core.models.inpainting import (
    ConditioningNet,
    DilatedInpainter,
    Inpainter,
    InpaintingGenerator,
    ThesisInpainter,
    build_inpainter,
    build_inpainting_discriminator,
    context_dilations,
)

B = 3

GEOMETRIES = {
    "thesis-28-18-fixed": dict(dataset="sic", hole=18, top=8, left=8, family="thesis", nz=16, width=2),
    "thesis-28-18-random": dict(dataset="sic", hole=18, position="random", family="thesis", nz=16, width=2),
    "dcgan-28-14-fixed": dict(dataset="mnist", hole=14),
    "dcgan-28-14-random": dict(dataset="mnist", hole=14, position="random"),
    "dcgan-32-16-at-8-rgb": dict(dataset="celeba", image_size=32, hole=16, top=8, left=8),
    "dcgan-40-10-random": dict(dataset="sic", image_size=40, hole=10, position="random"),
}


@pytest.mark.parametrize("geometry", GEOMETRIES.values(), ids=GEOMETRIES.keys())
def test_patch_condition_and_logits_shapes(inpaint_config, geometry):
    cfg = inpaint_config(**geometry)
    inpainter, discriminator = build_inpainter(cfg), build_inpainting_discriminator(cfg)
    hole, side, channels = cfg.hole.size, cfg.image_size, cfg.channels
    assert isinstance(inpainter, Inpainter)
    assert (inpainter.nz, inpainter.hole_size, inpainter.image_size, inpainter.channels) == (cfg.model.nz, hole, side, channels)

    x = torch.rand(B, channels, side, side)
    boxes = boxes_for(cfg, B, torch.Generator().manual_seed(0))
    y = cut_hole(x, boxes, hole)
    patch = inpainter(torch.randn(B, cfg.model.nz), y, boxes)
    assert patch.shape == (B, channels, hole, hole)
    assert 0 <= patch.min() and patch.max() <= 1
    guess = inpainter.condition(y, boxes)
    assert guess.shape == (B, channels, hole, hole) and 0 <= guess.min() and guess.max() <= 1
    logits = discriminator(paste_patch(y, patch, boxes))
    assert logits.shape == (B,) and torch.isfinite(logits).all()


def test_one_optimiser_reaches_both_conditioner_and_generator(inpaint_config):
    for family, dataset, hole in (("dcgan", "mnist", 14), ("thesis", "sic", 18)):
        inpainter = build_inpainter(inpaint_config(dataset=dataset, hole=hole, family=family, width=2))
        boxes = boxes_for(inpaint_config(dataset=dataset, hole=hole, family=family), B)
        inpainter(torch.randn(B, inpainter.nz), torch.rand(B, 1, 28, 28), boxes).mean().backward()
        for part in (inpainter.conditioner, inpainter.generator):
            grads = [p.grad for p in part.parameters()]
            assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads), family


def test_thesis_layer_sizes_follow_the_notebook():
    conditioner, generator = ConditioningNet(channels=1), InpaintingGenerator(nz=200, ngf=4, channels=1)
    convs = [m for m in conditioner.modules() if isinstance(m, nn.Conv2d)]
    layers = [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in convs]
    assert layers == [(1, 4, 3), (4, 8, 5), (8, 16, 5), (16, 8, 1), (8, 1, 1)]
    assert conditioner(torch.rand(2, 1, 28, 28)).shape == (2, 1, 18, 18)
    sides, code = [], torch.randn(2, 200 + 18 * 18)[:, :, None, None]
    for layer in generator.layers:
        code = layer(code)
        if isinstance(layer, nn.ConvTranspose2d):
            sides.append(code.shape[-1])
    assert sides == [5, 11, 13, 15, 18]
    assert generator.layers[0].in_channels == 200 + 18 * 18 and generator.layers[0].out_channels == 4 * 16


def test_thesis_discriminator_matches_the_notebook(inpaint_config):
    cfg = inpaint_config(dataset="sic", hole=18, top=8, left=8, family="thesis", width=16)
    discriminator = build_inpainting_discriminator(cfg)
    linears = [m for m in discriminator.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(512, 128), (128, 1)]


def test_general_conditioner_sees_the_hole_position_and_the_context(inpaint_config):
    inpainter = build_inpainter(inpaint_config(hole=10, position="random"))
    assert isinstance(inpainter, DilatedInpainter)
    y = torch.rand(1, 1, 28, 28).expand(2, -1, -1, -1).clone()
    z = torch.randn(1, inpainter.nz).expand(2, -1)
    boxes = torch.tensor([[3, 3], [12, 12]])
    y = cut_hole(y, boxes, 10)
    inpainter.eval()
    with torch.no_grad():
        patches = inpainter(z, y, boxes)
        brighter = inpainter(z, (y + 0.5 * (y > 0)).clamp(0, 1), boxes)
    assert not torch.allclose(patches[0], patches[1])  # same content, different holes
    assert not torch.allclose(patches, brighter)  # the context matters


def test_patches_depend_on_z(inpaint_config):
    inpainter = build_inpainter(inpaint_config()).eval()
    y, boxes = torch.rand(2, 1, 28, 28), boxes_for(inpaint_config(), 2)
    with torch.no_grad():
        first, second = inpainter(torch.randn(2, 8), y, boxes), inpainter(torch.randn(2, 8), y, boxes)
    assert not torch.allclose(first, second)


@pytest.mark.parametrize(("hole", "reach"), [(2, 2), (10, 6), (14, 8), (18, 10), (254, 128)])
def test_dilated_stack_reaches_context_from_the_hole_centre(hole, reach):
    dilations = context_dilations(hole)
    assert 1 + sum(dilations) >= reach
    assert 1 + sum(dilations[:-1]) < reach  # and no further than needed


def test_discriminators_refuse_labels(inpaint_config):
    for cfg in (inpaint_config(), inpaint_config(dataset="sic", hole=18, family="thesis")):
        with pytest.raises(ValueError, match="not class-conditional"):
            build_inpainting_discriminator(cfg)(torch.rand(2, 1, 28, 28), torch.tensor([0, 1]))


def test_wrong_input_shapes_are_named(inpaint_config):
    inpainter = build_inpainter(inpaint_config())
    boxes = boxes_for(inpaint_config(), 2)
    with pytest.raises(ValueError, match=r"y must have shape \(B, 1, 28, 28\), got \(2, 3, 28, 28\)"):
        inpainter(torch.randn(2, 8), torch.rand(2, 3, 28, 28), boxes)
    with pytest.raises(ValueError, match=r"z must have shape \(2, 8\), got \(2, 5\)"):
        inpainter(torch.randn(2, 5), torch.rand(2, 1, 28, 28), boxes)
    with pytest.raises(ValueError, match=r"boxes must have shape \(2, 2\)"):
        inpainter.condition(torch.rand(2, 1, 28, 28), boxes[:1])


def test_builders_refuse_other_geometries_and_tasks(inpaint_config):
    cfg = inpaint_config(dataset="sic", hole=18, family="thesis")
    too_small = cfg.model_copy(update={"hole": cfg.hole.model_copy(update={"size": 12})})  # skips validation
    with pytest.raises(ValueError, match="'thesis' inpaints an 18 px hole in a 28 px patch, got image_size 28, hole.size 12"):
        build_inpainter(too_small)
    not_inpainting = cfg.model_copy(update={"task": "gan", "hole": None})
    with pytest.raises(ValueError, match="need task 'inpaint'"):
        build_inpainting_discriminator(not_inpainting)
    assert isinstance(build_inpainter(cfg), ThesisInpainter)


def test_model_dispatch_builds_the_inpainting_nets(inpaint_config):
    from gan_core.models import build_discriminator, build_generator

    cfg = inpaint_config(position="random")
    assert isinstance(build_generator(cfg), DilatedInpainter)
    assert build_discriminator(cfg)(torch.rand(2, 1, 28, 28)).shape == (2,)
