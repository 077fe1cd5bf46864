"""Real servers in subprocesses on loopback: MLflow's scoring server per kind, and our alias-following server.

One registry and one process per server for the whole module; every process group is killed at the end.
"""

import os
import signal
import socket
import subprocess
import sys
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

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _register(exported_generators, store: Path) -> None:
    """v1 of each kind as champion; a second mnist-gan version waits as challenger for the alias test."""
    for name, (cfg, path) in exported_generators.items():
        with tracking.start_run(name, "dcgan", TrackingConfig(artifact_root="mlartifacts"), store):
            version = tracking.log_generator_model(name, path, cfg, {"fid": 10.0})
        tracking.promote(version.name, version.version)
    cfg, path = exported_generators["mnist_gan"]
    with tracking.start_run("mnist_gan", "dcgan-2", TrackingConfig(artifact_root="mlartifacts"), store):
        tracking.log_generator_model("mnist_gan", path, cfg, {"fid": 9.0})


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    # A new session: the server and its uvicorn children are killed together through the group.
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def _wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"server not ready after {READY_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


def _kill(process: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def servers(exported_generators, tmp_path_factory):
    """kind -> base URL of MLflow's scoring server for models:/<kind>@champion, plus 'follower' (ours)."""
    store = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{store / 'mlflow.db'}"
    patch = pytest.MonkeyPatch()
    patch.setenv("MLFLOW_TRACKING_URI", uri)  # the tests move aliases in this store too
    mlflow.set_tracking_uri(uri)
    _register(exported_generators, store)
    # `mlflow models serve` execs `uvicorn` from PATH: the venv's bin must be on it.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": uri, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    commands = {
        name: [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{tracking.registered_name(name)}@champion",
               "--env-manager", "local", "--host", "127.0.0.1", "-w", "1"]
        for name in exported_generators
    }
    commands["follower"] = [sys.executable, "-m", "gan_core.serving", "--model", "mnist_gan", "--poll", "0.5",
                            "--params", str(store / "no-params.yaml")]
    started = {}
    try:
        for name, command in commands.items():
            port = _free_port()
            command += ["--port" if name == "follower" else "-p", str(port)]
            log = store / f"{name}.log"
            started[name] = (_spawn(command, env, log), f"http://127.0.0.1:{port}", log)
        for name, (process, url, log) in started.items():
            _wait_ready(f"{url}/health" if name == "follower" else f"{url}/ping", process, log)
        yield {name: url for name, (_, url, _) in started.items()}
    finally:
        for process, _, _ in started.values():
            _kill(process)
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
    png = _post(servers["mnist_inpaint"], {"dataframe_records": [{"image": GRID, "top": 7, "left": 7}], "params": {"k": 2, "format": "png"}})
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
