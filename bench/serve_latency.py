"""Serving latency on loopback: p50/p99 and requests/s of our alias-following server, printed as JSON.

Two workloads: 16 MNIST samples from a small unconditional dcgan, and one inpainting with k = 100
samples, each at concurrency 1 and 8. The nets have the params.yaml architecture (mnist_gan,
mnist_inpaint) with random weights: latency does not depend on training. Goal: p99 < 50 ms for the
16 samples at concurrency 1. Run: `.venv/bin/python -m bench.serve_latency [--scale 0.5]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from gan_core.checkpoint import export_generator
from gan_core.config import load_params
from gan_core.models import build_generator
from gan_core.serving import launch

ROOT = Path(__file__).resolve().parents[1]
GRID = np.full((28, 28), 0.5).tolist()
WORKLOADS = {
    "mnist_gan": {"name": "16 samples, dcgan mnist_gan", "requests": 400,
                  "body": {"inputs": [], "params": {"n": 16, "seed": 0}}},
    "mnist_inpaint": {"name": "1 inpainting, k=100, dcgan mnist_inpaint", "requests": 64,
                      "body": {"inputs": [{"image": GRID, "top": 7, "left": 7}], "params": {"k": 100, "seed": 0}}},
}


def register(experiment: str, store: Path) -> None:
    """Export a randomly initialised generator of the experiment and make it the champion."""
    import torch

    from gan_core import tracking
    from gan_core.config import TrackingConfig

    cfg = load_params(ROOT / "params.yaml").experiment(experiment)
    torch.manual_seed(0)
    path = export_generator(store / f"{experiment}.pt", experiment, cfg, build_generator(cfg).eval())
    with tracking.start_run(experiment, "bench", TrackingConfig(artifact_root="mlartifacts"), store):
        version = tracking.log_generator_model(experiment, path, cfg, {})
    tracking.promote(version.name, version.version)


def measure(url: str, body: dict, concurrency: int, requests: int) -> dict[str, float]:
    """Latencies of `requests` POSTs spread over `concurrency` keep-alive clients."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()

    def client(count: int) -> None:
        with httpx.Client(timeout=30) as session:
            for _ in range(count):
                start = time.perf_counter()
                status = session.post(f"{url}/invocations", json=body).status_code
                elapsed = time.perf_counter() - start
                with lock:
                    if status == 200:
                        latencies.append(elapsed)
                    else:
                        errors.append(status)

    threads = [threading.Thread(target=client, args=(requests // concurrency,)) for _ in range(concurrency)]
    wall = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall
    ms = np.asarray(latencies) * 1000
    return {"concurrency": concurrency, "requests": len(latencies), "errors": len(errors),
            "p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "requests_per_s": round(len(latencies) / wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply each workload's request count")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as folder:
        store = Path(folder)
        uri = f"sqlite:///{store / 'mlflow.db'}"
        os.environ["MLFLOW_TRACKING_URI"] = uri
        for experiment, workload in WORKLOADS.items():
            register(experiment, store)
            port = launch.free_port()
            command = launch.follower_command(experiment, port, params=str(store / "no-params.yaml"))
            url = f"http://127.0.0.1:{port}"
            with launch.running_server(command, f"{url}/ping", launch.server_env(uri), store / f"{experiment}.log"):
                measure(url, workload["body"], 1, 10)  # warm-up: first calls pay lazy imports and allocator growth
                requests = max(8, int(workload["requests"] * args.scale))
                for concurrency in (1, 8):
                    results.append({"workload": workload["name"], **measure(url, workload["body"], concurrency, requests)})
    print(json.dumps({
        "server": "gan_core.serving (FastAPI + uvicorn, 1 process, alias-following)",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared), 1 torch thread per request",
        "goal": "p99 < 50 ms for 16 samples at concurrency 1",
        "results": results,
    }, indent=2))


if __name__ == "__main__":
    main()
