"""Uncertainty maps: seconds and peak memory for K samples of one 28 px SiC patch.

Uses the `sic_inpaint` networks of params.yaml (the thesis inpainter; untrained weights cost the
same as trained ones). Each K runs in a fresh process so its peak resident memory is its own.
Prints one JSON object per K.

    python -m bench.uncertainty [--k 1000 5000] [--chunk 512]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch


def measure(k: int, chunk: int, repeats: int) -> dict:
    from gan_core.config import load_params
    from gan_core.models import build_generator
    from gan_core.uncertainty import uncertainty_maps

    cfg = load_params().sic_inpaint
    inpainter = build_generator(cfg).eval()
    top, left, size = cfg.hole_box()
    patch = torch.rand(cfg.channels, cfg.image_size, cfg.image_size, generator=torch.Generator().manual_seed(0))
    uncertainty_maps(inpainter, patch, (top, left), min(k, 64), chunk=chunk)  # warm-up
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        maps = uncertainty_maps(inpainter, patch, (top, left), k, chunk=chunk)
        times.append(time.perf_counter() - started)
    assert maps.std.shape == patch.shape
    return {
        "bench": "uncertainty_maps",
        "k": k,
        "chunk": chunk,
        "patch": f"{cfg.image_size}px, {size}px hole, {cfg.model.family} inpainter",
        "seconds": round(min(times), 3),
        "seconds_all": [round(t, 3) for t in times],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_growth_mib": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024, 1),
        "torch_threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--chunk", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.k[0], args.chunk, args.repeats)))
        return
    for k in args.k:
        child = subprocess.run([sys.executable, "-m", "bench.uncertainty", "--one", "--k", str(k), "--chunk",
                                str(args.chunk), "--repeats", str(args.repeats)], capture_output=True, text=True, check=True)
        print(child.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
