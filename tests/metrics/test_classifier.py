"""LeNet: shapes, seeded training, accuracy, atomic save / weights-only load, and the pipeline CLI."""

import json

import pytest
import torch

from gan_core.metrics.classifier import (
    LeNet,
    accuracy,
    load_classifier,
    main,
    per_class_accuracy,
    save_classifier,
    train_classifier,
)


def test_lenet_gives_logits_and_penultimate_features():
    model = LeNet(width=4)
    x = torch.rand(3, 1, 28, 28)
    assert model(x).shape == (3, 10)
    assert model.features(x).shape == (3, 84)


def test_training_is_seeded_and_leaves_the_global_rng_alone(digits_train):
    images, labels = digits_train.images[:200], digits_train.labels[:200]
    rng_before = torch.get_rng_state()
    first = train_classifier(images, labels, epochs=1, width=2, seed=3)
    assert torch.equal(torch.get_rng_state(), rng_before)
    second = train_classifier(images, labels, epochs=1, width=2, seed=3)
    other = train_classifier(images, labels, epochs=1, width=2, seed=4)
    for key, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[key]), key
    assert not torch.equal(first.head.weight, other.head.weight)
    assert not first.training


def test_trained_classifier_reads_the_synthetic_digits(tiny_classifier, digits_test):
    assert accuracy(tiny_classifier, digits_test.images, digits_test.labels) >= 0.95
    per_class = per_class_accuracy(tiny_classifier, digits_test.images, digits_test.labels)
    assert sorted(per_class) == list(range(10))
    assert min(per_class.values()) >= 0.8


def test_accuracy_counts_wrong_labels(tiny_classifier, digits_test):
    shuffled = (digits_test.labels + 1) % 10  # every label wrong
    assert accuracy(tiny_classifier, digits_test.images, shuffled) <= 0.05


def test_save_load_round_trip_with_weights_only(tiny_classifier, tmp_path):
    path = tmp_path / "c" / "classifier.pt"
    save_classifier(tiny_classifier, path, {"test_accuracy": 0.97})
    assert [p.name for p in path.parent.iterdir()] == ["classifier.pt"]  # no temp file left behind
    payload = torch.load(path, weights_only=True)
    assert payload["metrics"] == {"test_accuracy": 0.97} and payload["width"] == 4
    loaded = load_classifier(path)
    x = torch.rand(5, 1, 28, 28)
    torch.testing.assert_close(loaded(x), tiny_classifier(x))
    assert not loaded.training


def test_load_classifier_names_missing_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_classifier(tmp_path / "nope.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt is not a classifier.*'width' and 'state_dict'"):
        load_classifier(tmp_path / "other.pt")


def test_training_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"images must be \(N, 1, 28, 28\), got shape \(4, 3, 28, 28\)"):
        train_classifier(torch.zeros(4, 3, 28, 28, dtype=torch.uint8), torch.zeros(4, dtype=torch.int64))


def test_cli_trains_and_writes_classifier_and_metrics(digits_train, digits_test, tmp_path):
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    torch.save(
        {"train_images": digits_train.images, "train_labels": digits_train.labels,
         "test_images": digits_test.images, "test_labels": digits_test.labels},
        prepared / "mnist.pt",
    )  # fmt: skip
    out = tmp_path / "outputs" / "classifier"
    assert main(["--prepared", str(prepared), "--out", str(out), "--epochs", "1"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"test_accuracy"} and 0.0 <= metrics["test_accuracy"] <= 1.0  # 5 steps: plumbing only
    reloaded = load_classifier(out / "classifier.pt")
    assert accuracy(reloaded, digits_test.images, digits_test.labels) == pytest.approx(metrics["test_accuracy"])


def test_cli_names_missing_keys_in_prepared_file(tmp_path):
    torch.save({"train_images": torch.zeros(2, 1, 28, 28, dtype=torch.uint8)}, tmp_path / "mnist.pt")
    with pytest.raises(ValueError, match=r"mnist.pt: missing keys \['train_labels', 'test_images', 'test_labels'\]"):
        main(["--prepared", str(tmp_path), "--out", str(tmp_path / "out")])
