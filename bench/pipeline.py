"""Pipeline overheads: `dvc repro` with nothing changed, and the last `make run` end to end.

Needs a finished pipeline in this checkout (`make run` first); otherwise it says so.
Prints one JSON object.

    python -m bench.pipeline [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from flows.run_all import RUN_RECORD  # written at the end of `make run`



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    result: dict = {"bench": "pipeline"}
    if not Path("dvc.lock").is_file():
        result["skipped"] = "no dvc.lock: run `make run` first"
        print(json.dumps(result))
        return
    dvc = [str(Path(sys.executable).with_name("dvc"))]
    status = subprocess.run([*dvc, "status", "--json"], capture_output=True, text=True)
    if status.returncode != 0 or json.loads(status.stdout or "{}"):
        result["skipped"] = "the pipeline is not up to date (`dvc status`): run `make run` first, so `dvc repro` is a no-op"
        print(json.dumps(result))
        return
    times, output = [], ""
    for _ in range(args.repeats):
        started = time.perf_counter()
        child = subprocess.run([*dvc, "repro"], capture_output=True, text=True, env=os.environ | {"DVC_NO_ANALYTICS": "1"})
        times.append(time.perf_counter() - started)
        output = child.stdout
    result.update(
        dvc_repro_noop_seconds=round(min(times), 2),
        dvc_repro_noop_all=[round(t, 2) for t in times],
        up_to_date="up to date" in output,
    )
    if RUN_RECORD.is_file():
        runs = [json.loads(line) for line in RUN_RECORD.read_text().splitlines() if line.strip()]
        full = [run for run in runs if run.get("stages_run")]
        noop = [run for run in runs if run.get("stages_run") == 0]
        result["make_run_last_with_stages"] = full[-1] if full else None
        result["make_run_last_noop"] = noop[-1] if noop else None
    print(json.dumps(result))


if __name__ == "__main__":
    main()
