"""The one training loop for GAN, cGAN and inpainting, plus its single-process entry point.

    python -m gan_core.train --experiment mnist_cgan [--set mnist_cgan.train.epochs=3] [--dry-run]

Each step is two labelled updates, as in pytorch/examples' dcgan: first D, then G. The same
loop runs inside Ray Train (gan_core.distributed passes a Runtime for its rank); only the main
rank writes grids, checkpoints and metrics (`Runtime.is_main`, the one flag for that).
"""

from __future__ import annotations

import argparse
import copy
import csv
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn
from tqdm import tqdm

from gan_core.checkpoint import (
    CHECKPOINT_NAME,
    CheckpointError,
    TrainingState,
    read_checkpoint,
    restore_state,
    save_checkpoint,
    unwrap,
)
from gan_core.config import ExperimentConfig
from gan_core.grids import fixed_inputs, render_samples, write_grid
from gan_core.losses import discriminator_loss, generator_loss, mode_seeking_loss
from gan_core.models import build_discriminator, build_generator
from gan_core.steps import steps_for

HISTORY_FILE = "history.csv"
LATEST_GRID = "samples/latest.png"


@dataclass
class Runtime:
    """Where this copy of the loop runs: one process, or one rank of a distributed job."""

    device: torch.device = field(default_factory=lambda: torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    rank: int = 0
    world_size: int = 1
    wrap_model: Callable[[nn.Module], nn.Module] = lambda module: module  # DDP under Ray

    @property
    def is_main(self) -> bool:
        """Only the main rank logs, evaluates, writes grids and checkpoints."""
        return self.rank == 0


@dataclass
class EpochReport:
    epoch: int  # completed epochs (1-based)
    step: int
    metrics: dict[str, float]
    checkpoint: Path | None  # main rank only
    grid: Path | None


@dataclass
class TrainResult:
    experiment: str
    out_dir: Path
    history: list[dict[str, float]]
    checkpoint: Path | None
    generator_ema: nn.Module

    @property
    def final_metrics(self) -> dict[str, float]:
        return self.history[-1] if self.history else {}


Evaluate = Callable[[nn.Module, int], dict[str, float]]


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """Deterministic per-(run, epoch, rank) seed: resuming at an epoch needs no saved loader state."""
    return (seed * 1_000_003 + epoch * 10_007 + rank * 101) % (2**63)


def epoch_order(n: int, seed: int, epoch: int, rank: int, world_size: int) -> Tensor:
    """This rank's shard of a fresh permutation (same permutation on every rank, as DistributedSampler)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(epoch_seed(seed, epoch)))
    return order[rank::world_size]


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model; buffers (BatchNorm statistics) are copied."""
    for ema_param, param in zip(ema.parameters(), model.parameters()):
        ema_param.lerp_(param.detach(), 1.0 - decay)
    for ema_buffer, buffer in zip(ema.buffers(), model.buffers()):
        ema_buffer.copy_(buffer)


def _autocast(device: torch.device, enabled: bool) -> tuple[Any, bool]:
    """(autocast context, needs a grad scaler): bf16 where supported, else fp16 + GradScaler."""
    if device.type != "cuda" or not enabled:
        return nullcontext(), False
    bf16 = torch.cuda.is_bf16_supported()
    return torch.autocast("cuda", dtype=torch.bfloat16 if bf16 else torch.float16), not bf16


def _build_state(cfg: ExperimentConfig, runtime: Runtime, use_scaler: bool) -> TrainingState:
    torch.manual_seed(cfg.train.seed)  # identical initial weights on every rank
    generator = build_generator(cfg).to(runtime.device)
    discriminator = build_discriminator(cfg).to(runtime.device)
    ema = copy.deepcopy(generator).eval().requires_grad_(False)
    train = cfg.train
    return TrainingState(
        generator=runtime.wrap_model(generator),
        discriminator=runtime.wrap_model(discriminator),
        generator_ema=ema,
        opt_g=torch.optim.Adam(generator.parameters(), lr=train.lr_g, betas=train.betas),
        opt_d=torch.optim.Adam(discriminator.parameters(), lr=train.lr_d, betas=train.betas),
        scaler=torch.amp.GradScaler(runtime.device.type, enabled=use_scaler),
        history=[],
    )


def _check_resumable(payload: dict[str, Any], experiment: str, cfg: ExperimentConfig, path: Path) -> None:
    """Resuming is only exact for the same run: everything but epochs/eval settings must match."""
    def comparable(config: dict[str, Any]) -> dict[str, Any]:
        config = copy.deepcopy(config)
        config["train"].pop("epochs", None)
        config.pop("eval", None)
        return config

    saved, current = comparable(payload["config"]), comparable(cfg.model_dump(mode="json"))
    if payload["experiment"] != experiment or saved != current:
        differing = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
        raise CheckpointError(
            f"checkpoint {path} belongs to a different run (experiment {payload['experiment']!r}, differs in "
            f"{', '.join(differing) or 'experiment'}): remove it or train into another output directory"
        )


def _write_history(out_dir: Path, history: list[dict[str, float]]) -> None:
    keys = sorted({key for row in history for key in row}, key=lambda k: (k not in ("epoch", "step"), k))
    tmp = out_dir / f".{HISTORY_FILE}.tmp"
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys)
        writer.writeheader()
        writer.writerows(history)
    tmp.replace(out_dir / HISTORY_FILE)


def train(
    experiment: str,
    cfg: ExperimentConfig,
    data: Any,
    out_dir: Path,
    *,
    runtime: Runtime | None = None,
    evaluate: Evaluate | None = None,
    on_epoch_end: Callable[[EpochReport], None] | None = None,
    on_step: Callable[[int], None] | None = None,
    resume_from: Path | None = None,
    stop_after_epochs: int | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train `cfg` on `data` (ImageData: uint8 images, optional labels) and return what was measured.

    `resume_from` (or an existing `out_dir/checkpoint.pt`) continues exactly where it stopped.
    `stop_after_epochs` ends early as if interrupted (tests, time-boxed runs).
    """
    runtime = runtime or Runtime()
    out_dir = Path(out_dir)
    device = runtime.device
    autocast, use_scaler = _autocast(device, cfg.train.amp)
    state = _build_state(cfg, runtime, use_scaler)
    resume_from = resume_from or (out_dir / CHECKPOINT_NAME if (out_dir / CHECKPOINT_NAME).exists() else None)
    if resume_from is not None:
        payload = read_checkpoint(resume_from)
        _check_resumable(payload, experiment, cfg, Path(resume_from))
        restore_state(payload, state)
    if runtime.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)

    steps = steps_for(cfg)
    images = data.images.to(device)
    labels = data.labels.to(device) if getattr(data, "labels", None) is not None else None
    per_rank_batch = cfg.train.batch_size // runtime.world_size
    if per_rank_batch < 1:
        raise ValueError(f"train.batch_size {cfg.train.batch_size} is smaller than the {runtime.world_size} workers")
    fixed = fixed_inputs(cfg, unwrap(state.generator).nz, images[:8].float().cpu() / 255)
    g, d, ema = state.generator, state.discriminator, state.generator_ema
    last_epoch = cfg.train.epochs if stop_after_epochs is None else min(cfg.train.epochs, stop_after_epochs)
    checkpoint_path: Path | None = None

    for epoch in range(state.epoch, last_epoch):
        started = time.perf_counter()
        shard = epoch_order(len(images), cfg.train.seed, epoch, runtime.rank, runtime.world_size).to(device)
        n_batches = len(shard) // per_rank_batch
        if cfg.train.batches_per_epoch:
            n_batches = min(n_batches, cfg.train.batches_per_epoch)
        if n_batches == 0:
            raise ValueError(f"{len(images)} training images give no full batch of {per_rank_batch} per worker")
        noise = torch.Generator().manual_seed(epoch_seed(cfg.train.seed, epoch, runtime.rank))
        sums = dict.fromkeys(("loss_d", "loss_g", "d_real", "d_fake"), 0.0)
        bar = tqdm(range(n_batches), desc=f"{experiment} {epoch + 1}/{cfg.train.epochs}", leave=False,
                   disable=not (progress and runtime.is_main), file=sys.stderr, dynamic_ncols=True)
        for i in bar:
            index = shard[i * per_rank_batch:(i + 1) * per_rank_batch]
            real = images[index].float().div_(255)
            real_labels = labels[index] if labels is not None else None

            # (1) Update D: maximise log D(x) + log(1 - D(G(z))), d_steps times.
            for k in range(cfg.train.d_steps):
                cond = steps.condition(real, real_labels, noise)
                z = torch.randn(real.shape[0], unwrap(g).nz, generator=noise).to(device)
                keep_graph = k == cfg.train.d_steps - 1  # the last fake is reused by G's update
                with torch.set_grad_enabled(keep_graph), autocast:
                    fake, output = steps.generate(g, z, cond)
                with autocast:
                    real_logits = d(real, steps.real_labels(real_labels))
                    fake_logits = d(fake.detach(), steps.fake_labels(cond))
                    loss_d = discriminator_loss(real_logits.float(), fake_logits.float(), cfg.train.loss)
                state.opt_d.zero_grad(set_to_none=True)
                state.scaler.scale(loss_d).backward()
                state.scaler.step(state.opt_d)
                state.scaler.update()

            # (2) Update G: maximise log D(G(z)), plus mode seeking and reconstruction terms.
            with autocast:
                loss_g = generator_loss(d(fake, steps.fake_labels(cond)).float(), cfg.train.loss)
                if cfg.train.mode_seeking_weight:
                    z2 = torch.randn(z.shape, generator=noise).to(device)
                    _, output2 = steps.generate(g, z2, cond)
                    loss_g = loss_g + cfg.train.mode_seeking_weight * mode_seeking_loss(z, z2, output.float(), output2.float())
                reconstruction = steps.reconstruction_loss(output.float(), cond)
                if reconstruction is not None:
                    loss_g = loss_g + reconstruction
            state.opt_g.zero_grad(set_to_none=True)
            state.scaler.scale(loss_g).backward()
            state.scaler.step(state.opt_g)
            state.scaler.update()
            update_ema(ema, unwrap(g), cfg.train.ema_decay)
            state.step += 1

            sums["loss_d"] += loss_d.item()
            sums["loss_g"] += loss_g.item()
            sums["d_real"] += torch.sigmoid(real_logits.detach().float()).mean().item()
            sums["d_fake"] += torch.sigmoid(fake_logits.detach().float()).mean().item()
            if i % 10 == 0:
                bar.set_postfix(loss_d=f"{loss_d.item():.3f}", loss_g=f"{loss_g.item():.3f}",
                                d_x=f"{sums['d_real'] / (i + 1):.2f}", d_gz=f"{sums['d_fake'] / (i + 1):.2f}",
                                img_s=f"{(i + 1) * real.shape[0] * runtime.world_size / (time.perf_counter() - started):.0f}")
            if on_step is not None:
                on_step(state.step)
        bar.close()

        seconds = time.perf_counter() - started
        state.epoch = epoch + 1
        metrics = {key: value / n_batches for key, value in sums.items()}
        metrics.update(epoch=float(state.epoch), step=float(state.step), epoch_seconds=seconds,
                       images_per_sec=n_batches * per_rank_batch * runtime.world_size / seconds)
        grid_path = None
        if runtime.is_main:
            last = state.epoch == last_epoch
            if last or state.epoch % cfg.eval.grid_every == 0:
                grid = render_samples(ema, fixed, device)
                write_grid(grid, out_dir / f"samples/epoch_{state.epoch:03d}.png")
                grid_path = write_grid(grid, out_dir / LATEST_GRID)
            if evaluate is not None and (last or (cfg.eval.every and state.epoch % cfg.eval.every == 0)):
                eval_started = time.perf_counter()
                metrics.update(evaluate(ema, state.epoch))
                metrics["eval_seconds"] = time.perf_counter() - eval_started
                metrics["eval_share"] = metrics["eval_seconds"] / (seconds + metrics["eval_seconds"])
            state.history.append(metrics)
            checkpoint_path = save_checkpoint(out_dir, experiment, cfg, state)
            _write_history(out_dir, state.history)
        else:
            state.history.append(metrics)
        if on_epoch_end is not None:
            on_epoch_end(EpochReport(state.epoch, state.step, metrics, checkpoint_path, grid_path))

    return TrainResult(experiment, out_dir, state.history, checkpoint_path, ema)


def main(argv: list[str] | None = None) -> int:
    """Single-process training without the pipeline (no Ray, Prefect or MLflow)."""
    parser = argparse.ArgumentParser(prog="python -m gan_core.train", description=main.__doc__)
    parser.add_argument("--experiment", required=True, help="a params.yaml block, e.g. mnist_cgan")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a param, e.g. --set mnist_cgan.train.epochs=3 (validated like params.yaml)")
    parser.add_argument("--out", default=None, help="output directory (default: outputs/<experiment>)")
    parser.add_argument("--classifier", default=None, help="MNIST classifier for quality metrics (default: outputs/classifier/classifier.pt if present)")
    parser.add_argument("--dry-run", action="store_true", help="a few steps of one epoch on real shapes, into a temp dir")
    args = parser.parse_args(argv)

    from gan_core.config import ConfigError, load_params
    from gan_core.data.datasets import load_eval_data, load_train_data

    try:
        params = load_params(args.params, args.overrides)
        cfg = params.experiment(args.experiment)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out_dir = Path(args.out or Path("outputs") / args.experiment)
    evaluate = None
    if args.dry_run:
        import tempfile

        cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"epochs": 1, "batches_per_epoch": 2})})
        out_dir = Path(tempfile.mkdtemp(prefix=f"{args.experiment}-dry-run-"))
    else:
        from gan_core.metrics.evaluate import make_evaluator

        classifier = Path(args.classifier or "outputs/classifier/classifier.pt")
        real = load_eval_data(cfg, params.data.prepared, cfg.eval.n_samples)
        evaluate = make_evaluator(cfg, real, classifier if classifier.is_file() else None)
    data = load_train_data(cfg, params.data.prepared)
    result = train(args.experiment, cfg, data, out_dir, evaluate=evaluate)
    final = result.final_metrics
    print(f"{args.experiment}: {int(final['epoch'])} epochs, {final['epoch_seconds']:.1f} s/epoch, "
          f"{final['images_per_sec']:.0f} images/s -> {out_dir}")
    print("  " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(final.items()) if k not in ("epoch", "step")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
