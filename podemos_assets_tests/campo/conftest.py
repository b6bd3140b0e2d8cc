"""Fixtures of the campo tests: the ingestion core on a temporary lake, and that core served over real HTTP.

The package is imported inside the fixtures, as in the suite's conftest: it reads PODEMOS_HOME at import,
and this file may load before the suite's `pytest_configure` points PODEMOS_HOME away from a demo home."""

from __future__ import annotations

import pytest


@pytest.fixture
def core(tmp_path):
    from podemos_assets_tests.campo.helpers import make_core

    return make_core(tmp_path)


@pytest.fixture
def http(core):
    """A client of `core` behind the real ASGI app on a loopback port."""
    import httpx

    from podemos_assets.ingesta.app import create_app
    from podemos_assets.ingesta.server import serving

    with serving(create_app(core)) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client
