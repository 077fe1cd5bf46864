"""Render docs/results/results.jsonl (written by bench.results) as the markdown tables in README.

    python -m bench.results_table [docs/results/results.jsonl]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _l1_weight(line: dict) -> float:
    """For lines written before bench.results recorded it: the override, else params.yaml's value."""
    from gan_core.config import load_params

    override = next((item for item in line["overrides"] if item.startswith("train.l1_weight=")), None)
    return float(override.split("=")[1]) if override else load_params().experiment(line["experiment"]).train.l1_weight


def tables(lines: list[dict]) -> str:
    mnist = [line for line in lines if line["experiment"] in ("mnist_gan", "mnist_cgan")]
    inpaint = [line for line in lines if line["experiment"].endswith("_inpaint")]
    rgb = [line for line in lines if line["experiment"].startswith("celeba")]
    out = ["| variant | family | mode-seeking | images seen | s/epoch | FID (LeNet) | KID (LeNet) | digits covered | label entropy | class accuracy |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for line in mnist:
        m = line["metrics"]
        out.append(f"| `{line['variant']}` | {line['family']} | {line['mode_seeking_weight']:g} | {line['images_seen']:,} | "
                   f"{line['seconds_per_epoch']:g} | {fmt(m.get('fid'), 4)} | {fmt(m.get('kid'), 4)} | "
                   f"{fmt(m.get('modes_covered'))} | {fmt(m.get('label_entropy'))} | {fmt(m.get('class_accuracy'))} |")
    out += ["", "| variant | family | mode-seeking | L1 | images seen | hole PSNR (dB) | SSIM | L1 | C(y) PSNR / SSIM / L1 | context-mean PSNR / SSIM / L1 | diversity | calibration (Spearman) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for line in inpaint:
        m = line["metrics"]
        l1 = line.get("l1_weight", _l1_weight(line))
        out.append(f"| `{line['variant']}` | {line['family']} | {line['mode_seeking_weight']:g} | {l1:g} | {line['images_seen']:,} | "
                   f"{fmt(m['hole_psnr'])} | {fmt(m['hole_ssim'], 2)} | {fmt(m['hole_l1'], 2)} | "
                   f"{fmt(m['baseline_cond_psnr'])} / {fmt(m['baseline_cond_ssim'], 2)} / {fmt(m['baseline_cond_l1'], 2)} | "
                   f"{fmt(m['baseline_mean_psnr'])} / {fmt(m['baseline_mean_ssim'], 2)} / {fmt(m['baseline_mean_l1'], 2)} | "
                   f"{fmt(m['diversity'], 2)} | {fmt(m['calibration'], 2)} |")
    out += ["", "| variant | family | images seen | s/epoch | FID / KID (Inception) |", "|---|---|---|---|---|"]
    for line in rgb:
        reason = "; ".join(sorted(set(line["unavailable"].values())))[:90]
        score = f"{fmt(line['metrics'].get('fid'), 4)} / {fmt(line['metrics'].get('kid'), 4)}" if line["metrics"] else f"unavailable: {reason}"
        out.append(f"| `{line['variant']}` | {line['family']} | {line['images_seen']:,} | {line['seconds_per_epoch']:g} | {score} |")
    return "\n".join(out)


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/results/results.jsonl")
    latest: dict[str, dict] = {}
    for text in path.read_text().splitlines():
        line = json.loads(text)
        latest[line["variant"]] = line  # a rerun of a variant replaces its earlier line
    print(tables(list(latest.values())))


if __name__ == "__main__":
    main()
