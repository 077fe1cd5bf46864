"""MNIST IDX parsing: values round-trip, and every malformed file is a DataError naming it."""

import gzip
import struct

import numpy as np
import pytest
import torch
from data_builders import write_idx

from gan_core.data.errors import DataError
from gan_core.data.mnist import IMAGES_MAGIC, LABELS_MAGIC, MNIST_FILES, load_mnist


@pytest.mark.parametrize("split", ["train", "test"])
def test_images_and_labels_round_trip(mnist_root, split):
    root, written = mnist_root
    images, labels = load_mnist(root, split)
    expected_images, expected_labels = written[split]
    assert images.dtype == torch.uint8 and images.shape == (len(expected_images), 1, 28, 28)
    assert labels.dtype == torch.int64 and labels.shape == (len(expected_labels),)
    # pixel for pixel, so a transposed or reshaped image fails
    assert np.array_equal(images[:, 0].numpy(), expected_images)
    assert np.array_equal(labels.numpy(), expected_labels)


def test_unknown_split_is_rejected(mnist_root):
    with pytest.raises(ValueError, match="'valid'.*'train' or 'test'"):
        load_mnist(mnist_root[0], "valid")


def raw(root, split, kind):
    return root / "MNIST" / "raw" / MNIST_FILES[split][kind == "labels"]


def test_missing_file_names_it_and_the_fix(tmp_path):
    with pytest.raises(DataError, match=r"MNIST file missing: .*train-images-idx3-ubyte\.gz.*gan_core\.data\.fetch"):
        load_mnist(tmp_path, "train")


def test_truncated_gzip(mnist_root):
    root, _ = mnist_root
    path = raw(root, "train", "images")
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: truncated or corrupt gzip"):
        load_mnist(root, "train")


def test_wrong_magic_number(mnist_root):
    root, _ = mnist_root
    write_idx(raw(root, "test", "images"), LABELS_MAGIC, np.zeros(5, np.uint8))  # a labels file in its place
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: IDX magic number is 0x00000801, expected 0x00000803"):
        load_mnist(root, "test")


def test_image_and_label_counts_must_match(mnist_root):
    root, _ = mnist_root
    write_idx(raw(root, "test", "labels"), LABELS_MAGIC, np.zeros(4, np.uint8))
    with pytest.raises(DataError, match=r"has 5 images but .*t10k-labels-idx1-ubyte\.gz has 4 labels"):
        load_mnist(root, "test")


def test_header_promising_more_data_than_the_file_holds(mnist_root):
    root, _ = mnist_root
    path = raw(root, "test", "images")
    data = struct.pack(">IIII", IMAGES_MAGIC, 5, 28, 28) + bytes(28 * 28 * 4)  # 4 images' worth
    path.write_bytes(gzip.compress(data))
    with pytest.raises(DataError, match=r"t10k-images.*header promises \(5, 28, 28\) values"):
        load_mnist(root, "test")


def test_wrong_image_size(mnist_root):
    root, _ = mnist_root
    write_idx(raw(root, "test", "images"), IMAGES_MAGIC, np.zeros((5, 32, 32), np.uint8))
    with pytest.raises(DataError, match=r"images are \(32, 32\) px, expected \(28, 28\)"):
        load_mnist(root, "test")


def test_label_out_of_range(mnist_root):
    root, _ = mnist_root
    write_idx(raw(root, "test", "labels"), LABELS_MAGIC, np.array([0, 1, 2, 3, 12], np.uint8))
    with pytest.raises(DataError, match=r"t10k-labels.*label 12 found, digits are 0\.\.9"):
        load_mnist(root, "test")
