"""Square holes: where they are, cutting them out, and cropping or pasting the patch that fills them.

A batch of holes is an int64 tensor `boxes` (B, 2) of (top, left) plus one python int `size`.
Everything is vectorised over the batch (index arithmetic, no python loop), with a plain slice as
the fast path when every hole sits in the same place (fixed holes: the common case).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:  # masks depend on torch only; the config is just read
    from gan_core.config import ExperimentConfig


def validate_box(image_size: int, top: int, left: int, size: int) -> None:
    """Reject a hole that leaves the image or leaves no context: the nets need >= 1 px on every side."""
    last = image_size - 1 - size  # largest top/left that keeps 1 px of context below/right
    if size < 1 or last < 1:
        raise ValueError(
            f"hole size {size} does not fit a {image_size} px image: it must be 1..{image_size - 2} px "
            "so at least 1 px of context remains on every side"
        )
    for name, value in (("top", top), ("left", left)):
        if not 1 <= value <= last:
            raise ValueError(
                f"hole {name}={value} is outside the allowed range for a {size} px hole in a {image_size} px "
                f"image: top and left must be 1..{last} (at least 1 px of context on every side)"
            )


def fixed_boxes(n: int, top: int, left: int, device: torch.device | str = "cpu") -> Tensor:
    """The same hole for all n images: (n, 2) int64."""
    return torch.tensor([top, left], dtype=torch.int64, device=device).repeat(n, 1)


def sample_boxes(n: int, image_size: int, size: int, generator: torch.Generator | None = None) -> Tensor:
    """n random hole positions (n, 2), each leaving >= 1 px of context; drawn on the generator's device."""
    validate_box(image_size, 1, 1, size)
    device = generator.device if generator is not None else "cpu"
    return torch.randint(1, image_size - size, (n, 2), generator=generator, device=device, dtype=torch.int64)


def boxes_for(cfg: ExperimentConfig, n: int, generator: torch.Generator | None = None) -> Tensor:
    """Hole positions for n images of an inpainting experiment: its fixed box, or random ones."""
    if cfg.hole is None:
        raise ValueError(f"boxes_for: task {cfg.task!r} has no hole block; only inpainting experiments have holes")
    top, left, size = cfg.hole_box()
    if cfg.hole.position == "random":
        return sample_boxes(n, cfg.image_size, size, generator)
    return fixed_boxes(n, top, left, device=generator.device if generator is not None else "cpu")


def _shared_box(boxes: Tensor) -> tuple[int, int] | None:
    """(top, left) when every image has the same hole, else None (the fast-path test)."""
    if boxes.shape[0] > 0 and bool((boxes == boxes[:1]).all()):
        top, left = boxes[0].tolist()
        return top, left
    return None


def _hole_indices(boxes: Tensor, size: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """Broadcastable (batch, row, column) indices of every hole pixel: (B,1,1), (B,s,1), (B,1,s)."""
    boxes = boxes.to(device)
    offsets = torch.arange(size, device=device)
    rows = (boxes[:, 0:1] + offsets)[:, :, None]
    cols = (boxes[:, 1:2] + offsets)[:, None, :]
    batch = torch.arange(boxes.shape[0], device=device)[:, None, None]
    return batch, rows, cols


def hole_mask(shape: torch.Size | tuple[int, ...], boxes: Tensor, size: int, dtype: torch.dtype = torch.bool) -> Tensor:
    """A mask of `shape` (B, C, H, W), True (or 1.0) inside each image's hole."""
    batch, channels, height, width = shape
    rows = torch.arange(height, device=boxes.device)
    cols = torch.arange(width, device=boxes.device)
    top, left = boxes[:, 0:1], boxes[:, 1:2]
    in_rows = (rows >= top) & (rows < top + size)  # (B, H)
    in_cols = (cols >= left) & (cols < left + size)  # (B, W)
    mask = in_rows[:, None, :, None] & in_cols[:, None, None, :]  # (B, 1, H, W)
    return mask.expand(batch, channels, height, width).to(dtype)


def cut_hole(x: Tensor, boxes: Tensor, size: int) -> Tensor:
    """y: x with each hole set to 0 and the context untouched."""
    mask = hole_mask(x.shape, boxes.to(x.device), size)
    return x.masked_fill(mask, 0)


def crop_patch(x: Tensor, boxes: Tensor, size: int) -> Tensor:
    """The content of each hole: (B, C, size, size)."""
    shared = _shared_box(boxes)
    if shared is not None:
        top, left = shared
        return x[:, :, top : top + size, left : left + size]
    batch, rows, cols = _hole_indices(boxes, size, x.device)
    return x[batch, :, rows, cols].permute(0, 3, 1, 2)  # advanced indices go first: (B, s, s, C)


def paste_patch(y: Tensor, patch: Tensor, boxes: Tensor) -> Tensor:
    """y with each hole replaced by its patch; context pixels are copied bit for bit, grads reach patch."""
    size = patch.shape[-1]
    if patch.dim() != 4 or patch.shape[:2] != y.shape[:2] or patch.shape[-2] != size:
        raise ValueError(f"paste_patch: patch must be (B, C, s, s) matching y {tuple(y.shape)}, got {tuple(patch.shape)}")
    composite = y.to(torch.result_type(y, patch), copy=True)
    shared = _shared_box(boxes)
    if shared is not None:
        top, left = shared
        composite[:, :, top : top + size, left : left + size] = patch
        return composite
    batch, rows, cols = _hole_indices(boxes, size, y.device)
    composite[batch, :, rows, cols] = patch.permute(0, 2, 3, 1)
    return composite
