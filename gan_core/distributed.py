"""The one training loop (gan_core.train.train) on Ray Train: DDP over G and D, fault tolerant.

This is the only module that imports Ray, and it does so lazily (inside functions), so
`import gan_core.distributed` stays cheap and `gan_core` never needs Ray installed.

Batch semantics: params `train.batch_size` is the GLOBAL batch. It is split evenly across the
workers: each rank takes batch_size / num_workers images per step from its own shard of a
per-epoch permutation, and DDP averages the per-rank gradients, which for equal per-rank batches
is the gradient of the global batch's mean loss. The exception is BatchNorm, which normalises
with per-rank batch statistics (see DDP_KWARGS).

Rank 0 alone writes grids, checkpoints and evaluates (the loop's `Runtime.is_main`); every rank
reports its metrics each epoch, rank 0 with a checkpoint that Ray keeps under
`<ray.storage_path>/<run_name>/`. Re-running a job with the same run name continues it (Ray Train
V2 restores its checkpoint list from that folder); the default name includes the config hash, so
changed params start fresh.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from torch import nn

from gan_core.checkpoint import CHECKPOINT_NAME, load_generator, read_checkpoint
from gan_core.config import ExperimentConfig, RayConfig, config_hash
from gan_core.train import HISTORY_FILE, EpochReport, Evaluate, Runtime, TrainResult, train

if TYPE_CHECKING:
    from gan_core.data.datasets import ImageData

FAULT_ENV = "GAN_FAULT_INJECT"
FAULT_FORMAT = "rank=<int>,step=<int>,marker=<path>"
SAMPLES_DIR = "samples"  # the loop's grids: samples/epoch_NNN.png and samples/latest.png

# Quiet, offline and fast Ray defaults (STACK.md); set before Ray is imported, never overriding the user.
_RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "disabled",  # 2.60 otherwise turns token auth on and writes ~/.ray/auth_token
    "RAY_TRAIN_V2_ENABLED": "1",  # legacy V1 asks for an extra CPU and hangs 2 workers on 2 cores
    "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.2",  # default 2 s adds ~3 s per fit and delays failure detection
    "RAY_TRAIN_METRICS_ENABLED": "0",
    "RAY_CHDIR_TO_TRIAL_DIR": "0",
}

# GAN under DDP: D runs on the real and the fake batch before one backward, and G runs twice for
# the mode-seeking term. With DDP's default buffer sync, every forward overwrites BatchNorm's
# running statistics in place from rank 0, between the forwards and their backward (PyTorch issues
# 22095/65907). We turn the per-forward buffer sync off instead of converting to SyncBatchNorm:
# SyncBatchNorm only runs on GPUs (it raises on the CPU/gloo path this project also runs on), costs
# an all-reduce per BatchNorm layer per forward, and would mix real and fake statistics across
# ranks. Without it each rank normalises with its own batch statistics, exactly like a single
# process with the per-rank batch; gradients are still all-reduced, so the weights stay identical.
# Only the running statistics (used in eval mode) are rank-local: rank 0's are the ones that go
# into checkpoints and the EMA generator. DDP still syncs buffers once, at wrap time.
DDP_KWARGS = {"forward_sync_buffers": False}

WorkerProbe = Callable[[int, int, list[nn.Module]], None]


class DistributedTrainingError(RuntimeError):
    """A distributed run failed; the message carries the failing worker's original error."""


@dataclass(frozen=True)
class FaultInjection:
    """Test-only: rank `rank` dies hard (os._exit) at step `step`, on the first attempt only.

    The marker file is created just before dying, so restarted attempts see it and carry on.
    """

    rank: int
    step: int
    marker: Path

    @classmethod
    def parse(cls, text: str) -> FaultInjection:
        """Parse "rank=1,step=3,marker=/path"; raise ValueError naming what is wrong."""
        fields: dict[str, str] = {}
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            key, sep, value = part.partition("=")
            if not sep or key.strip() not in ("rank", "step", "marker"):
                raise ValueError(f"{FAULT_ENV}={text!r}: bad item {part!r}; expected {FAULT_FORMAT}")
            fields[key.strip()] = value.strip()
        missing = sorted({"rank", "step", "marker"} - fields.keys())
        if missing:
            raise ValueError(f"{FAULT_ENV}={text!r}: missing {', '.join(missing)}; expected {FAULT_FORMAT}")
        try:
            rank, step = int(fields["rank"]), int(fields["step"])
        except ValueError:
            raise ValueError(f"{FAULT_ENV}={text!r}: rank and step must be integers") from None
        if rank < 0 or step < 1 or not fields["marker"]:
            raise ValueError(f"{FAULT_ENV}={text!r}: rank must be >= 0, step >= 1 and marker a non-empty path")
        return cls(rank, step, Path(fields["marker"]).resolve())

    @classmethod
    def from_env(cls) -> FaultInjection | None:
        text = os.environ.get(FAULT_ENV, "").strip()
        return cls.parse(text) if text else None

    def step_hook(self, rank: int) -> Callable[[int], None] | None:
        """The loop's `on_step` for this rank: dies at the step unless the marker already exists."""
        if rank != self.rank:
            return None

        def maybe_die(step: int) -> None:
            if step == self.step and not self.marker.exists():
                self.marker.parent.mkdir(parents=True, exist_ok=True)
                self.marker.touch()
                os._exit(1)  # a hard crash: no exception, no cleanup, as a lost node would look

        return maybe_die


def default_run_name(experiment: str, cfg: ExperimentConfig) -> str:
    """Same params -> same name -> the job resumes; changed params -> a fresh run."""
    return f"{experiment}-{config_hash(cfg)}"


def resolve_storage_path(storage_path: str) -> str:
    """URIs (s3://, gs://, ...) as given; local paths made absolute (pyarrow rejects relative ones)."""
    return storage_path if "://" in storage_path else str(Path(storage_path).expanduser().resolve())


def check_batch_split(cfg: ExperimentConfig, ray_cfg: RayConfig) -> None:
    """The global batch must split evenly, or workers would silently train on a smaller one."""
    batch, workers = cfg.train.batch_size, ray_cfg.num_workers
    if batch % workers:
        raise ValueError(
            f"train.batch_size {batch} is the global batch and must split evenly across "
            f"ray.num_workers {workers}: use a multiple of {workers}"
        )


def fit_distributed(
    experiment: str,
    cfg: ExperimentConfig,
    ray_cfg: RayConfig,
    data: ImageData,
    out_dir: Path,
    *,
    evaluate_factory: Callable[[], Evaluate] | None = None,
    run_name: str | None = None,
    progress: bool = False,
    worker_probe: WorkerProbe | None = None,
) -> TrainResult:
    """Train `cfg` with the same loop as `gan_core.train.train`, on `ray_cfg.num_workers` Ray workers.

    `evaluate_factory` (picklable, no arguments) is called by rank 0 inside its worker to build the
    loop's `evaluate`. `worker_probe(rank, epoch, [G, D])` is a debugging/test hook called on every
    rank after every epoch with its (DDP-wrapped) models. The final checkpoint.pt, grids and
    history.csv are copied into `out_dir`.
    """
    check_batch_split(cfg, ray_cfg)
    fault = FaultInjection.from_env()  # read here: workers may run elsewhere, with another env
    run_name = run_name or default_run_name(experiment, cfg)
    ray = init_ray(ray_cfg, progress)
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig, TrainingFailedError
    from ray.train.torch import TorchConfig, TorchTrainer

    resources = {"CPU": ray_cfg.cpus_per_worker} | ({"GPU": 1} if ray_cfg.use_gpu else {})
    trainer = TorchTrainer(
        _train_worker,
        train_loop_config={
            "experiment": experiment, "cfg": cfg, "data": ray.put(data), "progress": progress,
            "evaluate_factory": evaluate_factory, "worker_probe": worker_probe, "fault": fault,
        },
        scaling_config=ScalingConfig(num_workers=ray_cfg.num_workers, use_gpu=ray_cfg.use_gpu,
                                     resources_per_worker=resources),
        torch_config=TorchConfig(backend="nccl" if ray_cfg.use_gpu else "gloo"),
        run_config=RunConfig(
            name=run_name,
            storage_path=resolve_storage_path(ray_cfg.storage_path),
            failure_config=FailureConfig(max_failures=ray_cfg.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),  # the latest, and one in case it is torn
        ),
    )
    try:
        result = trainer.fit()
    except TrainingFailedError as error:
        raise DistributedTrainingError(f"distributed training of {experiment} (run {run_name}) failed: {error}") from error
    if result.checkpoint is None:
        raise DistributedTrainingError(f"distributed training of {experiment} (run {run_name}) reported no checkpoint")
    with result.checkpoint.as_directory() as final:
        _copy_run_files(Path(final), Path(out_dir))
    return _result_from(experiment, Path(out_dir))


def init_ray(ray_cfg: RayConfig, progress: bool = False) -> Any:
    """Import Ray quietly and connect (a local Ray on this machine, or `ray_cfg.address`); returns `ray`.

    A Ray that is already initialised is reused as it is (tests share one; flows may start it once).
    """
    for key, value in _RAY_ENV.items():
        os.environ.setdefault(key, value)
    import ray

    if not ray.is_initialized():
        if ray_cfg.address:
            import gan_core

            # Ship this package to the cluster's workers (their image provides torch and Ray).
            ray.init(address=ray_cfg.address, log_to_driver=progress,
                     runtime_env={"py_modules": [str(Path(gan_core.__file__).parent)]})
        else:
            # Worker logs stay in Ray's session folder unless progress is asked for; tracebacks
            # still reach the driver through the error fit() raises.
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=progress)
    if not ray_cfg.address:  # a cluster may autoscale; a local Ray would wait forever
        _check_local_resources(ray_cfg, ray.cluster_resources())
    return ray


def _check_local_resources(ray_cfg: RayConfig, available: dict[str, float]) -> None:
    need_cpus = ray_cfg.num_workers * ray_cfg.cpus_per_worker
    if need_cpus > available.get("CPU", 0):
        raise ValueError(
            f"ray.num_workers {ray_cfg.num_workers} x ray.cpus_per_worker {ray_cfg.cpus_per_worker:g} needs "
            f"{need_cpus:g} CPUs, the local Ray has {available.get('CPU', 0):g}: lower either, or set ray.address"
        )
    if ray_cfg.use_gpu and ray_cfg.num_workers > available.get("GPU", 0):
        raise ValueError(
            f"ray.use_gpu with ray.num_workers {ray_cfg.num_workers} needs one GPU per worker, the local "
            f"Ray has {available.get('GPU', 0):g}: set ray.use_gpu false or lower ray.num_workers"
        )


def _train_worker(config: dict[str, Any]) -> None:
    """One rank: the plain training loop with DDP models, Ray checkpoints and reports."""
    import ray.train
    from ray.train import Checkpoint
    from ray.train.torch import get_device, prepare_model

    context = ray.train.get_context()
    rank, world_size = context.get_world_rank(), context.get_world_size()
    wrapped: list[nn.Module] = []  # G then D, in the order the loop wraps them

    def wrap(module: nn.Module) -> nn.Module:
        # G and D each get their own DDP wrapper (prepare_model wraps only when world_size > 1).
        wrapped.append(prepare_model(module, parallel_strategy_kwargs=DDP_KWARGS))
        return wrapped[-1]

    runtime = Runtime(device=get_device(), rank=rank, world_size=world_size, wrap_model=wrap)
    probe: WorkerProbe | None = config["worker_probe"]
    fault: FaultInjection | None = config["fault"]

    restored = ray.train.get_checkpoint()
    with (
        tempfile.TemporaryDirectory(prefix=f"gan-rank{rank}-") as work_dir,
        restored.as_directory() if restored else nullcontext() as restored_dir,
    ):
        work = Path(work_dir)
        if restored_dir is not None:  # earlier grids and history come back with the checkpoint
            _copy_run_files(Path(restored_dir), work)

        def report(epoch: EpochReport) -> None:
            if probe is not None:
                probe(rank, epoch.epoch, wrapped)
            if not runtime.is_main:  # rank 0 alone has written a checkpoint
                ray.train.report(epoch.metrics)
                return
            with tempfile.TemporaryDirectory(prefix="gan-report-") as staging:
                _copy_run_files(work, Path(staging))
                ray.train.report(epoch.metrics, checkpoint=Checkpoint.from_directory(staging))

        factory: Callable[[], Evaluate] | None = config["evaluate_factory"]
        train(
            config["experiment"], config["cfg"], ray.get(config["data"]), work,
            runtime=runtime,
            evaluate=factory() if factory is not None and runtime.is_main else None,
            on_epoch_end=report,
            on_step=fault.step_hook(rank) if fault is not None else None,
            resume_from=work / CHECKPOINT_NAME if restored_dir is not None else None,
            progress=config["progress"],
        )


def _copy_run_files(source: Path, target: Path) -> None:
    """checkpoint.pt, history.csv and the sample grids: what a run's output folder is made of."""
    target.mkdir(parents=True, exist_ok=True)
    for name in (CHECKPOINT_NAME, HISTORY_FILE):
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)
    if (source / SAMPLES_DIR).is_dir():
        shutil.copytree(source / SAMPLES_DIR, target / SAMPLES_DIR, dirs_exist_ok=True)


def _result_from(experiment: str, out_dir: Path) -> TrainResult:
    """The TrainResult of a finished run, rebuilt from its final checkpoint."""
    checkpoint = out_dir / CHECKPOINT_NAME
    history = list(read_checkpoint(checkpoint)["history"])
    _, generator_ema = load_generator(checkpoint)
    return TrainResult(experiment, out_dir, history, checkpoint, generator_ema)
