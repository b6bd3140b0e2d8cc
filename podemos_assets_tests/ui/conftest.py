"""Fixtures of the UI test: the tiny demo's instance, and the real webserver serving it."""

from __future__ import annotations

import pytest

from podemos_assets_tests.ui.tiny_demo import TinyDemo, tiny_demo_once
from podemos_assets_tests.ui.webserver import dagster_webserver


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory) -> TinyDemo:
    return tiny_demo_once(tmp_path_factory)


@pytest.fixture
def webserver_url(tiny_demo, tmp_path):
    """Base URL of `dagster-webserver -w workspace.yaml` on the tiny demo's DAGSTER_HOME."""
    with dagster_webserver(tiny_demo.env, tmp_path / "webserver.log") as url:
        yield url
