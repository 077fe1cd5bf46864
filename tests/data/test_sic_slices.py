"""SiC slices: grey decoding, natural order, bad files, and the seeded patch sampler."""

import numpy as np
import pytest
import torch
from data_builders import write_png, write_slices
from PIL import Image

from gan_core.data.errors import DataError
from gan_core.data.sic import load_slices, sample_patches


def test_rgb_stored_grey_slices_come_back_as_one_channel_in_natural_order(tmp_path):
    written = write_slices(tmp_path, ["slice202", "slice24", "slice7"], shape=(30, 40))
    slices = load_slices(tmp_path)
    assert [name for name, _ in slices] == ["slice7", "slice24", "slice202"]
    for name, image in slices:
        assert image.dtype == torch.uint8 and image.shape == (30, 40)
        assert np.array_equal(image.numpy(), written[name])


def test_l_mode_png_is_read_as_is(tmp_path):
    grey = np.arange(12 * 16, dtype=np.uint8).reshape(12, 16)
    write_png(tmp_path / "s.png", grey, as_rgb=False)
    assert np.array_equal(load_slices(tmp_path)[0][1].numpy(), grey)


def test_colour_png_is_rejected(tmp_path):
    Image.fromarray(np.full((8, 8, 3), (10, 200, 30), np.uint8)).save(tmp_path / "slice1.png")
    with pytest.raises(DataError, match=r"slice1\.png: colour image, expected a grey CT slice"):
        load_slices(tmp_path)


def test_16_bit_png_is_rejected(tmp_path):
    Image.fromarray(np.full((8, 8), 40000, np.uint16)).save(tmp_path / "slice1.png")
    with pytest.raises(DataError, match=r"slice1\.png: PNG mode 'I;16' is not 8-bit"):
        load_slices(tmp_path)


def test_corrupt_png_names_the_file(tmp_path):
    write_slices(tmp_path, ["slice1", "slice2"])
    bad = tmp_path / "slice2.png"
    bad.write_bytes(bad.read_bytes()[:60])
    with pytest.raises(DataError, match=r"slice2\.png: cannot decode PNG"):
        load_slices(tmp_path)


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(DataError, match=r"no PNG slices in"):
        load_slices(tmp_path)
    with pytest.raises(DataError, match=r"SiC slice folder not found: .*absent"):
        load_slices(tmp_path / "absent")


def slices_of(shapes):
    generator = torch.Generator().manual_seed(5)
    return [(f"s{i}", torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)) for i, shape in enumerate(shapes)]


def test_patches_shape_dtype_and_seed_determinism(no_global_rng_use):
    slices = slices_of([(20, 30), (25, 18)])
    first = sample_patches(slices, 8, 50, seed=3)
    assert first.dtype == torch.uint8 and first.shape == (50, 1, 8, 8)
    assert torch.equal(first, sample_patches(slices, 8, 50, seed=3))
    assert not torch.equal(first, sample_patches(slices, 8, 50, seed=4))


def test_every_patch_is_a_window_of_a_slice_and_both_slices_are_used():
    slices = slices_of([(12, 14), (10, 11)])
    windows = [
        [image[r : r + 5, c : c + 5] for r in range(image.shape[0] - 4) for c in range(image.shape[1] - 4)]
        for _, image in slices
    ]
    sources = set()
    for patch in sample_patches(slices, 5, 40, seed=0):
        found = [i for i, candidates in enumerate(windows) if any(torch.equal(patch[0], w) for w in candidates)]
        assert found, "patch is not a window of any slice"
        sources.update(found)
    assert sources == {0, 1}


def test_slice_exactly_the_patch_size_is_returned_whole():
    slices = slices_of([(6, 6)])
    patches = sample_patches(slices, 6, 3, seed=0)
    assert all(torch.equal(p[0], slices[0][1]) for p in patches)


def test_slice_smaller_than_the_patch_names_the_slice():
    slices = [("slice7", torch.zeros(40, 40, dtype=torch.uint8)), ("slice24", torch.zeros(40, 20, dtype=torch.uint8))]
    with pytest.raises(DataError, match=r"slice slice24: \(40, 20\) px is smaller than the 28 px patch"):
        sample_patches(slices, 28, 10, seed=0)


def test_no_slices():
    with pytest.raises(DataError, match="no slices"):
        sample_patches([], 8, 10, seed=0)
