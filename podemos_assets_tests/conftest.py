"""Fixtures shared by every capability's tests: an isolated PODEMOS_HOME and its resources."""

from __future__ import annotations

import pytest

from podemos_assets.config import Settings, load_settings
from podemos_assets.resources import build_resources


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings whose every location is under a fresh temporary PODEMOS_HOME."""
    return load_settings({"PODEMOS_HOME": str(tmp_path / "podemos")})


@pytest.fixture
def resources(settings) -> dict[str, object]:
    return build_resources(settings)
