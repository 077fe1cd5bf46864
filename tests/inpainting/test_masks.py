"""Holes: cut, mask, crop and paste agree with plain slicing, keep context bit-identical, pass gradients."""

import pytest
import torch

from gan_core.data.masks import (
    boxes_for,
    crop_patch,
    cut_hole,
    fixed_boxes,
    hole_mask,
    paste_patch,
    sample_boxes,
    validate_box,
)

SIZE = 4
DISTINCT = torch.tensor([[1, 2], [5, 1], [3, 3]])  # the index-arithmetic path
SHARED = fixed_boxes(3, 2, 5)  # the slicing fast path


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(3, 2, 10, 10, generator=torch.Generator().manual_seed(0)) + 0.01  # no exact zeros


def sliced(x: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """The reference: one python slice per image."""
    return torch.stack([image[:, t : t + size, l : l + size] for image, (t, l) in zip(x, boxes.tolist())])


@pytest.mark.parametrize("boxes", [DISTINCT, SHARED], ids=["distinct", "shared"])
def test_crop_matches_slicing(images, boxes):
    assert torch.equal(crop_patch(images, boxes, SIZE), sliced(images, boxes, SIZE))


@pytest.mark.parametrize("boxes", [DISTINCT, SHARED], ids=["distinct", "shared"])
def test_cut_hole_zeroes_only_the_hole(images, boxes):
    y = cut_hole(images, boxes, SIZE)
    mask = hole_mask(images.shape, boxes, SIZE)
    assert mask.dtype == torch.bool and mask.shape == images.shape
    assert int(mask.sum()) == 3 * 2 * SIZE * SIZE
    assert torch.equal(crop_patch(mask, boxes, SIZE), torch.ones(3, 2, SIZE, SIZE, dtype=torch.bool))
    assert (y[mask] == 0).all()
    assert torch.equal(y[~mask], images[~mask])


@pytest.mark.parametrize("boxes", [DISTINCT, SHARED], ids=["distinct", "shared"])
def test_paste_keeps_context_bit_identical_and_passes_gradients(images, boxes):
    y = cut_hole(images, boxes, SIZE)
    patch = torch.rand(3, 2, SIZE, SIZE, requires_grad=True)
    composite = paste_patch(y, patch, boxes)
    mask = hole_mask(images.shape, boxes, SIZE)
    assert torch.equal(composite[~mask], y[~mask])
    assert torch.equal(crop_patch(composite, boxes, SIZE), patch.detach())
    weights = torch.rand_like(composite)
    (composite * weights).sum().backward()
    assert torch.equal(patch.grad, crop_patch(weights, boxes, SIZE))


def test_float_mask_and_fast_path_agree_with_general_path(images):
    boxes = fixed_boxes(3, 2, 5)
    mask = hole_mask((3, 1, 10, 10), boxes, SIZE, dtype=torch.float32)
    assert mask.dtype == torch.float32 and mask.shape == (3, 1, 10, 10) and mask.sum() == 3 * SIZE * SIZE
    patch = torch.rand(3, 2, SIZE, SIZE)
    one_odd = torch.cat([boxes[:2], torch.tensor([[1, 1]])])  # forces index arithmetic for the batch
    fast, general = paste_patch(images, patch, boxes), paste_patch(images, patch, one_odd)
    assert torch.equal(fast[:2], general[:2])


def test_sampled_boxes_leave_context_and_are_reproducible():
    boxes = sample_boxes(2000, 10, SIZE, torch.Generator().manual_seed(1))
    assert boxes.shape == (2000, 2) and boxes.dtype == torch.int64
    assert boxes.min() == 1 and boxes.max() == 10 - 1 - SIZE  # every allowed position, never the border
    again = sample_boxes(2000, 10, SIZE, torch.Generator().manual_seed(1))
    assert torch.equal(boxes, again)


def test_boxes_for_follows_the_config(inpaint_config):
    fixed = boxes_for(inpaint_config(hole=14, top=3, left=9), 4)
    assert fixed.tolist() == [[3, 9]] * 4
    centred = boxes_for(inpaint_config(hole=14), 2)
    assert centred.tolist() == [[7, 7]] * 2
    random = boxes_for(inpaint_config(hole=14, position="random"), 500, torch.Generator().manual_seed(0))
    assert random.min() >= 1 and random.max() <= 28 - 1 - 14 and len(random.unique(dim=0)) > 20


@pytest.mark.parametrize(
    ("top", "left", "size", "message"),
    [
        (0, 3, 4, "hole top=0 is outside the allowed range .* must be 1..5"),
        (3, 6, 4, "hole left=6 is outside the allowed range .* must be 1..5"),
        (1, 1, 9, "hole size 9 does not fit a 10 px image: it must be 1..8 px"),
    ],
)
def test_validate_box_names_the_problem(top, left, size, message):
    with pytest.raises(ValueError, match=message):
        validate_box(10, top, left, size)
    validate_box(10, 5, 5, 4)  # the largest allowed position is fine


def test_paste_refuses_a_patch_of_the_wrong_shape(images):
    with pytest.raises(ValueError, match=r"patch must be \(B, C, s, s\) matching y \(3, 2, 10, 10\), got \(3, 1, 4, 4\)"):
        paste_patch(images, torch.rand(3, 1, 4, 4), SHARED)


def test_sample_boxes_refuses_a_hole_without_context():
    with pytest.raises(ValueError, match="hole size 9 does not fit a 10 px image"):
        sample_boxes(3, 10, 9)
