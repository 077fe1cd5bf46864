"""Uncertainty maps: exact zeros on context, chunk-independent streaming, input checks, the figure."""

import pytest
import torch

from gan_core.data.masks import cut_hole, fixed_boxes, hole_mask
from gan_core.models.inpainting import build_inpainter
from gan_core.uncertainty import MAX_SAMPLES, UncertaintyMaps, uncertainty_figure, uncertainty_maps


@pytest.fixture
def tiny(inpaint_config):
    """A small random general-family inpainter for 12 px images with a 4 px hole."""
    torch.manual_seed(0)
    return build_inpainter(inpaint_config(dataset="sic", image_size=12, hole=4, position="random", nz=4, width=4))


def image(channels: int = 1, side: int = 12) -> torch.Tensor:
    return torch.rand(channels, side, side, generator=torch.Generator().manual_seed(3))


def test_generator_ignoring_z_gives_exactly_zero_std(constant_inpainter):
    y = image()
    maps = uncertainty_maps(constant_inpainter, y, (2, 5), 50, chunk=7)
    assert torch.equal(maps.std, torch.zeros(1, 12, 12))
    expected = cut_hole(y[None], fixed_boxes(1, 2, 5), 4)[0]
    expected[:, 2:6, 5:9] = 0.3
    assert torch.equal(maps.mean, expected)  # context bit-identical to y, hole = the constant


def test_std_is_zero_on_context_and_positive_in_the_hole(tiny):
    y = image()
    maps = uncertainty_maps(tiny, y, (3, 4), 64, chunk=16)
    mask = hole_mask((1, 1, 12, 12), fixed_boxes(1, 3, 4), 4)[0]
    assert (maps.std[~mask] == 0).all()
    assert (maps.std[mask] > 0).all()
    assert torch.equal(maps.mean[~mask], y[~mask])
    assert maps.mean.dtype == torch.float32 and maps.std.shape == (1, 12, 12)


def test_chunked_equals_unchunked_for_the_same_seed(tiny):
    y = image()
    small = uncertainty_maps(tiny, y, (3, 4), 300, seed=5, chunk=7, return_samples=10)
    whole = uncertainty_maps(tiny, y[None], (3, 4), 300, seed=5, chunk=1000, return_samples=10)
    torch.testing.assert_close(small.mean, whole.mean, atol=1e-6, rtol=0)
    torch.testing.assert_close(small.std, whole.std, atol=1e-6, rtol=0)
    torch.testing.assert_close(small.samples, whole.samples, atol=1e-6, rtol=0)
    other_seed = uncertainty_maps(tiny, y, (3, 4), 300, seed=6, chunk=1000)
    assert not torch.allclose(other_seed.mean, whole.mean, atol=1e-6)


def test_matches_a_direct_computation_over_all_samples(tiny):
    y = image()
    maps = uncertainty_maps(tiny, y, (3, 4), 40, chunk=9, return_samples=40)
    assert maps.samples.shape == (40, 1, 12, 12)
    torch.testing.assert_close(maps.mean, maps.samples.mean(dim=0), atol=1e-6, rtol=0)
    torch.testing.assert_close(maps.std, maps.samples.std(dim=0), atol=1e-6, rtol=0)


def test_runs_in_eval_mode_and_restores_training_mode(tiny):
    tiny.train()
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    uncertainty_maps(tiny, image(), (3, 4), 20)
    assert tiny.training
    for key, value in tiny.state_dict().items():  # BatchNorm running stats untouched
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize(
    ("y", "box", "k", "message"),
    [
        (image(), (2, 2), 0, "k .* must be an integer in 1..100000, got 0"),
        (image(), (2, 2), -3, "must be an integer in 1..100000, got -3"),
        (image(), (2, 2), MAX_SAMPLES + 1, "got 100001"),
        (image(side=14), (2, 2), 10, r"y has shape \(1, 14, 14\), but this model inpaints 12x12 px images with 1 channel"),
        (image(channels=3), (2, 2), 10, r"y has shape \(3, 12, 12\).*1 channel"),
        (image()[None].expand(2, -1, -1, -1), (2, 2), 10, r"y has shape \(2, 1, 12, 12\)"),
        (image(), (0, 2), 10, "hole top=0 is outside the allowed range .* 1..7"),
        (image(), (2, 8), 10, "hole left=8 is outside the allowed range"),
        ((image() * 255).to(torch.uint8), (2, 2), 10, "y must be a float tensor in"),
    ],
    ids=["k-zero", "k-negative", "k-over-cap", "wrong-size", "wrong-channels", "batch", "box-top", "box-left", "uint8"],
)
def test_bad_input_is_refused_before_any_sampling(constant_inpainter, y, box, k, message):
    with pytest.raises(ValueError, match=message):
        uncertainty_maps(constant_inpainter, y, box, k)
    assert constant_inpainter.calls == 0


def test_figure_is_written_with_and_without_truth(tiny, tmp_path):
    y = image()
    maps = uncertainty_maps(tiny, y, (3, 4), 30, return_samples=3)
    figure = uncertainty_figure(cut_hole(y[None], fixed_boxes(1, 3, 4), 4), maps, truth=y, path=tmp_path / "out" / "fig.png")
    assert (tmp_path / "out" / "fig.png").read_bytes()[:4] == b"\x89PNG"
    assert len(figure.axes) == 1 + 1 + 2 + 3 + 1  # y, truth, mean, std, 3 samples, colour bar
    titles = [axis.get_title() for axis in figure.axes]
    assert titles[:4] == ["input y", "ground truth", "mean", "std"]
    assert len(uncertainty_figure(y, maps).axes) == 7  # no truth, no file


def test_figure_shows_rgb_images(tmp_path):
    rgb = UncertaintyMaps(mean=torch.rand(3, 8, 8), std=torch.rand(3, 8, 8), samples=torch.rand(2, 3, 8, 8))
    uncertainty_figure(torch.rand(3, 8, 8), rgb, path=tmp_path / "rgb.png")
    assert (tmp_path / "rgb.png").stat().st_size > 1000
