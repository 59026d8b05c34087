"""Fixtures of the dataset tests: an empty cache directory, and no network."""

import pytest

from pytrainc.datasets import _cache


class Offline:
    """Stands in for urlopen: every download fails as without network."""

    def __init__(self):
        self.urls = []

    def __call__(self, url, timeout=None):
        self.urls.append(url)
        raise OSError("no network in tests")


@pytest.fixture
def data_cache(monkeypatch, tmp_path):
    """`$PYTRAINC_DATA` set to a new, empty directory (returned), downloads refused."""
    path = tmp_path / "cache"
    path.mkdir()
    monkeypatch.setenv("PYTRAINC_DATA", str(path))
    monkeypatch.delenv("PYTRAINC_HOME", raising=False)
    monkeypatch.setattr(_cache, "urlopen", Offline())
    return path
