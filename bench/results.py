"""Real-data results for README: each variant trained, scored and pictured the same way.

    python -m bench.results --prepared prepared [--only mnist_cgan_dcgan_ms1,...] [--out docs/results]

Trains every variant below with gan_core's loop on the prepared real data (`make run` or
`python -m gan_core.data.prepare` first), scores its EMA generator with gan_core.metrics on
held-out images, writes its final sample grid (and, for inpainting, an uncertainty figure) to
`<out>/<variant>.png`, and appends one JSON line per variant to `<out>/results.jsonl`.
Sizes are chosen for a 2-core CPU; they are part of each JSON line.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from pathlib import Path

import torch

from gan_core.config import load_params
from gan_core.data.datasets import load_eval_data, load_train_data
from gan_core.data.masks import cut_hole, fixed_boxes
from gan_core.inpaint import inpaint_image
from gan_core.metrics.classifier import accuracy, load_classifier, save_classifier, train_classifier
from gan_core.metrics.evaluate import evaluate_generator
from gan_core.train import LATEST_GRID, train
from gan_core.uncertainty import uncertainty_figure

THESIS_MNIST = ["model.family=thesis", "model.nz=100", "train.batch_size=128", "train.lr_d=0.00009",
                "train.lr_g=0.0003", "train.d_steps=2", "train.betas=[0.9,0.999]"]
THESIS_CELEBA = ["model.family=thesis", "model.nz=400", "train.batch_size=128", "train.lr_d=0.00007",
                 "train.lr_g=0.00007"]
THESIS_MNIST_INPAINT = ["model.family=thesis", "model.nz=200", "model.ngf=4", "model.ndf=16", "hole.size=18",
                        "hole.top=8", "hole.left=8", "train.batch_size=8", "train.lr_g=0.001", "train.lr_d=0.0003",
                        "train.betas=[0.9,0.999]", "train.l1_weight=0"]

# name: (experiment, overrides relative to the experiment's block)
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "mnist_gan_dcgan_ms0": ("mnist_gan", ["train.mode_seeking_weight=0", "train.epochs=2", "train.batches_per_epoch=300"]),
    "mnist_gan_dcgan_ms1": ("mnist_gan", ["train.mode_seeking_weight=1", "train.epochs=2", "train.batches_per_epoch=300"]),
    "mnist_gan_thesis_ms0": ("mnist_gan", THESIS_MNIST + ["train.mode_seeking_weight=0", "train.epochs=8", "train.batches_per_epoch=200"]),
    "mnist_gan_thesis_ms1": ("mnist_gan", THESIS_MNIST + ["train.mode_seeking_weight=1", "train.epochs=8", "train.batches_per_epoch=200"]),
    "mnist_cgan_dcgan_ms0": ("mnist_cgan", ["train.mode_seeking_weight=0", "train.epochs=2", "train.batches_per_epoch=300"]),
    "mnist_cgan_dcgan_ms1": ("mnist_cgan", ["train.mode_seeking_weight=1", "train.epochs=2", "train.batches_per_epoch=300"]),
    "mnist_cgan_thesis_ms0": ("mnist_cgan", THESIS_MNIST + ["train.mode_seeking_weight=0", "train.epochs=8", "train.batches_per_epoch=200"]),
    "mnist_cgan_thesis_ms1": ("mnist_cgan", THESIS_MNIST + ["train.mode_seeking_weight=1", "train.epochs=8", "train.batches_per_epoch=200"]),
    "mnist_inpaint_dcgan_ms005": ("mnist_inpaint", ["train.mode_seeking_weight=0.05", "train.epochs=2", "train.batches_per_epoch=250"]),
    "mnist_inpaint_dcgan_ms0": ("mnist_inpaint", ["train.mode_seeking_weight=0", "train.epochs=2", "train.batches_per_epoch=250"]),
    "mnist_inpaint_thesis_ms005": ("mnist_inpaint", THESIS_MNIST_INPAINT + ["train.mode_seeking_weight=0.05", "train.epochs=2", "train.batches_per_epoch=600"]),
    "sic_inpaint_thesis_ms005": ("sic_inpaint", ["train.mode_seeking_weight=0.05", "train.epochs=3", "train.batches_per_epoch=400"]),
    "sic_inpaint_thesis_ms0": ("sic_inpaint", ["train.mode_seeking_weight=0", "train.epochs=3", "train.batches_per_epoch=400"]),
    "sic_inpaint_dcgan_l1": ("sic_inpaint", ["model.family=dcgan", "model.nz=32", "model.ngf=32", "model.ndf=32", "hole.size=14",
                                             "hole.top=7", "hole.left=7", "train.batch_size=32", "train.lr_g=0.0002",
                                             "train.lr_d=0.0002", "train.betas=[0.5,0.999]", "train.l1_weight=1",
                                             "train.epochs=3", "train.batches_per_epoch=120"]),
    "celeba32_gan_dcgan": ("celeba32_gan", ["train.epochs=5"]),
    "celeba32_gan_thesis": ("celeba32_gan", THESIS_CELEBA + ["train.epochs=2", "train.batches_per_epoch=35"]),
    "celeba64_gan_dcgan": ("celeba64_gan", ["train.epochs=4"]),
}


def classifier_for(prepared: Path, out: Path) -> Path:
    """The MNIST metrics classifier: the pipeline's if it exists, else trained here once."""
    pipeline = Path("outputs/classifier/classifier.pt")
    if pipeline.is_file():
        return pipeline
    path = out / "classifier.pt"
    if not path.is_file():
        data = torch.load(prepared / "mnist.pt", weights_only=True)
        model = train_classifier(data["train_images"], data["train_labels"])
        save_classifier(model, path, {"test_accuracy": accuracy(model, data["test_images"], data["test_labels"])})
    return path


def run_variant(name: str, experiment: str, overrides: list[str], prepared: Path, out: Path, work: Path) -> dict:
    params = load_params(overrides=[f"data.prepared={prepared}"] + [f"{experiment}.{item}" for item in overrides])
    cfg = params.experiment(experiment)
    train_data = load_train_data(cfg, prepared)
    real = load_eval_data(cfg, prepared, cfg.eval.n_samples)
    run_dir = work / name
    shutil.rmtree(run_dir, ignore_errors=True)
    started = time.perf_counter()
    result = train(experiment, cfg, train_data, run_dir, progress=False)
    wall = time.perf_counter() - started
    classifier = load_classifier(classifier_for(prepared, work)) if cfg.dataset == "mnist" and cfg.task != "inpaint" else None
    scores = evaluate_generator(cfg, result.generator_ema, real, classifier=classifier, n=cfg.eval.n_samples, seed=0, device="cpu")
    shutil.copyfile(run_dir / LATEST_GRID, out / f"{name}.png")
    if cfg.task == "inpaint":
        truth = real.images[:1].float() / 255
        top, left, size = cfg.hole_box()
        maps = inpaint_image(result.generator_ema, truth[0], (top, left), 1000)
        uncertainty_figure(cut_hole(truth, fixed_boxes(1, top, left), size), maps, truth=truth,
                           path=out / f"{name}_uncertainty.png")
    history = result.history
    return {
        "bench": "results", "variant": name, "experiment": experiment, "overrides": overrides,
        "family": cfg.model.family, "mode_seeking_weight": cfg.train.mode_seeking_weight, "l1_weight": cfg.train.l1_weight,
        "epochs": cfg.train.epochs, "batches_per_epoch": cfg.train.batches_per_epoch, "batch_size": cfg.train.batch_size,
        "images_seen": int(history[-1]["step"]) * cfg.train.batch_size,
        "seconds_per_epoch": round(sum(row["epoch_seconds"] for row in history) / len(history), 1),
        "train_wall_seconds": round(wall, 1),
        "metrics": {key: round(value, 4) for key, value in scores.metrics.items()},
        "unavailable": scores.unavailable, "eval_seconds": round(scores.seconds, 1),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepared", default="prepared")
    parser.add_argument("--out", default="docs/results")
    parser.add_argument("--work", default="outputs/results")
    parser.add_argument("--only", default="", help="comma-separated variant names (default: all)")
    args = parser.parse_args()
    out, work, prepared = Path(args.out), Path(args.work), Path(args.prepared)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    chosen = [name for name in VARIANTS if not args.only or name in args.only.split(",")]
    for name in chosen:
        experiment, overrides = VARIANTS[name]
        line = run_variant(name, experiment, overrides, prepared, out, work)
        with (out / "results.jsonl").open("a") as handle:
            handle.write(json.dumps(line) + "\n")
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
