"""The inpaint CLI and inpaint_image: a user's PNG or array in, a figure and mean/std maps out."""

import re

import numpy as np
import pytest
import torch
from PIL import Image

import gan_core.checkpoint
from gan_core.inpaint import as_image_tensor, inpaint_image, main
from gan_core.models.inpainting import build_inpainter


@pytest.fixture
def model(inpaint_config, monkeypatch):
    """A tiny grey 12 px inpainter served by a stand-in for the training checkpoint loader."""
    cfg = inpaint_config(dataset="sic", image_size=12, hole=4, position="random", nz=4, width=4)
    inpainter = build_inpainter(cfg).eval()
    monkeypatch.setattr(gan_core.checkpoint, "load_generator", lambda path: (cfg, inpainter))
    return inpainter


def write_png(path, side: int, mode: str = "L"):
    pixels = np.random.default_rng(0).integers(0, 256, size=(side, side, 3), dtype=np.uint8)
    Image.fromarray(pixels).convert(mode).save(path)
    return path


def test_cli_writes_the_figure(model, tmp_path, capsys):
    png = write_png(tmp_path / "mine.png", 12, mode="RGB")  # RGB is converted to the model's grey
    out = tmp_path / "figs" / "inpainting.png"
    code = main(["--checkpoint", "ckpt.pt", "--image", str(png), "--box", "3", "4", "--k", "20", "--out", str(out)])
    assert code == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert f"wrote {out}: 20 fillings of the 4 px hole at (3, 4)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("side", "box", "message"),
    [(14, ("2", "2"), r"y has shape \(1, 14, 14\), but this model inpaints 12x12"), (12, ("0", "2"), "hole top=0 is outside")],
)
def test_cli_reports_bad_input_clearly(model, tmp_path, capsys, side, box, message):
    png = write_png(tmp_path / "mine.png", side)
    with pytest.raises(SystemExit) as exit_info:
        main(["--checkpoint", "c.pt", "--image", str(png), "--box", *box, "--k", "5", "--out", str(tmp_path / "f.png")])
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "f.png").exists()


def test_cli_refuses_a_missing_image(model, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--checkpoint", "c.pt", "--image", str(tmp_path / "nope.png"), "--box", "2", "2"])
    assert "image file not found" in capsys.readouterr().err


def test_inpaint_image_takes_numpy_arrays_and_is_reproducible(model):
    array = np.random.default_rng(1).integers(0, 256, size=(12, 12), dtype=np.uint8)
    maps = inpaint_image(model, array, (3, 4), k=16, seed=2)
    again = inpaint_image(model, torch.from_numpy(array), (3, 4), k=16, seed=2)
    assert maps.mean.shape == (1, 12, 12) and maps.samples.shape == (4, 1, 12, 12)
    assert torch.equal(maps.mean, again.mean) and torch.equal(maps.std, again.std)
    assert torch.equal(maps.mean[0, 0], torch.from_numpy(array[0]).float() / 255)  # context kept


def test_image_layouts_are_understood():
    assert as_image_tensor(np.zeros((5, 6, 3), dtype=np.uint8)).shape == (3, 5, 6)
    assert as_image_tensor(np.zeros((3, 5, 6), dtype=np.float32)).shape == (3, 5, 6)
    assert as_image_tensor(np.full((5, 6), 255, dtype=np.uint8)).max() == 1.0
    with pytest.raises(ValueError, match=r"a float image must hold values in \[0, 1\], got 0..2"):
        as_image_tensor(np.array([[0.0, 2.0]]))
    with pytest.raises(ValueError, match=r"image must be \(H, W\), \(H, W, C\) or \(C, H, W\), got shape \(2, 2, 2, 2\)"):
        as_image_tensor(np.zeros((2, 2, 2, 2)))
