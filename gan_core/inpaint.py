"""Inpaint your own image: K fillings of a square hole, their mean and a std map, saved as one figure.

    python -m gan_core.inpaint --checkpoint runs/sic_inpaint/checkpoint.pt --image slice.png --box 8 8 \
        --k 1000 --out inpainting.png

The image must have the model's size (e.g. 28x28); PNGs are converted to the model's channels (grey or
RGB), .npy arrays must already match them. Whatever the image holds inside the box is ignored.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from gan_core.data.masks import cut_hole, fixed_boxes
from gan_core.uncertainty import UncertaintyMaps, uncertainty_figure, uncertainty_maps


def as_image_tensor(image: Tensor | np.ndarray) -> Tensor:
    """A user's image as float (C, H, W) in [0, 1]: accepts (H, W), (H, W, C) or (C, H, W), uint8 or float."""
    tensor = torch.as_tensor(np.asarray(image)) if not isinstance(image, Tensor) else image
    if tensor.dim() == 2:
        tensor = tensor[None]
    elif tensor.dim() == 3 and tensor.shape[-1] in (1, 3) and tensor.shape[0] not in (1, 3):
        tensor = tensor.permute(2, 0, 1)  # (H, W, C) as PIL and numpy hold images
    if tensor.dim() != 3:
        raise ValueError(f"image must be (H, W), (H, W, C) or (C, H, W), got shape {tuple(tensor.shape)}")
    if tensor.dtype == torch.uint8:
        return tensor.float() / 255
    tensor = tensor.float()
    if tensor.numel() and (tensor.min() < 0 or tensor.max() > 1):
        raise ValueError(f"a float image must hold values in [0, 1], got {tensor.min():.3g}..{tensor.max():.3g}")
    return tensor


def read_image(path: Path, channels: int) -> Tensor:
    """A PNG/JPEG (converted to `channels`) or a .npy array, as float (C, H, W) in [0, 1]."""
    if not path.is_file():
        raise ValueError(f"image file not found: {path}")
    if path.suffix.lower() == ".npy":
        return as_image_tensor(np.load(path, allow_pickle=False))
    from PIL import Image

    with Image.open(path) as picture:
        return as_image_tensor(np.array(picture.convert("L" if channels == 1 else "RGB")))


def inpaint_image(
    inpainter: nn.Module, image: Tensor | np.ndarray, box: tuple[int, int], k: int, seed: int = 0
) -> UncertaintyMaps:
    """Mean, std and a few of k fillings of the hole at box (top, left) in a user's image."""
    return uncertainty_maps(inpainter, as_image_tensor(image), box, k, seed=seed, return_samples=min(k, 4))


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: load the EMA inpainter, fill the hole k times, write the figure."""
    parser = argparse.ArgumentParser(prog="python -m gan_core.inpaint", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="training checkpoint of an inpainting run")
    parser.add_argument("--image", type=Path, required=True, help="PNG or .npy image of the model's size")
    parser.add_argument("--box", type=int, nargs=2, metavar=("TOP", "LEFT"), required=True, help="top-left of the hole")
    parser.add_argument("--k", type=int, default=1000, help="number of fillings (default 1000)")
    parser.add_argument("--out", type=Path, default=Path("inpainting.png"), help="figure to write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from gan_core.checkpoint import load_generator  # the checkpoint format belongs to the training loop

    cfg, inpainter = load_generator(args.checkpoint)
    if cfg.task != "inpaint":
        parser.error(f"{args.checkpoint} holds a {cfg.task!r} generator, not an inpainting model")
    try:
        image = read_image(args.image, cfg.channels)
        maps = inpaint_image(inpainter, image, tuple(args.box), args.k, args.seed)
    except ValueError as error:
        parser.error(str(error))
    top, left = args.box
    size = inpainter.hole_size
    uncertainty_figure(cut_hole(image[None], fixed_boxes(1, top, left), size), maps, path=args.out)
    hole_std = maps.std[:, top : top + size, left : left + size].mean().item()
    print(f"wrote {args.out}: {args.k} fillings of the {size} px hole at ({top}, {left}), mean std in the hole {hole_std:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
