"""Run a model server as a subprocess for tests and benchmarks, and always take all of it down.

Servers are started in their own session (MLflow's scoring server execs uvicorn children), so the whole
process group is signalled at the end; readiness is an HTTP 200 from a URL, with a deadline.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """An unused loopback port (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(tracking_uri: str) -> dict[str, str]:
    """This env plus the store and the venv's bin on PATH (`mlflow models serve` execs `uvicorn` from PATH)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": tracking_uri, "PYTHONUNBUFFERED": "1"}


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def stop(process: subprocess.Popen, grace_s: float = 10) -> None:
    """SIGTERM the process group, SIGKILL what is left after the grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace_s)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_ready(process: subprocess.Popen, ready_url: str, log: Path, timeout_s: float = 120) -> None:
    """Block until `ready_url` answers 200; raise with the log's tail if the server dies or never answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if _ready(ready_url):
            return
        time.sleep(0.5)
    raise RuntimeError(f"server not ready at {ready_url} after {timeout_s} s:\n{log.read_text()[-3000:]}")


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a server in a new session, output to `log`; pair with `stop`."""
    with log.open("wb") as output:
        return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


@contextmanager
def running_server(command: list[str], ready_url: str, env: dict[str, str], log: Path,
                   timeout_s: float = 120) -> Iterator[subprocess.Popen]:
    """A started, ready server for the duration of the block."""
    process = spawn(command, env, log)
    try:
        wait_ready(process, ready_url, log, timeout_s)
        yield process
    finally:
        stop(process)


def follower_command(model: str, port: int, poll_seconds: float = 5.0, params: str = "params.yaml") -> list[str]:
    """Our alias-following server (`python -m gan_core.serving`)."""
    return [sys.executable, "-m", "gan_core.serving", "--model", model, "--port", str(port),
            "--poll", str(poll_seconds), "--params", params]


def mlflow_serve_command(model_uri: str, port: int) -> list[str]:
    """MLflow's scoring server in this environment, one worker, loopback only."""
    return [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local",
            "--host", "127.0.0.1", "-p", str(port), "-w", "1"]
