"""CelebA folders: geometry (crop, resize, CHW), splits, the decode cache and bad folders."""

import pytest
import torch
from data_builders import face, write_faces, write_jpeg

from gan_core.data import celeba
from gan_core.data.celeba import TEST, TRAIN, load_celeba
from gan_core.data.errors import DataError

TOLERANCE = 12  # JPEG is lossy


def torchvision_layout(tmp_path, names_and_parts):
    images = tmp_path / "celeba" / "img_align_celeba"
    for name, _ in names_and_parts:
        write_jpeg(images / name, face((50, 50, 50)))
    lines = "".join(f"{name} {part}\n" for name, part in names_and_parts) + "999999.jpg 0\n"  # unlisted extras are fine
    (tmp_path / "celeba" / "list_eval_partition.txt").write_text(lines)
    return tmp_path


@pytest.mark.parametrize("size", [32, 64])
def test_shapes_dtype_names_and_official_split(tmp_path, size):
    root = torchvision_layout(tmp_path, [("000003.jpg", 2), ("000001.jpg", 0), ("000002.jpg", 1), ("000004.jpg", 0)])
    faces = load_celeba(root, size, tmp_path / "cache")
    assert faces.images.dtype == torch.uint8 and faces.images.shape == (4, 3, size, size)
    assert faces.names == ["000001.jpg", "000002.jpg", "000003.jpg", "000004.jpg"]
    assert faces.split.tolist() == [TRAIN, TEST, TEST, TRAIN]  # partitions 1 and 2 are both test
    assert faces.train_images.shape[0] == 2 and faces.test_images.shape[0] == 2


def test_each_colour_lands_in_its_own_channel(tmp_path):
    write_jpeg(tmp_path / "faces" / "a.jpg", face((220, 120, 20)))
    image = load_celeba(tmp_path / "faces", 32, tmp_path / "cache").images[0].int()  # (3, 32, 32)
    for channel, value in enumerate((220, 120, 20)):
        assert (image[channel] - value).abs().max() <= TOLERANCE, f"channel {channel}"


def test_layout_is_not_transposed_or_flipped(tmp_path):
    pixels = face((0, 0, 0))
    pixels[20:109, 89:, :] = 255  # top-right quadrant of the central 178x178 crop (rows 20..197)
    write_jpeg(tmp_path / "faces" / "a.jpg", pixels)
    image = load_celeba(tmp_path / "faces", 32, tmp_path / "cache").images[0].int()
    assert image[:, 2:14, 18:30].min() >= 255 - TOLERANCE  # top right: bright
    assert image[:, 18:, :].max() <= TOLERANCE  # bottom half: dark
    assert image[:, :, :14].max() <= TOLERANCE  # left half: dark


def test_centre_crop_drops_the_top_and_bottom_20_rows(tmp_path):
    pixels = face((0, 0, 0))
    pixels[:20] = pixels[-20:] = 255  # only outside the 178x178 centre square
    write_jpeg(tmp_path / "faces" / "a.jpg", pixels)
    image = load_celeba(tmp_path / "faces", 64, tmp_path / "cache").images[0]
    assert image.max() <= TOLERANCE


def test_plain_folder_gets_a_deterministic_90_10_split_by_name(tmp_path):
    names = write_faces(tmp_path / "faces", 20)
    faces = load_celeba(tmp_path / "faces", 32, tmp_path / "cache")
    test_names = [n for n, s in zip(faces.names, faces.split.tolist()) if s == TEST]
    assert test_names == [names[9], names[19]]


def test_second_load_reads_the_cache_and_never_decodes(tmp_path, monkeypatch):
    write_faces(tmp_path / "faces", 3)
    first = load_celeba(tmp_path / "faces", 32, tmp_path / "cache")

    def no_decoding(*args):
        raise AssertionError("decoded although a cache exists")

    monkeypatch.setattr(celeba, "decode_face", no_decoding)
    second = load_celeba(tmp_path / "faces", 32, tmp_path / "cache")
    assert torch.equal(first.images, second.images) and first.names == second.names
    with pytest.raises(AssertionError, match="decoded"):  # another size is another cache
        load_celeba(tmp_path / "faces", 64, tmp_path / "cache")


def test_changed_file_list_invalidates_the_cache(tmp_path):
    write_faces(tmp_path / "faces", 3)
    load_celeba(tmp_path / "faces", 32, tmp_path / "cache")
    write_jpeg(tmp_path / "faces" / "000002.jpg", face((255, 255, 255)))  # edited in place
    faces = load_celeba(tmp_path / "faces", 32, tmp_path / "cache")
    assert faces.images[1].min() >= 255 - TOLERANCE
    assert len(list((tmp_path / "cache").glob("celeba32-*.pt"))) == 2


def test_corrupt_jpeg_names_the_file_and_writes_no_cache(tmp_path):
    write_faces(tmp_path / "faces", 2)
    bad = tmp_path / "faces" / "000002.jpg"
    bad.write_bytes(bad.read_bytes()[: len(bad.read_bytes()) // 2])
    with pytest.raises(DataError, match=r"000002\.jpg: cannot decode image"):
        load_celeba(tmp_path / "faces", 32, tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_empty_folder(tmp_path):
    (tmp_path / "celeba" / "img_align_celeba").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no images .* in .*img_align_celeba"):
        load_celeba(tmp_path, 32, tmp_path / "cache")


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match=r"CelebA folder not found: .*nowhere"):
        load_celeba(tmp_path / "nowhere", 32, tmp_path / "cache")


def test_image_missing_from_the_partition_list(tmp_path):
    root = torchvision_layout(tmp_path, [("000001.jpg", 0)])
    write_jpeg(root / "celeba" / "img_align_celeba" / "extra.jpg", face())
    with pytest.raises(DataError, match=r"list_eval_partition\.txt: 1 images are not listed, e\.g\. extra\.jpg"):
        load_celeba(root, 32, tmp_path / "cache")


def test_malformed_partition_line(tmp_path):
    root = torchvision_layout(tmp_path, [("000001.jpg", 0)])
    (root / "celeba" / "list_eval_partition.txt").write_text("000001.jpg train\n")
    with pytest.raises(DataError, match=r"list_eval_partition\.txt:1: expected '<image> <0\|1\|2>'"):
        load_celeba(root, 32, tmp_path / "cache")


def test_unsupported_size(tmp_path):
    write_faces(tmp_path / "faces", 1)
    with pytest.raises(ValueError, match=r"got 48, expected one of \(32, 64\)"):
        load_celeba(tmp_path / "faces", 48, tmp_path / "cache")
