"""FID and KID on the standard Inception-v3 features (torch-fidelity's port of the TF weights), for RGB sets.

The weights (~92 MB) are fetched once into torch's hub cache, `$TORCH_HOME/hub/checkpoints/`
(default ~/.cache/torch), the same file torchmetrics and torch-fidelity use. On a machine that
cannot download them, copy that file there by hand. Without them the metrics are reported as
unavailable with the reason: a number from other weights would not be comparable with any FID.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import Tensor, nn
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

from gan_core.metrics.distances import fid_kid

DOWNLOAD_PROBE_TIMEOUT_S = 5.0  # offline machines fail in well under a second; a firewall may just hang


@dataclass
class MetricResult:
    """Metrics that could be computed, and for each one that could not, why."""

    metrics: dict[str, float] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)


class InceptionFeatures(nn.Module):
    """Float RGB images in [0, 1] -> (B, 2048) pool features; resizing to 299 px happens inside."""

    def __init__(self, weights_path: Path) -> None:
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3  # torch-fidelity's net, never in train mode

        self.inception = NoTrainInceptionV3(
            name="inception-v3-compat", features_list=["2048"], feature_extractor_weights_path=str(weights_path)
        )

    def forward(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, 2048); the net expects uint8, so round rather than truncate."""
        return self.inception(x.mul(255).round().to(torch.uint8))


def inception_weights_path() -> Path:
    """Where torch hub caches the FID Inception weights (follows TORCH_HOME / XDG_CACHE_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(URL_INCEPTION_V3).path).name


def load_inception(download: bool = True) -> InceptionFeatures:
    """The Inception feature net from the hub cache, downloading the weights first if allowed.

    A quick probe with a short timeout comes before the download, so an offline machine fails
    at once instead of waiting on the hub's untimed request.
    """
    path = inception_weights_path()
    if not path.is_file():
        if not download:
            raise FileNotFoundError(f"Inception weights not cached at {path} and downloading is off")
        try:
            urllib.request.urlopen(
                urllib.request.Request(URL_INCEPTION_V3, method="HEAD"), timeout=DOWNLOAD_PROBE_TIMEOUT_S
            ).close()
        except OSError as error:
            raise ConnectionError(
                f"Inception weights not cached at {path} and {URL_INCEPTION_V3} is unreachable ({error}); "
                "copy the file there to enable Inception FID/KID"
            ) from error
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(URL_INCEPTION_V3, str(path))
    return InceptionFeatures(path)


def inception_fid_kid(
    real: Tensor,
    fake: Tensor,
    feature_extractor: nn.Module | None = None,
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    download: bool = True,
) -> MetricResult:
    """FID, KID and KID std of two RGB image sets (uint8 or [0, 1] float, (N, 3, H, W)).

    `feature_extractor` replaces Inception (tests use a small stand-in); without one the
    Inception weights are loaded, and if that fails the three metrics come back unavailable.
    """
    names = ("fid", "kid", "kid_std")
    if feature_extractor is None:
        for label, images in (("real", real), ("fake", fake)):
            if images.dim() != 4 or images.shape[1] != 3:
                raise ValueError(f"inception_fid_kid: {label} images must be RGB (N, 3, H, W), got {tuple(images.shape)}")
        try:
            feature_extractor = load_inception(download).to(device)
        except Exception as error:  # any failure to obtain the weights: report it, never a made-up number
            reason = f"Inception weights unavailable: {type(error).__name__}: {error}"
            return MetricResult(unavailable=dict.fromkeys(names, reason))
    return MetricResult(metrics=fid_kid(feature_extractor, real, fake, seed=seed, device=device))
