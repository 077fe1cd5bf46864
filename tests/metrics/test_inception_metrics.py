"""Inception FID/KID: numbers through an injected extractor; "unavailable" with a reason when weights are missing."""

import urllib.error
import urllib.request

import pytest
import torch
from torch import nn

from gan_core.metrics import inception
from gan_core.metrics.inception import inception_fid_kid, inception_weights_path

NAMES = {"fid", "kid", "kid_std"}


def _stand_in_extractor() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()


def _rgb(n: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    return (torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(seed)) * 0.5 + shift).clamp(0, 1)


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch):
    """Point torch hub's cache at an empty folder, so no cached weights are found."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return tmp_path / "torch"


@pytest.fixture
def no_download(monkeypatch):
    """Fail the test if anything tries to download the weights."""

    def refuse(*args, **kwargs):
        raise AssertionError("tests must never download Inception weights")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def test_injected_extractor_gives_numbers_that_separate_sets():
    extractor = _stand_in_extractor()
    same = inception_fid_kid(_rgb(60, 0), _rgb(60, 1), extractor)
    shifted = inception_fid_kid(_rgb(60, 0), _rgb(60, 1, shift=0.4), extractor)
    assert same.unavailable == {} and set(same.metrics) == NAMES
    assert shifted.metrics["fid"] > 10 * same.metrics["fid"] > 0
    assert shifted.metrics["kid"] > same.metrics["kid"]


def test_weights_path_follows_torch_home(empty_torch_home):
    assert inception_weights_path() == empty_torch_home / "hub" / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth"


def test_offline_without_download_is_unavailable_with_reason(empty_torch_home, no_download):
    result = inception_fid_kid(_rgb(10, 0), _rgb(10, 1), download=False)
    assert result.metrics == {}
    assert set(result.unavailable) == NAMES
    assert "not cached at" in result.unavailable["fid"] and str(empty_torch_home) in result.unavailable["fid"]


def test_unreachable_download_fails_fast_with_reason(empty_torch_home, no_download, monkeypatch):
    calls = []

    def unreachable(request, timeout):
        calls.append(timeout)
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    result = inception_fid_kid(_rgb(10, 0), _rgb(10, 1))
    assert calls == [inception.DOWNLOAD_PROBE_TIMEOUT_S]
    assert result.metrics == {}
    assert "unreachable" in result.unavailable["kid"] and "Name or service not known" in result.unavailable["kid"]


def test_corrupt_cached_weights_are_unavailable_not_an_exception(empty_torch_home, no_download):
    path = inception_weights_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    result = inception_fid_kid(_rgb(4, 0), _rgb(4, 1))
    assert result.metrics == {} and result.unavailable["fid"].startswith("Inception weights unavailable: ")


def test_grey_images_need_an_extractor():
    with pytest.raises(ValueError, match=r"real images must be RGB \(N, 3, H, W\), got \(4, 1, 16, 16\)"):
        inception_fid_kid(torch.rand(4, 1, 16, 16), torch.rand(4, 3, 16, 16))
