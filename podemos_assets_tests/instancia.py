"""The Dagster instance of the tests: Dagster's `instance_for_test` (a temporary DAGSTER_HOME) with the
embedded default's storage, the `instance_class` of the repo's dagster.yaml, so what the tests store and
read goes through what the demo and `make ui` use (podemos_assets/instance_storage_sqlite.py)."""

from __future__ import annotations

import dagster as dg
import yaml

from podemos_assets.config import REPO_ROOT

INSTANCE_CLASS = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())["instance_class"]


def instance_for_test(overrides: dict | None = None, **kwargs):
    """`dg.instance_for_test` on the repo's instance class (its other settings stay Dagster's test ones)."""
    return dg.instance_for_test(overrides={"instance_class": INSTANCE_CLASS, **(overrides or {})}, **kwargs)
