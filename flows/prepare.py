"""Data flows: fetch raw data (retried: downloads fail transiently), then prepared tensors (cached: pure).

    python -m flows.prepare [--params params.yaml]     # the DVC `prepare` stage: data/ -> prepared/*.pt
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.client.schemas.objects import TaskRun
from prefect.context import TaskRunContext
from prefect.states import State

from flows.cli import params_or_exit
from gan_core.data.errors import DataError
from gan_core.data.fetch import fetch_data, format_counts
from gan_core.data.prepare import PREPARED, prepare, prepared_path


def data_fingerprint(data_root: str | Path) -> str:
    """Path, size and mtime of every raw file: cheap, and fetch never rewrites a file that is already identical."""
    root = Path(data_root)
    entries = sorted(
        (str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file() and (stat := path.stat())
    )
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def _only_transient(task: Any, task_run: TaskRun, state: State) -> bool:
    """Retry network and disk hiccups; a missing mirror or unreadable data fails the same way every time."""
    return not isinstance(state.data, DataError)


@task(retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=_only_transient)
def fetch(data_root: str, mirror: str | None = None) -> dict[str, int]:
    """Fill data/ from the mirror (or $GAN_DATA_MIRROR), else download; returns the counts per data set."""
    counts = fetch_data(data_root, mirror)
    print(f"data: {format_counts(counts)} ({counts['copied']:,} files copied, {counts['skipped']:,} unchanged)")
    return counts


def prepare_cache_key(context: TaskRunContext, inputs: dict[str, Any]) -> str:
    """Same raw data, same data sets and same target folder -> the same prepared files."""
    which = sorted(inputs.get("which") or PREPARED)
    request = [data_fingerprint(inputs["data_root"]), which, str(Path(inputs["prepared_dir"]).resolve())]
    return "prepare-" + hashlib.sha256(json.dumps(request).encode()).hexdigest()[:24]


@task(cache_key_fn=prepare_cache_key, persist_result=True)
def prepare_tensors(data_root: str, prepared_dir: str, which: list[str] | None = None) -> dict[str, str]:
    """Decode raw data into uint8 tensor files; returns name -> written path."""
    return {name: str(path) for name, path in prepare(data_root, prepared_dir, which).items()}


@flow(name="prepare", log_prints=True)
def prepare_flow(data_root: str = "data", prepared_dir: str = "prepared", which: list[str] | None = None) -> dict[str, str]:
    """data/ -> prepared/*.pt (the DVC `prepare` stage); reuses the cached result while its files exist."""
    missing = not all(prepared_path(prepared_dir, name).is_file() for name in which or PREPARED)
    return prepare_tensors.with_options(refresh_cache=missing)(data_root, prepared_dir, which)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.prepare", description=prepare_flow.__doc__)
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    params = params_or_exit(args.params)
    prepare_flow(params.data.root, params.data.prepared)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
