"""What a training flow leaves for people to read: metrics.json, the loss-curve figure, Prefect artifacts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from gan_core.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LOSS_CURVES = ("loss_d", "loss_g")
D_OUTPUTS = ("d_real", "d_fake")


def write_metrics_json(path: Path, metrics: dict[str, float]) -> Path:
    """The stage's DVC metrics file: finite numbers only (JSON has no NaN), sorted for readable diffs."""
    finite = {key: round(float(value), 6) for key, value in sorted(metrics.items()) if math.isfinite(value)}
    atomic_write_bytes(path, (json.dumps(finite, indent=2) + "\n").encode())
    return path


def loss_curve_figure(history: list[dict[str, float]], title: str) -> Figure:
    """Per-epoch G and D losses, and D's mean output on real and fake images (the balance of the game)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display, no pyplot global state
    from matplotlib.figure import Figure

    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(9, 3.2))
    FigureCanvasAgg(figure)
    losses, outputs = figure.subplots(1, 2)
    for axis, keys, label in ((losses, LOSS_CURVES, "loss"), (outputs, D_OUTPUTS, "mean sigmoid(D)")):
        for key in keys:
            axis.plot(epochs, [row[key] for row in history], marker="o", label=key)
        axis.set_xlabel("epoch")
        axis.set_ylabel(label)
        axis.legend()
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def publish_artifacts(key: str, metrics: dict[str, float], summary: str) -> None:
    """Keyed Prefect artifacts (one per experiment, versioned by the server): final metrics and a summary."""
    create_table_artifact(
        key=f"{key}-metrics",
        table=[{"metric": name, "value": round(value, 4)} for name, value in sorted(metrics.items())],
        description=f"{key}: final metrics",
    )
    create_markdown_artifact(key=f"{key}-summary", markdown=summary, description=f"{key}: run summary")
