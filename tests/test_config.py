"""params.yaml validation: every rejection names the key path, the bad value and what is allowed."""

from __future__ import annotations

import pytest
import yaml

from gan_core.config import EXPERIMENTS, ConfigError, apply_overrides, config_hash, flatten, load_params


def test_project_params_are_valid():
    params = load_params()
    for name in EXPERIMENTS:
        cfg = params.experiment(name)
        assert cfg.channels == {"mnist": 1, "celeba": 3, "sic": 1}[cfg.dataset]
    assert params.sic_inpaint.hole_box() == (8, 8, 18)  # the thesis geometry: rows/cols 8:26


@pytest.mark.parametrize(
    "override,expected",
    [
        ("mnist_gan.train.batch_size=0", r"mnist_gan\.train\.batch_size: got 0: .*greater than or equal to 1"),
        ("mnist_gan.train.lr_d=-0.001", r"mnist_gan\.train\.lr_d: got -0\.001: .*greater than 0"),
        ("mnist_gan.train.epochs=three", r"mnist_gan\.train\.epochs: got 'three': .*integer"),
        ("mnist_gan.train.epochz=3", r"mnist_gan\.train\.epochz: got 3: unknown key"),
        ("mnist_gan.model.family=stylegan", r"mnist_gan\.model\.family: got 'stylegan': .*'dcgan' or 'thesis'"),
        ("mnist_inpaint.hole.size=27", r"mnist_inpaint\.hole\.size: got 27, .*at most 26 px"),
        ("mnist_inpaint.hole.top=20", r"mnist_inpaint\.hole\.top: got 20, must be 1\.\.13"),
        ("mnist_inpaint.hole.top=0", r"mnist_inpaint\.hole\.top: got 0, must be 1\.\.13"),
        ("celeba32_gan.image_size=48", r"celeba32_gan\.image_size: got 48, CelebA is prepared at 32 or 64 px"),
        ("celeba64_gan.model.family=thesis", r"celeba64_gan\.image_size: got 64, model\.family 'thesis' .*supports \[28, 32\]"),
        ("sic_inpaint.hole.size=14", r"sic_inpaint\.hole\.size: got 14, the thesis inpainting nets fill an 18 px hole"),
        ("mnist_gan.task=inpaint", r"mnist_gan\.hole: inpainting experiments need a hole block"),
        ("celeba32_gan.task=cgan", r"celeba32_gan\.task 'cgan' needs labelled data"),
        ("ray.num_workers=0", r"ray\.num_workers: got 0"),
        ("tracking.url=x", r"tracking\.url: got 'x': unknown key"),
    ],
)
def test_bad_values_name_key_value_and_rule(override, expected):
    with pytest.raises(ConfigError, match=expected):
        load_params(overrides=[override])


def test_all_problems_are_reported_in_one_message():
    with pytest.raises(ConfigError) as info:
        load_params(overrides=["mnist_gan.train.batch_size=0", "mnist_cgan.train.lr_g=0"])
    assert "mnist_gan.train.batch_size" in str(info.value) and "mnist_cgan.train.lr_g" in str(info.value)


def test_overrides_are_typed_and_validated_like_the_file():
    params = load_params(overrides=["mnist_gan.train.epochs=3", "mnist_gan.train.betas=[0.0, 0.9]"])
    assert params.mnist_gan.train.epochs == 3 and params.mnist_gan.train.betas == (0.0, 0.9)
    with pytest.raises(ConfigError, match="expected key.path=value"):
        load_params(overrides=["mnist_gan.train.epochs"])
    with pytest.raises(ConfigError, match="is a value, not a block"):
        apply_overrides({"a": 1}, ["a.b=2"])


def test_missing_experiment_block_and_bad_yaml(tmp_path, params_path):
    raw = yaml.safe_load(params_path.read_text())
    del raw["sic_inpaint"]
    params_path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="sic_inpaint: required key is missing"):
        load_params(params_path)
    params_path.write_text("mnist_gan: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(params_path)
    with pytest.raises(ConfigError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="unknown experiment 'mnist'"):
        load_params().experiment("mnist")


def test_hash_and_flatten_are_stable():
    a, b = load_params(), load_params(overrides=["mnist_gan.train.epochs=9"])
    assert config_hash(a.mnist_cgan) == config_hash(b.mnist_cgan)
    assert config_hash(a.mnist_gan) != config_hash(b.mnist_gan)
    flat = flatten(a.mnist_gan)
    assert flat["train.batch_size"] == a.mnist_gan.train.batch_size and flat["model.family"] == "dcgan"
