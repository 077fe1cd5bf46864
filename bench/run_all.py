"""`make bench`: run every benchmark, collect their JSON lines into one file.

    python -m bench.run_all [--out bench/results/bench.json] [--only train_throughput,uncertainty]

Each benchmark is its own process (clean imports, its own peak memory) and prints JSON lines;
a benchmark that fails is recorded with its error instead of stopping the others.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCHMARKS = {
    "train_throughput": ["-m", "bench.train_throughput"],
    "ray_overhead": ["-m", "bench.ray_overhead"],
    "uncertainty": ["-m", "bench.uncertainty"],
    "serve_latency": ["-m", "bench.serve_latency"],
    "pipeline": ["-m", "bench.pipeline"],
}


def json_objects(text: str) -> list[dict]:
    """Every top-level JSON object a benchmark printed (one per line, or pretty-printed)."""
    decoder, found, index = json.JSONDecoder(), [], text.find("{")
    while index != -1:
        try:
            obj, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            end = index + 1
        else:
            found.append(obj)
        index = text.find("{", end)
    return found


def machine() -> dict:
    import torch

    return {"cpu_cores": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "torch": torch.__version__, "cuda": torch.cuda.is_available(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/results/bench.json")
    parser.add_argument("--only", default="", help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    args = parser.parse_args()
    selected = [name for name in BENCHMARKS if not args.only or name in args.only.split(",")]
    lines: list[dict] = [{"bench": "machine", **machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}]
    for name in selected:
        print(f"== {name}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        child = subprocess.run([sys.executable, *BENCHMARKS[name]], capture_output=True, text=True)
        found = json_objects(child.stdout)
        if child.returncode != 0 or not found:
            found = [{"bench": name, "error": (child.stderr or child.stdout).strip().splitlines()[-5:]}]
        for item in found:
            item.setdefault("wall_seconds", round(time.perf_counter() - started, 1))
            print(json.dumps(item), flush=True)
        lines += found
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0 if all("error" not in line for line in lines) else 1


if __name__ == "__main__":
    raise SystemExit(main())
