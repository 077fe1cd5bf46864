"""The download path with the network faked: retries, PNG checks, and the CelebA help message."""

import io

import pytest
import torchvision.datasets
from data_builders import write_mnist

from gan_core.data import fetch
from gan_core.data.errors import DataError

PNG = fetch.PNG_SIGNATURE + b"rest of a png"


class FlakyNetwork:
    """urlopen stand-in: the first `failures` calls raise, then it serves `body`."""

    def __init__(self, failures, body=PNG):
        self.failures, self.body, self.urls = failures, body, []

    def __call__(self, url, timeout):
        self.urls.append(url)
        if len(self.urls) <= self.failures:
            raise OSError("connection reset")
        return io.BytesIO(self.body)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(fetch.time, "sleep", lambda seconds: None)


def test_sic_slices_are_downloaded_with_retries_and_celeba_failure_explains_what_to_do(tmp_path, monkeypatch):
    write_mnist(tmp_path)  # already present: torchvision's MNIST download is not called
    network = FlakyNetwork(failures=2)
    monkeypatch.setattr(fetch.urllib.request, "urlopen", network)

    def celeba_unavailable(*args, **kwargs):
        raise RuntimeError("Google Drive quota exceeded")

    monkeypatch.setattr(torchvision.datasets, "CelebA", celeba_unavailable)
    with pytest.raises(DataError, match=r"quota exceeded.*celeba/img_align_celeba/\*\.jpg.*--mirror"):
        fetch.fetch_data(tmp_path)
    assert sorted(p.name for p in (tmp_path / "sic").iterdir()) == [f"{name}.png" for name in sorted(fetch.SIC_SLICES)]
    assert (tmp_path / "sic" / "slice7.png").read_bytes() == PNG
    assert network.urls[0].endswith("/main/SiC%20Diamonds%20Inpainting/slice7.png") and len(network.urls) == 7


def test_download_gives_up_after_the_last_attempt(monkeypatch):
    monkeypatch.setattr(fetch.urllib.request, "urlopen", FlakyNetwork(failures=10))
    with pytest.raises(DataError, match=r"slice7\.png: download failed after 4 attempts \(connection reset\)"):
        fetch.download_png(fetch.SIC_URL.format(name="slice7"))


def test_an_html_error_page_is_not_saved_as_a_png(monkeypatch):
    monkeypatch.setattr(fetch.urllib.request, "urlopen", FlakyNetwork(failures=0, body=b"<html>rate limited</html>"))
    with pytest.raises(DataError, match="not a PNG file"):
        fetch.download_png("https://example.invalid/slice7.png")
