"""What Ray Train costs on this machine: images/s of the plain loop vs Ray with 1 and 2 workers.

    python -m bench.ray_overhead [--batches 40] [--epochs 3]

Same model (dcgan 28 px, MNIST-sized synthetic data), same global batch and the same torch threads
per process everywhere (--threads; Ray sets a worker's threads to its CPUs), so the ratios show
Ray's cost, not threading's. Throughput is the loop's own images/s of the epochs after the first
(start-up and warm-up excluded); Ray's start-up (ray.init, then fit() to the first step) is
measured separately. Prints one JSON line; on a shared machine, read it with its load average.
Goals: Ray with 1 worker >= 0.9x the plain loop after start-up; start-up <= 15 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from gan_core.config import ExperimentConfig, ModelConfig, RayConfig, TrainConfig
from gan_core.data.datasets import ImageData
from gan_core.train import TrainResult

MNIST_TRAIN_SIZE = 60_000


def bench_config(dataset: str, image_size: int, batches: int, epochs: int, batch_size: int = 64) -> ExperimentConfig:
    """The params.yaml dcgan (nz 64, ngf/ndf 32) with a fixed number of batches per epoch."""
    return ExperimentConfig(
        task="gan", dataset=dataset, image_size=image_size, model=ModelConfig(family="dcgan", nz=64, ngf=32, ndf=32),
        train=TrainConfig(batch_size=batch_size, epochs=epochs, batches_per_epoch=batches, seed=0),
    )


def synthetic_data(cfg: ExperimentConfig, n: int) -> ImageData:
    """Random uint8 images of the experiment's shape: throughput does not depend on content."""
    generator = torch.Generator().manual_seed(0)
    shape = (n, cfg.channels, cfg.image_size, cfg.image_size)
    return ImageData(torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator))


def steady_images_per_sec(result: TrainResult) -> float:
    """Median images/s of the epochs after the first (the first pays for warm-up)."""
    rows = result.history[1:] or result.history
    return statistics.median(row["images_per_sec"] for row in rows)


class FirstEpochClock:
    """A worker probe: rank 0 notes when its first epoch ended (same machine, same clock) and its threads."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, rank: int, epoch: int, models: list[nn.Module]) -> None:
        if rank == 0 and epoch == 1:
            self.path.write_text(json.dumps({"time": time.time(), "torch_threads": torch.get_num_threads()}))


def run_plain(cfg: ExperimentConfig, data: ImageData, out_dir: Path, device: str = "cpu") -> dict[str, float]:
    from gan_core.train import Runtime, train

    started = time.perf_counter()
    result = train("bench", cfg, data, out_dir, runtime=Runtime(device=torch.device(device)), progress=False)
    return {"images_per_sec": steady_images_per_sec(result), "wall_seconds": time.perf_counter() - started,
            "torch_threads": torch.get_num_threads()}


def run_ray(cfg: ExperimentConfig, data: ImageData, workers: int, cpus_per_worker: float, folder: Path,
            use_gpu: bool = False) -> dict[str, float]:
    """One fit_distributed; start-up = fit() call to the first step on rank 0."""
    from gan_core.distributed import fit_distributed

    ray_cfg = RayConfig(num_workers=workers, cpus_per_worker=cpus_per_worker, use_gpu=use_gpu,
                        storage_path=str(folder / "ray"), max_failures=0)
    clock = FirstEpochClock(folder / f"first-epoch-{workers}.txt")
    started = time.time()
    result = fit_distributed("bench", cfg, ray_cfg, data, folder / f"out-{workers}", worker_probe=clock,
                             run_name=f"bench-{workers}-{os.getpid()}")
    wall = time.time() - started
    worker = json.loads(clock.path.read_text())
    first_step = worker["time"] - result.history[0]["epoch_seconds"]
    return {"images_per_sec": steady_images_per_sec(result), "wall_seconds": wall,
            "seconds_to_first_step": first_step - started, "torch_threads_rank0": worker["torch_threads"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ray_overhead", description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40, help="batches per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (the first is not timed)")
    parser.add_argument("--images", type=int, default=MNIST_TRAIN_SIZE, help="synthetic training images")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the plain loop = CPUs per Ray worker")
    args = parser.parse_args(argv)

    cpus = os.cpu_count() or 1
    torch.set_num_threads(args.threads)
    cfg = bench_config("mnist", 28, args.batches, args.epochs)
    data = synthetic_data(cfg, args.images)
    with tempfile.TemporaryDirectory(prefix="ray-overhead-") as tmp:
        folder = Path(tmp)
        plain = run_plain(cfg, data, folder / "plain")
        started = time.perf_counter()
        from gan_core.distributed import init_ray

        init_ray(RayConfig(), progress=False)
        ray_init = time.perf_counter() - started
        ray_1 = run_ray(cfg, data, 1, args.threads, folder)
        ray_2 = run_ray(cfg, data, 2, args.threads, folder)
    ratio = ray_1["images_per_sec"] / plain["images_per_sec"]
    startup = ray_init + ray_1["seconds_to_first_step"]
    print(json.dumps({  # one line: bench.run_all collects JSON lines
        "bench": "ray_overhead",
        "machine": {"cpus": cpus, "load_average_1min": round(os.getloadavg()[0], 2), "torch": torch.__version__},
        "setup": {"model": "dcgan 28 px (nz 64, ngf/ndf 32)", "global_batch": cfg.train.batch_size,
                  "batches_per_epoch": args.batches, "epochs": args.epochs, "images": args.images,
                  "threads_per_process": args.threads},
        "plain_loop": plain, "ray_1_worker": ray_1, "ray_2_workers": ray_2,
        "ray_init_seconds": ray_init,
        "ray_startup_seconds": startup,
        "ray_1_vs_plain": ratio, "ray_2_vs_plain": ray_2["images_per_sec"] / plain["images_per_sec"],
        "goals_met": {"ray_1_at_least_0.9x_plain": ratio >= 0.9, "startup_at_most_15s": startup <= 15},
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
