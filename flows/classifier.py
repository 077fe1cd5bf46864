"""The MNIST metrics classifier as its own pipeline step (the DVC `classifier` stage).

    python -m flows.classifier [--params params.yaml]

Its LeNet features score every MNIST generator (FID/KID, class accuracy), so it is trained once
and versioned as an artifact of its own, not retrained inside each experiment.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from flows.cli import params_or_exit
from gan_core.metrics import classifier

CLASSIFIER_DIR = Path("outputs/classifier")


@task
def train_mnist_classifier(prepared_dir: str, out_dir: str) -> dict[str, float]:
    """Train the LeNet on prepared/mnist.pt; writes classifier.pt and metrics.json, returns the metrics."""
    classifier.main(["--prepared", prepared_dir, "--out", out_dir])
    return json.loads((Path(out_dir) / "metrics.json").read_text())


@flow(name="classifier", log_prints=True)
def classifier_flow(prepared_dir: str = "prepared", out_dir: str = str(CLASSIFIER_DIR)) -> dict[str, float]:
    """Train the metrics classifier and publish its test accuracy."""
    metrics = train_mnist_classifier(prepared_dir, out_dir)
    create_table_artifact(
        key="mnist-classifier",
        table=[{"metric": name, "value": round(value, 4)} for name, value in metrics.items()],
        description=f"MNIST LeNet used for FID/KID and class accuracy: {out_dir}/classifier.pt",
    )
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.classifier", description=classifier_flow.__doc__)
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    params = params_or_exit(args.params)
    classifier_flow(params.data.prepared)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
