"""gan_core.tracking against a real MLflow (SQLite) store: runs, registry aliases and the champion gate."""

import subprocess

import numpy as np
import pytest

from gan_core.config import ExperimentConfig, TrackingConfig, config_hash, flatten

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

from gan_core import tracking  # noqa: E402

TINY_GAN = ExperimentConfig(task="gan", dataset="mnist", image_size=28,
                            model={"family": "dcgan", "nz": 8, "ngf": 4, "ndf": 4})


def test_tracking_uri_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking.tracking_uri(TrackingConfig(), tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert tracking.tracking_uri(TrackingConfig(uri="http://127.0.0.1:5000"), tmp_path) == "http://127.0.0.1:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere.db")
    assert tracking.tracking_uri(TrackingConfig(uri="http://127.0.0.1:5000"), tmp_path) == "sqlite:////elsewhere.db"


def _git_project(root):
    git = ["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "data.dvc").write_text("outs:\n- md5: 0123abcd.dir\n  path: data\n")
    subprocess.run([*git, "add", "data.dvc"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


def test_run_records_params_metrics_images_files_and_tags(tmp_path, mlflow_uri):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    project = tmp_path / "project"
    project.mkdir()
    sha = _git_project(project)
    grid = np.zeros((10, 12, 3), dtype=np.uint8)
    Image.fromarray(grid).save(tmp_path / "grid.png")
    fig = plt.figure()
    with tracking.start_run("mnist_gan", "dcgan", TrackingConfig(), project) as run_id:
        tracking.log_params(flatten(TINY_GAN))
        for epoch in (1, 2):
            tracking.log_metrics({"loss_d": 1.0 / epoch, "fid": None if epoch == 1 else 9.5}, step=epoch)
            tracking.log_sample_grid(grid, step=epoch)
        tracking.log_sample_grid(tmp_path / "grid.png", key="from_file", step=2)
        tracking.log_figure(fig, "plots/uncertainty.png")
        tracking.log_file(tmp_path / "grid.png", "raw")
        tags = tracking.set_run_tags(project, config_hash(TINY_GAN), ray_workers=2, device="cpu")
    plt.close(fig)

    client = MlflowClient()
    run = client.get_run(run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "mnist-gan" and run.info.run_name == "dcgan"
    assert experiment.artifact_location == (project / "mlartifacts").resolve().as_uri()
    assert run.data.params["model.nz"] == "8" and run.data.params["train.betas"] == "[0.5, 0.999]"
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "loss_d")] == [(1, 1.0), (2, 0.5)]
    assert [m.step for m in client.get_metric_history(run_id, "fid")] == [2]  # None is not logged
    assert tags == {"git.sha": sha, "git.dirty": "false", "data.md5": "0123abcd.dir",
                    "params.hash": config_hash(TINY_GAN), "ray.workers": "2", "device": "cpu"}
    assert {key: run.data.tags[key] for key in tags} == tags
    artifacts = {item.path for item in client.list_artifacts(run_id)}
    assert {"images", "plots", "raw"} <= artifacts
    images = [item.path for item in client.list_artifacts(run_id, "images")]
    assert any(path.startswith("images/samples+step+2+") for path in images), images
    assert any(path.startswith("images/from_file+step+2+") for path in images)


def test_provenance_without_git_or_dvc_says_unknown(tmp_path):
    tags = tracking.provenance_tags(tmp_path, "abc", 1, "cpu")
    assert tags["data.md5"] == "unknown"
    assert tags["git.sha"] in ("unknown",) or len(tags["git.sha"]) == 40  # tmp may sit inside some repo


def test_log_generator_model_registers_a_challenger(tmp_path, mlflow_uri):
    import torch

    from gan_core.checkpoint import export_generator
    from gan_core.models import build_generator

    torch.manual_seed(0)
    exported = export_generator(tmp_path / "generator.pt", "mnist_gan", TINY_GAN, build_generator(TINY_GAN))
    with pytest.raises(RuntimeError, match="active run"):
        tracking.log_generator_model("mnist_gan", exported, TINY_GAN, {"fid": 12.5})
    with tracking.start_run("mnist_gan", "dcgan", TrackingConfig(artifact_root="arts"), tmp_path):
        first = tracking.log_generator_model("mnist_gan", exported, TINY_GAN, {"fid": 12.5})
        second = tracking.log_generator_model("mnist_gan", exported, TINY_GAN, {"fid": 11.0})
    client = MlflowClient()
    assert (first.name, first.version, second.version) == ("mnist-gan", 1, 2)
    assert first.tags["metric.fid"] == "12.5" and first.tags["task"] == "gan"
    assert client.get_model_version_by_alias("mnist-gan", "challenger").version == 2  # the newest
    model = mlflow.pyfunc.load_model("models:/mnist-gan@challenger")
    assert [p.name for p in model.metadata.get_params_schema().params] == ["n", "seed", "format"]
    images = model.predict([], params={"n": 3, "seed": 1})["images"]
    assert images.shape == (3, 1, 28, 28) and 0 <= images.min() and images.max() <= 1


def _versions(client, name, metric_values):
    """Registered versions carrying the given metric tags (no run: the gate reads version tags first)."""
    client.create_registered_model(name)
    for values in metric_values:
        tags = {f"metric.{key}": repr(value) for key, value in values.items()}
        client.create_model_version(name, source="file:///nowhere", tags=tags)


def _champion(client, name):
    return int(client.get_model_version_by_alias(name, "champion").version)


def test_gate_min_promotes_only_a_lower_metric(mlflow_uri):
    client = MlflowClient()
    _versions(client, "mnist-gan", [{"fid": 15.1}, {"fid": 20.0}, {"fid": 12.3}, {"fid": 12.3}])
    first = tracking.promote_if_better("mnist-gan", 1, "fid", "min")
    assert first.promoted and "no champion" in first.reason and _champion(client, "mnist-gan") == 1
    worse = tracking.promote_if_better("mnist-gan", 2, "fid", "min")
    assert not worse.promoted and _champion(client, "mnist-gan") == 1
    assert worse.reason == "not promoted: fid 20 >= champion v1 15.1"
    better = tracking.promote_if_better("mnist-gan", 3, "fid", "min")
    assert better.promoted and better.reason == "fid 12.3 < champion v1 15.1" and _champion(client, "mnist-gan") == 3
    tie = tracking.promote_if_better("mnist-gan", 4, "fid", "min")
    assert not tie.promoted and _champion(client, "mnist-gan") == 3
    assert client.get_model_version("mnist-gan", "3").tags["promotion"] == better.reason
    assert client.get_model_version("mnist-gan", "2").tags["promotion"] == worse.reason


def test_gate_max_promotes_only_a_higher_metric(mlflow_uri):
    client = MlflowClient()
    _versions(client, "mnist-cgan", [{"accuracy": 0.8}, {"accuracy": 0.7}, {"accuracy": 0.9}])
    assert tracking.promote_if_better("mnist-cgan", 1, "accuracy", "max").promoted
    assert not tracking.promote_if_better("mnist-cgan", 2, "accuracy", "max").promoted
    decision = tracking.promote_if_better("mnist-cgan", 3, "accuracy", "max")
    assert decision == tracking.Decision(True, "accuracy 0.9 > champion v1 0.8")
    assert _champion(client, "mnist-cgan") == 3
    assert tracking.champions(mlflow_uri) == {"mnist-cgan": tracking.Champion(3, "accuracy", 0.9)}


def test_gate_refuses_a_missing_or_nan_metric(mlflow_uri):
    client = MlflowClient()
    _versions(client, "mnist-gan", [{"loss": 1.0}, {"fid": float("nan")}, {"fid": 3.0}])
    missing = tracking.promote_if_better("mnist-gan", 1, "fid", "min")
    assert not missing.promoted and "has no fid" in missing.reason
    assert not tracking.promote_if_better("mnist-gan", 2, "fid", "min").promoted
    assert tracking.champions(mlflow_uri) == {}
    tracking.promote("mnist-gan", 1)  # a champion without the metric blocks the gate: a person decided
    blocked = tracking.promote_if_better("mnist-gan", 3, "fid", "min")
    assert not blocked.promoted and "champion v1 has no fid" in blocked.reason and _champion(client, "mnist-gan") == 1
    with pytest.raises(ValueError, match="direction"):
        tracking.promote_if_better("mnist-gan", 3, "fid", "lower")


def test_gate_falls_back_to_the_run_metric(tmp_path, mlflow_uri):
    client = MlflowClient()
    with tracking.start_run("mnist_gan", "dcgan", TrackingConfig(), tmp_path) as run_id:
        tracking.log_metrics({"fid": 30.0}, step=1)
        tracking.log_metrics({"fid": 7.0}, step=2)
    client.create_registered_model("mnist-gan")
    client.create_model_version("mnist-gan", source="file:///nowhere", run_id=run_id)
    assert tracking.promote_if_better("mnist-gan", 1, "fid", "min").reason == "fid 7, no champion before"


def test_cli_promotes_by_experiment_name_and_lists_champions(tmp_path, mlflow_uri, capsys):
    client = MlflowClient()
    _versions(client, "mnist-cgan", [{"fid": 5.0}, {"fid": 9.0}])
    tracking.promote_if_better("mnist-cgan", 1, "fid", "min")
    params = tmp_path / "absent.yaml"  # no params file: the env URI (the test store) is used
    assert tracking.main(["--params", str(params), "promote", "mnist_cgan", "2"]) == 0
    assert _champion(client, "mnist-cgan") == 2
    assert client.get_model_version("mnist-cgan", "2").tags["promotion"] == "manual promotion"
    assert tracking.main(["--params", str(params), "champions"]) == 0
    assert tracking.main(["--params", str(params), "promote", "mnist-cgan", "7"]) == 1
    out, err = capsys.readouterr()
    assert "mnist-cgan v2: manual promotion" in out and "mnist-cgan: v2 (manual)" in out
    assert "error:" in err and "7" in err
