"""Training throughput: gan_core's loop against a textbook plain-PyTorch DCGAN loop.

Same networks (built from params.yaml's experiment block), same batch size, data in memory in both.
The plain loop is pytorch/examples' dcgan update, nothing else; ours also keeps the EMA generator,
the D(x)/D(G(z)) statistics and the per-epoch bookkeeping. Prints one JSON object.

    python -m bench.train_throughput [--experiment mnist_gan] [--batches 60] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

from gan_core.config import load_params
from gan_core.data.datasets import ImageData
from gan_core.models import build_discriminator, build_generator
from gan_core.train import train


def plain_loop(cfg, data: torch.Tensor, batches: int) -> float:
    """Images/s of the textbook two-step update (no EMA, no statistics, no checkpoint)."""
    torch.manual_seed(cfg.train.seed)
    generator, discriminator = build_generator(cfg), build_discriminator(cfg)
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.train.lr_g, betas=cfg.train.betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.train.lr_d, betas=cfg.train.betas)
    batch = cfg.train.batch_size
    order = torch.randperm(len(data))
    started = time.perf_counter()
    for i in range(batches):
        real = data[order[i * batch:(i + 1) * batch]].float().div_(255)
        fake = generator(torch.randn(batch, generator.nz))
        # update D: maximise log D(x) + log(1 - D(G(z)))
        opt_d.zero_grad()
        real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
        loss_d = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
            F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        loss_d.backward()
        opt_d.step()
        # update G: maximise log D(G(z))
        opt_g.zero_grad()
        logits = discriminator(fake)
        F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)).backward()
        opt_g.step()
    return batches * batch / (time.perf_counter() - started)


def our_loop(cfg, data: torch.Tensor, batches: int) -> float:
    """Images/s of gan_core.train.train over one epoch of `batches` batches (epoch time as it reports it)."""
    cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"epochs": 1, "batches_per_epoch": batches})})
    with tempfile.TemporaryDirectory() as out:
        result = train("bench", cfg, ImageData(data), out, progress=False)
    return result.final_metrics["images_per_sec"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="mnist_gan")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cfg = load_params().experiment(args.experiment)
    # The textbook update has no mode-seeking term and one D step: compare the same update.
    cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"mode_seeking_weight": 0.0, "d_steps": 1})})
    n = args.batches * cfg.train.batch_size
    data = torch.randint(0, 256, (n, cfg.channels, cfg.image_size, cfg.image_size), dtype=torch.uint8)
    plain_loop(cfg, data, 5), our_loop(cfg, data, 5)  # warm-up: allocator, first-call kernels
    plain, ours = [], []
    for _ in range(args.repeats):  # interleaved, so drifting machine load hits both alike
        plain.append(plain_loop(cfg, data, args.batches))
        ours.append(our_loop(cfg, data, args.batches))
    result = {
        "bench": "train_throughput",
        "experiment": args.experiment,
        "model": f"{cfg.model.family} {cfg.image_size}px nz={cfg.model.nz} ngf={cfg.model.ngf} ndf={cfg.model.ndf}",
        "batch_size": cfg.train.batch_size,
        "batches": args.batches,
        "repeats": args.repeats,
        "plain_images_per_sec": round(statistics.median(plain), 1),
        "ours_images_per_sec": round(statistics.median(ours), 1),
        "ratio": round(statistics.median(ours) / statistics.median(plain), 3),
        "torch_threads": torch.get_num_threads(),
        "machine": f"{platform.machine()} {torch.get_num_threads()} threads, {platform.processor() or 'cpu'}",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
