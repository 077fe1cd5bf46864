"""The alias-following app in-process (no sockets): version swaps, readiness and refusals."""

import pytest

mlflow = pytest.importorskip("mlflow")
from fastapi.testclient import TestClient  # noqa: E402

from gan_core import tracking  # noqa: E402
from gan_core.config import TrackingConfig  # noqa: E402
from gan_core.serving.server import AliasFollower, create_app  # noqa: E402


@pytest.fixture(scope="module")
def store(tmp_path_factory, exported_generators):
    """A store with two mnist-gan versions, built once for the module."""
    folder = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        cfg, path = exported_generators["mnist_gan"]
        with tracking.start_run("mnist_gan", "dcgan", TrackingConfig(), folder):
            tracking.log_generator_model("mnist_gan", path, cfg, {"fid": 2.0})
            tracking.log_generator_model("mnist_gan", path, cfg, {"fid": 1.0})
    return uri


@pytest.fixture
def registry(store, monkeypatch):
    """The module's store with v1 as champion again."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    mlflow.set_tracking_uri(store)
    tracking.promote("mnist-gan", 1)
    return store


def test_refresh_swaps_only_when_the_alias_moves(registry):
    follower = AliasFollower("mnist-gan", "champion", tracking_uri=registry)
    assert follower.refresh() and follower.current.version == "1"
    assert not follower.refresh()
    tracking.promote("mnist-gan", 2)
    assert follower.refresh() and follower.current.version == "2"
    with pytest.raises(RuntimeError, match="mnist-gan@nobody does not resolve.*gan_core.tracking promote"):
        AliasFollower("mnist-gan", "nobody", tracking_uri=registry).refresh()


def test_app_reports_its_version_and_limits_the_body(registry):
    follower = AliasFollower("mnist-gan", "champion", tracking_uri=registry)
    client = TestClient(create_app(follower, max_body_bytes=1000))
    assert client.get("/health").status_code == 503 and client.get("/ping").status_code == 503
    assert client.post("/invocations", json={"inputs": []}).status_code == 503
    follower.refresh()
    answer = client.post("/invocations", json={"inputs": [], "params": {"n": 2}})
    assert answer.status_code == 200 and answer.headers["X-Model-Version"] == "1"
    assert answer.json()["model_version"] == "1" and len(answer.json()["predictions"]["images"]) == 2
    too_big = client.post("/invocations", content=b"[" + b"0," * 600 + b"0]", headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413 and "1000 byte limit" in too_big.json()["message"]
    assert client.get("/version").json() == {"model": "mnist-gan", "alias": "champion", "model_version": "1"}
