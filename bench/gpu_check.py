"""GPU check: images/s of the 1-GPU path with AMP, MNIST (dcgan 28) and CelebA-64 (dcgan 64).

    python -m bench.gpu_check                                  # on a GPU machine
    python -m bench.gpu_check --device cpu --batches 2 --epochs 2   # smoke run anywhere

For each experiment it runs the plain loop and fit_distributed with one Ray worker holding one GPU
(the loop picks bf16 autocast where the GPU supports it, else fp16 with a GradScaler), on
synthetic data, and prints one JSON line. Throughput excludes the first (warm-up) epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import torch

from bench.ray_overhead import bench_config, run_plain, run_ray, synthetic_data

EXPERIMENTS = {"mnist_dcgan28": ("mnist", 28), "celeba64_dcgan64": ("celeba", 64)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--batches", type=int, default=100, help="batches per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (the first is not timed)")
    parser.add_argument("--batch-size", type=int, default=64, help="global batch (params.yaml uses 64)")
    parser.add_argument("--images", type=int, default=10_000, help="synthetic training images per experiment")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA device here: use --device cpu for a smoke run")

    use_gpu = args.device == "cuda"
    cpus = os.cpu_count() or 1
    report: dict[str, object] = {
        "bench": "gpu_check",
        "device": torch.cuda.get_device_name(0) if use_gpu else "cpu",
        "amp": ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if use_gpu else "off (CPU)",
        "torch": torch.__version__, "batch_size": args.batch_size, "batches_per_epoch": args.batches,
    }
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        for name, (dataset, size) in EXPERIMENTS.items():
            cfg = bench_config(dataset, size, args.batches, args.epochs, args.batch_size)
            data = synthetic_data(cfg, max(args.images, args.batches * args.batch_size))
            folder = Path(tmp) / name
            report[name] = {
                "plain_loop": run_plain(cfg, data, folder / "plain", args.device),
                "ray_1_worker": run_ray(cfg, data, 1, min(4, cpus), folder, use_gpu=use_gpu),
            }
    print(json.dumps(report))  # one line, as bench.run_all collects
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
