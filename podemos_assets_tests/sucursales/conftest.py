"""Fixtures for the branch ETL tests: one private MariaDB per session, branch databases per test."""

from __future__ import annotations

import itertools
import shutil

import pytest

from podemos_assets.resources.branches import BranchesResource
from podemos_assets.resources.lake import LakeResource
from podemos_assets.sucursales.partitions import BRANCHES
from podemos_assets.sucursales.registry import Branch
from podemos_assets_tests.sucursales.mariadb import FaultProxy, MariaDB

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def mariadb():
    if not shutil.which("mariadb-install-db"):
        # A fail, not a skip: the branch tests are the point of a real server (`.ci/run` installs it).
        pytest.fail("MariaDB server binaries not installed: `apt-get install mariadb-server mariadb-client` "
                    "(what .ci/run does), then `make test` again.")
    server = MariaDB().start()
    yield server
    server.stop(cleanup=True)


@pytest.fixture
def branch_db(mariadb):
    """A fresh branch database (DATETIME(0)); call `branch_db(fractional=6)` for the DATETIME(6) variant."""

    def make(fractional: int = 0) -> str:
        name = f"suc_test_{next(_counter)}"
        mariadb.create_branch(name, fractional)
        return name

    return make


@pytest.fixture
def proxy(mariadb):
    p = FaultProxy(mariadb.port)
    yield p
    p.close()


@pytest.fixture
def fast_branches() -> BranchesResource:
    """Retries without the production back-off delays (the policy itself is tested separately)."""
    return BranchesResource(home="/nonexistent", attempts=3, base_delay_seconds=0.01, max_delay_seconds=0.02)


@pytest.fixture
def lake(tmp_path) -> LakeResource:
    return LakeResource(url=f"file://{tmp_path}/lake")


@pytest.fixture
def point_branch(monkeypatch):
    """Point registry branch `suc_id` (zone optional) at a URL for the duration of a test."""

    def point(suc_id: str, url: str, zona: str = "America/Mexico_City") -> Branch:
        old = BRANCHES[suc_id]
        branch = Branch(old.id, old.nombre, old.estado, zona, url, "")
        monkeypatch.setitem(BRANCHES, suc_id, branch)
        return branch

    return point
