"""Scheduled deployments, what `make deploy` serves: nightly retrains, a weekly DVC experiment, model serving.

    python -m flows.deploy            # needs a Prefect server: PREFECT_API_URL=http://127.0.0.1:4200/api

- `nightly-<experiment>`: the training flow of one experiment, staggered an hour apart from 01:00.
- `weekly-pipeline`: fetch + version the data, then `dvc exp run`, so each scheduled pipeline run is
  also a reproducible DVC experiment (`dvc exp show` lists it).
- `serve-champion`: no schedule; start it (`prefect deployment run serve/serve-champion`) to serve
  `models:/<name>@champion` over HTTP, following the alias as the gate moves it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from prefect import flow, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.settings import PREFECT_API_URL

from flows.cli import params_or_exit
from flows.prepare import fetch
from flows.run_all import dvc, version_data
from flows.train import train_flow
from gan_core import tracking
from gan_core.config import EXPERIMENTS, load_params

WEEKLY_CRON = "0 22 * * 6"
NEEDS_SERVER = (
    "error: scheduled deployments need a Prefect server (the embedded API runs no scheduler).\n"
    "  start one:  prefect server start --host 127.0.0.1 --port 4200\n"
    "  then:       PREFECT_API_URL=http://127.0.0.1:4200/api make deploy"
)  # Saturday night: clear of the nightly retrains


def nightly_cron(index: int) -> str:
    """01:00, 02:00, ...: one retrain at a time on a small machine."""
    return f"0 {1 + index} * * *"


@flow(name="weekly-pipeline", log_prints=True)
def weekly_pipeline_flow(mirror: str | None = None, params_path: str = "params.yaml") -> str:
    """The full pipeline as a named DVC experiment; returns the experiment's name."""
    path = Path(params_path).resolve()
    params = load_params(path)
    root = path.parent
    fetch(str(root / params.data.root), mirror or params.data.mirror or None)
    version_data(root, params.data.root)
    name = time.strftime("weekly-%Y%m%d-%H%M")
    dvc(root, "exp", "run", "--name", name)
    print(f"DVC experiment {name}: compare with `dvc exp show`")
    return name


@flow(name="serve", log_prints=True)
def serve_champion_flow(experiment: str = "mnist_gan", alias: str = "champion", host: str = "127.0.0.1",
                        port: int = 5055, poll_seconds: float = 5.0, params_path: str = "params.yaml") -> None:
    """Serve one experiment's registered model at `alias` until stopped."""
    from gan_core.serving.server import serve as serve_model  # FastAPI and uvicorn: only this flow needs them

    path = Path(params_path).resolve()
    uri = tracking.tracking_uri(load_params(path).tracking, path.parent)
    serve_model(tracking.registered_name(experiment), alias, host, port, poll_seconds, tracking_uri=uri)


def build_deployments(params_path: str = "params.yaml") -> list[RunnerDeployment]:
    """Every deployment with its schedule and parameters (not yet registered with a server)."""
    nightly = [
        train_flow.to_deployment(name=f"nightly-{experiment}", cron=nightly_cron(index), tags=["nightly", experiment],
                                 parameters={"experiment": experiment, "params_path": params_path})
        for index, experiment in enumerate(EXPERIMENTS)
    ]
    weekly = weekly_pipeline_flow.to_deployment(name="weekly-pipeline", cron=WEEKLY_CRON, tags=["weekly", "dvc"],
                                                parameters={"params_path": params_path})
    serving = serve_champion_flow.to_deployment(name="serve-champion", tags=["serving"],
                                                parameters={"params_path": params_path})
    return [*nightly, weekly, serving]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    params_or_exit(args.params)
    if not PREFECT_API_URL.value():  # the embedded API has no scheduler: cron schedules would never fire
        print(NEEDS_SERVER, file=sys.stderr)
        return 2
    serve(*build_deployments(str(Path(args.params).resolve())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
