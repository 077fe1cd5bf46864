"""One checkpoint file per run: everything needed to resume training exactly.

The file holds only tensors, numbers, strings, lists and dicts, so it loads with
`torch.load(weights_only=True)`: opening a checkpoint never unpickles arbitrary code.
Writes are atomic, and the previous good checkpoint is kept beside the new one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gan_core.atomic import atomic_torch_save
from gan_core.config import ExperimentConfig

FORMAT_VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"
PREVIOUS_NAME = "checkpoint.prev.pt"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read or does not belong to this run."""


@dataclass
class TrainingState:
    """What the loop needs to continue: models, optimisers, scaler, counters and history."""

    generator: nn.Module
    discriminator: nn.Module
    generator_ema: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    epoch: int = 0  # completed epochs
    step: int = 0  # completed generator updates
    history: list[dict[str, float]] | None = None


def capture_rng() -> dict[str, Any]:
    """RNG states of torch, numpy and python, as weights-only-loadable objects."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": _to_lists(random.getstate()),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state((numpy_state["kind"], numpy_state["keys"].numpy().astype(np.uint32), numpy_state["pos"],
                         numpy_state["has_gauss"], numpy_state["cached"]))
    random.setstate(_to_tuples(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _to_lists(value: Any) -> Any:
    return [_to_lists(item) for item in value] if isinstance(value, tuple) else value


def _to_tuples(value: Any) -> Any:
    return tuple(_to_tuples(item) for item in value) if isinstance(value, list) else value


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module inside a DDP wrapper (Ray's prepare_model wraps only when world_size > 1)."""
    return getattr(module, "module", module)


def save_checkpoint(directory: Path, experiment: str, cfg: ExperimentConfig, state: TrainingState) -> Path:
    """Write `checkpoint.pt` atomically, keeping the one before it as `checkpoint.prev.pt`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT_VERSION,
        "experiment": experiment,
        "config": cfg.model_dump(mode="json"),
        "epoch": state.epoch,
        "step": state.step,
        "generator": unwrap(state.generator).state_dict(),
        "discriminator": unwrap(state.discriminator).state_dict(),
        "generator_ema": state.generator_ema.state_dict(),
        "opt_g": state.opt_g.state_dict(),
        "opt_d": state.opt_d.state_dict(),
        "scaler": state.scaler.state_dict(),
        "rng": capture_rng(),
        "history": state.history or [],
    }
    target = directory / CHECKPOINT_NAME
    staged = directory / f".{CHECKPOINT_NAME}.new"
    atomic_torch_save(payload, staged)  # complete on disk before the current one moves aside
    if target.exists():
        target.replace(directory / PREVIOUS_NAME)
    staged.replace(target)
    return target


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint file (weights only) or raise CheckpointError saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for truncated/corrupt zips
        previous = path.with_name(PREVIOUS_NAME)
        hint = f"; the previous checkpoint {previous} is intact" if previous.is_file() and previous != path else ""
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated ({type(error).__name__}: {error}){hint}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path} is not a gan_core checkpoint of format {FORMAT_VERSION}")
    return payload


def restore_state(payload: dict[str, Any], state: TrainingState) -> None:
    """Load a checkpoint's tensors into freshly built models and optimisers, in place."""
    unwrap(state.generator).load_state_dict(payload["generator"])
    unwrap(state.discriminator).load_state_dict(payload["discriminator"])
    state.generator_ema.load_state_dict(payload["generator_ema"])
    state.opt_g.load_state_dict(payload["opt_g"])
    state.opt_d.load_state_dict(payload["opt_d"])
    state.scaler.load_state_dict(payload["scaler"])
    state.epoch, state.step = int(payload["epoch"]), int(payload["step"])
    state.history = list(payload["history"])
    restore_rng(payload["rng"])


def load_generator(path: Path) -> tuple[ExperimentConfig, nn.Module]:
    """The EMA generator of a training checkpoint, rebuilt from its config, in eval mode."""
    from gan_core.models import build_generator

    payload = read_checkpoint(path)
    cfg = ExperimentConfig.model_validate(payload["config"])
    generator = build_generator(cfg)
    generator.load_state_dict(payload["generator_ema"])
    return cfg, generator.eval()


def export_generator(path: Path, experiment: str, cfg: ExperimentConfig, generator: nn.Module) -> Path:
    """A small serving artifact: the EMA generator's weights plus its validated config."""
    payload = {"format": FORMAT_VERSION, "experiment": experiment, "config": cfg.model_dump(mode="json"),
               "state_dict": unwrap(generator).state_dict()}
    atomic_torch_save(payload, Path(path))
    return Path(path)


def load_exported_generator(path: Path) -> tuple[str, ExperimentConfig, nn.Module]:
    """Rebuild an exported generator (weights only, never arbitrary code)."""
    from gan_core.models import build_generator

    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(f"generator file {path} cannot be read ({type(error).__name__}: {error})") from None
    if not isinstance(payload, dict) or "state_dict" not in payload or "config" not in payload:
        raise CheckpointError(f"generator file {path} is not an exported gan_core generator")
    cfg = ExperimentConfig.model_validate(payload["config"])
    generator = build_generator(cfg)
    generator.load_state_dict(payload["state_dict"])
    return str(payload["experiment"]), cfg, generator.eval()
