"""Real servers in subprocesses on loopback: MLflow's scoring server per kind, and our alias-following server.

One registry and one process per server for the whole module; every process group is killed at the end.
"""

import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

httpx = pytest.importorskip("httpx")
mlflow = pytest.importorskip("mlflow")

from gan_core import tracking  # noqa: E402
from gan_core.config import TrackingConfig  # noqa: E402
from gan_core.serving import launch  # noqa: E402


def _register(exported_generators, store: Path) -> None:
    """v1 of each kind as champion; a second mnist-gan version waits as challenger for the alias test."""
    for name, (cfg, path) in exported_generators.items():
        with tracking.start_run(name, "dcgan", TrackingConfig(artifact_root="mlartifacts"), store):
            version = tracking.log_generator_model(name, path, cfg, {"fid": 10.0})
        tracking.promote(version.name, version.version)
    cfg, path = exported_generators["mnist_gan"]
    with tracking.start_run("mnist_gan", "dcgan-2", TrackingConfig(artifact_root="mlartifacts"), store):
        tracking.log_generator_model("mnist_gan", path, cfg, {"fid": 9.0})


@pytest.fixture(scope="module")
def servers(exported_generators, tmp_path_factory):
    """kind -> base URL of MLflow's scoring server for models:/<kind>@champion, plus 'follower' (ours)."""
    store = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{store / 'mlflow.db'}"
    patch = pytest.MonkeyPatch()
    patch.setenv("MLFLOW_TRACKING_URI", uri)  # the tests move aliases in this store too
    mlflow.set_tracking_uri(uri)
    _register(exported_generators, store)
    env = {**launch.server_env(uri), "OMP_NUM_THREADS": "1"}
    ports = {name: launch.free_port() for name in [*exported_generators, "follower"]}
    commands = {name: launch.mlflow_serve_command(f"models:/{tracking.registered_name(name)}@champion", ports[name])
                for name in exported_generators}
    commands["follower"] = launch.follower_command("mnist_gan", ports["follower"], poll_seconds=0.5,
                                                   params=str(store / "no-params.yaml"))
    started = {}
    try:  # all four boot at once, then each is awaited
        for name, command in commands.items():
            log = store / f"{name}.log"
            started[name] = (launch.spawn(command, env, log), f"http://127.0.0.1:{ports[name]}", log)
        for process, url, log in started.values():
            launch.wait_ready(process, f"{url}/ping", log)  # both servers answer /ping once the model is loaded
        yield {name: url for name, (_, url, _) in started.items()}
    finally:
        for process, _, _ in started.values():
            launch.stop(process)
        patch.undo()


def _post(url: str, body, **kwargs) -> httpx.Response:
    if isinstance(body, (bytes, str)):
        return httpx.post(f"{url}/invocations", content=body, headers={"Content-Type": "application/json"}, timeout=30, **kwargs)
    return httpx.post(f"{url}/invocations", json=body, timeout=30, **kwargs)


GRID = np.full((28, 28), 0.5).round(2).tolist()


def test_mlflow_scoring_server_answers_each_kind(servers):
    gan = _post(servers["mnist_gan"], {"inputs": [], "params": {"n": 3, "seed": 1}})
    assert gan.status_code == 200, gan.text
    images = np.asarray(gan.json()["predictions"]["images"])
    assert images.shape == (3, 1, 28, 28) and 0 <= images.min() and images.max() <= 1

    cgan = _post(servers["mnist_cgan"], {"dataframe_records": [{"label": 7}, {"label": 0}], "params": {"seed": 2}})
    assert cgan.status_code == 200, cgan.text
    assert np.asarray(cgan.json()["predictions"]["images"]).shape == (2, 1, 28, 28)
    assert cgan.json()["predictions"]["labels"] == [7, 0]
    assert _post(servers["mnist_cgan"], {"inputs": {"label": [1, 2, 3]}}).status_code == 200

    inpaint = _post(servers["mnist_inpaint"], {"inputs": [{"image": GRID, "top": 7, "left": 7}], "params": {"k": 5}})
    assert inpaint.status_code == 200, inpaint.text
    predictions = {key: np.asarray(value) for key, value in inpaint.json()["predictions"].items()}
    assert predictions["inpainted"].shape == (1, 1, 28, 28) and predictions["std"].shape == (1, 1, 28, 28)
    assert predictions["samples"].shape == (1, 4, 1, 28, 28)
    assert 0 <= predictions["inpainted"].min() and predictions["inpainted"].max() <= 1
    records = [{"image": GRID, "top": 7, "left": 7}]
    png = _post(servers["mnist_inpaint"], {"dataframe_records": records, "params": {"k": 2, "format": "png"}})
    assert png.status_code == 200 and isinstance(png.json()["predictions"]["inpainted"][0], str)


MLFLOW_BAD_REQUESTS = [
    ("mnist_gan", {"inputs": [], "params": {"n": 500}}, "params.n: got 500"),
    ("mnist_gan", {"inputs": [], "params": {"n": "many"}}, "n"),
    ("mnist_gan", {"params": {"n": 2}}, "inputs"),
    ("mnist_cgan", {"inputs": {"label": [12]}}, "labels must be integers 0..9"),
    ("mnist_cgan", {"inputs": {"digit": [1]}}, "label"),
    ("mnist_inpaint", {"inputs": [{"image": GRID, "top": 20, "left": 7}]}, "top=20 is outside"),
    ("mnist_inpaint", {"inputs": [{"image": GRID[:20], "top": 7, "left": 7}]}, "got shape [1, 20, 28]"),
    ("mnist_inpaint", {"inputs": [{"image": GRID, "top": 7, "left": 7}], "params": {"k": 1000}}, "params.k: got 1000"),
    ("mnist_inpaint", "{not json", ""),
]


@pytest.mark.parametrize(("kind", "body", "message"), MLFLOW_BAD_REQUESTS)
def test_mlflow_scoring_server_answers_bad_requests_with_400(servers, kind, body, message):
    response = _post(servers[kind], body)
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]


FOLLOWER_BAD_REQUESTS = [
    ("{not json", 400, "not valid JSON"),
    ("[1, 2]", 400, "JSON object"),
    ({"params": {"n": 2}}, 400, "expected exactly one of"),
    ({"inputs": [], "dataframe_records": []}, 400, "expected exactly one of"),
    ({"inputs": [], "extra": 1}, 400, "expected exactly one of"),
    ({"inputs": [], "params": {"n": 2, "temperature": 1}}, 400, "params: unexpected ['temperature']"),
    ({"inputs": [], "params": [2]}, 400, "params: expected an object"),
    ({"inputs": [], "params": {"n": "x"}}, 400, "n"),
    ({"inputs": [], "params": {"n": 65}}, 400, "params.n: got 65, allowed 1..64"),
    ({"inputs": [], "params": {"format": "gif"}}, 400, "params.format"),
    ({"inputs": [{"label": 3}]}, 400, "takes no inputs"),
    ({"dataframe_split": {"columns": "x"}}, 400, ""),
]


@pytest.mark.parametrize(("body", "status", "message"), FOLLOWER_BAD_REQUESTS)
def test_follower_answers_bad_requests_with_4xx_and_keeps_serving(servers, body, status, message):
    response = _post(servers["follower"], body)
    assert response.status_code == status, response.text
    assert message in response.json()["message"]
    assert _post(servers["follower"], {"inputs": [], "params": {"n": 1}}).status_code == 200


def test_follower_refuses_oversized_and_non_json_bodies(servers):
    url = servers["follower"]
    huge = b'{"inputs": [' + b"0," * (4_500_000) + b"0]}"  # 9 MB
    response = _post(url, huge)
    assert response.status_code == 413 and "limit" in response.json()["message"]
    assert httpx.post(f"{url}/invocations", content=b"n=2", headers={"Content-Type": "text/csv"}).status_code == 415
    assert _post(url, {"inputs": [], "params": {"n": 1}}).status_code == 200


def test_follower_switches_version_when_the_alias_moves_without_failing_a_request(servers):
    url = servers["follower"]
    assert httpx.get(f"{url}/version").json() == {"model": "mnist-gan", "alias": "champion", "model_version": "1"}
    assert httpx.get(f"{url}/health").json()["status"] == "ok"
    seen, failures, stop = [], [], threading.Event()

    def client() -> None:  # bounded: at most 60 s of requests on loopback
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            response = _post(url, {"inputs": [], "params": {"n": 2, "seed": 0}})
            if response.status_code != 200:
                failures.append(response.text)
                continue
            body = response.json()
            if response.headers["X-Model-Version"] != body["model_version"]:
                failures.append(f"header {response.headers['X-Model-Version']} != body {body['model_version']}")
            if np.asarray(body["predictions"]["images"]).shape != (2, 1, 28, 28):
                failures.append("wrong image shape")
            seen.append(body["model_version"])

    thread = threading.Thread(target=client)
    thread.start()
    try:
        while len(seen) < 3 and thread.is_alive():
            time.sleep(0.05)
        moved = time.monotonic()
        tracking.promote("mnist-gan", 2)
        while "2" not in seen[-1:] and time.monotonic() - moved < 30:
            time.sleep(0.1)
        switched_after = time.monotonic() - moved
        count = len(seen)
        while len(seen) < count + 3 and thread.is_alive():
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=40)
    assert not failures
    assert seen[0] == "1" and seen[-1] == "2" and switched_after < 30
    assert seen == sorted(seen)  # once switched, never back
    assert httpx.get(f"{url}/version").json()["model_version"] == "2"
