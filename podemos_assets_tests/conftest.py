"""Fixtures shared by every capability's tests: an isolated PODEMOS_HOME and its resources."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported in the fixtures: the package reads PODEMOS_HOME at import (pytest_configure)
    from podemos_assets.config import Settings


def pytest_configure(config):
    """The suite never reads the developer's demo (`make demo` fills .podemos/, and the Makefile exports it as
    PODEMOS_HOME): modules that read the settings at import (the branch registry behind the partitions)
    would otherwise see the demo's 20 branches instead of the packaged 200. Set before any test module
    imports the package, in the controller and in each xdist worker (so this file imports it only in its
    fixtures): a demo home would also move GO_LIVE to the demo's first day."""
    home = tempfile.mkdtemp(prefix="podemos-tests-")
    os.environ["PODEMOS_HOME"] = home
    os.environ["DAGSTER_HOME"] = os.path.join(home, "dagster_home")
    os.makedirs(os.environ["DAGSTER_HOME"], exist_ok=True)


def pytest_collection_modifyitems(items):
    """Tests marked `starts_first` go first (a stable sort, the same in every xdist worker): the real-daemon
    test mostly waits for the daemon for minutes, so started first it overlaps the rest of the suite instead
    of closing it alone."""
    items.sort(key=lambda item: item.get_closest_marker("starts_first") is None)


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings whose every location is under a fresh temporary PODEMOS_HOME."""
    from podemos_assets.config import load_settings

    return load_settings({"PODEMOS_HOME": str(tmp_path / "podemos")})


@pytest.fixture
def resources(settings) -> dict[str, object]:
    from podemos_assets.resources import build_resources

    return build_resources(settings)
