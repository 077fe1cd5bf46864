"""The whole pipeline, what `make run` calls: fetch data, version it, `dvc repro`, report the champions.

    python -m flows.run_all [--mirror DIR] [--params params.yaml]

DVC decides what reruns (nothing, when nothing changed); every stage it starts is a Prefect flow
that reports to the same Prefect API as this one, so no stage pays for a server of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from prefect import flow, task
from prefect.settings import PREFECT_API_URL

from flows.cli import params_or_exit
from flows.prepare import fetch
from gan_core import tracking
from gan_core.config import load_params
from gan_core.data.fetch import format_counts

RUN_RECORD = Path("outputs/run_history.jsonl")  # one line per `make run`: wall time, stages that ran


def prefect_api_url() -> str:
    """The API this process reports to (starting the embedded one if needed), for stage subprocesses to share."""
    if PREFECT_API_URL.value():
        return PREFECT_API_URL.value()
    from prefect.server.api.server import SubprocessASGIServer  # the embedded server this process already uses

    server = SubprocessASGIServer()
    server.start()
    return server.api_url


def dvc(root: Path, *args: str, capture: bool = False) -> str:
    """Run a DVC command in the project with this interpreter's environment (stages then find its `python`)."""
    bin_dir = str(Path(sys.executable).parent)
    env = os.environ | {"PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "PREFECT_API_URL": prefect_api_url()}
    done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, env=env, text=True,
                          capture_output=capture, check=False)
    if done.returncode != 0:
        detail = f":\n{done.stdout}{done.stderr}" if capture else " (its output is above)"
        raise RuntimeError(f"`dvc {' '.join(args)}` failed with exit code {done.returncode}{detail}")
    return done.stdout if capture else ""


@task
def version_data(root: Path, data_root: str) -> bool:
    """`dvc add` the data folder when it differs from data.dvc (or has none); True if it did."""
    pointer = root / f"{data_root}.dvc"
    if pointer.is_file() and not json.loads(dvc(root, "status", "--json", pointer.name, capture=True) or "{}"):
        return False
    dvc(root, "add", data_root)
    print(f"data: versioned {data_root}/ in {pointer.name} (commit it: git add {pointer.name})")
    return True


@task
def reproduce(root: Path) -> None:
    """`dvc repro`: runs the stages whose data, code or params changed, and nothing else."""
    dvc(root, "repro")


@flow(name="pipeline", log_prints=True)
def pipeline_flow(mirror: str | None = None, params_path: str = "params.yaml") -> tuple[dict[str, int], dict[str, tracking.Champion]]:
    """Fetch + version the data, reproduce every stage; return the data counts and each model's champion."""
    path = Path(params_path).resolve()
    params = load_params(path)
    root = path.parent
    counts = fetch(str(root / params.data.root), mirror or params.data.mirror or None)
    version_data(root, params.data.root)
    reproduce(root)
    return counts, tracking.champions(tracking.tracking_uri(params.tracking, root))


def report(champions: dict[str, tracking.Champion], root: Path) -> None:
    """Where to look next: the metrics of every stage, each model's champion, the MLflow UI command."""
    print(dvc(root, "metrics", "show", capture=True))
    for name, champion in sorted(champions.items()):
        score = f"{champion.metric} {champion.value:.4g}" if champion.value is not None else "promoted by hand"
        print(f"champion {name}: v{champion.version} ({score})")
    print("Browse runs, metrics and models: mlflow ui --backend-store-uri sqlite:///mlflow.db")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.run_all", description=pipeline_flow.__doc__)
    parser.add_argument("--mirror", default=None, help="copy data from this local folder (default: $GAN_DATA_MIRROR)")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    params_or_exit(args.params)
    root = Path(args.params).resolve().parent
    lock_before = _stage_locks(root)
    started = time.perf_counter()
    counts, champions = pipeline_flow(args.mirror, args.params)
    print(f"data: {format_counts(counts)}")
    report(champions, root)
    lock_after = _stage_locks(root)
    record = {"seconds": round(time.perf_counter() - started, 1), "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "stages_run": sum(lock_after[name] != lock_before.get(name) for name in lock_after),
              "cpu_cores": os.cpu_count()}
    (root / RUN_RECORD).parent.mkdir(parents=True, exist_ok=True)
    with (root / RUN_RECORD).open("a") as history:  # bench.pipeline quotes the latest full and no-op runs
        history.write(json.dumps(record) + "\n")
    print(f"make run: {record['seconds']:.0f} s, {record['stages_run']} stage(s) ran")
    return 0


def _stage_locks(root: Path) -> dict[str, object]:
    """Each stage's entry in dvc.lock: an entry that changes is a stage that ran."""
    import yaml

    lock = root / "dvc.lock"
    return (yaml.safe_load(lock.read_text()) or {}).get("stages", {}) if lock.is_file() else {}


if __name__ == "__main__":
    raise SystemExit(main())
