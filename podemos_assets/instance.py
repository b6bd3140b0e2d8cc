"""`podemos instance-setup`: prepare DAGSTER_HOME with the repo's dagster.yaml and the pool limits."""

from __future__ import annotations

import argparse
import shutil

from podemos_assets.config import REPO_ROOT, load_settings

# Concurrency pools (DESIGN.md §3): simultaneous branch connections, and the single DuckDB writer.
POOL_LIMITS = {"sucursales": 16, "warehouse": 1}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="overwrite an existing dagster.yaml")


def main(args: argparse.Namespace) -> int:
    settings = load_settings()
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if args.force or not target.exists():
        shutil.copyfile(REPO_ROOT / "dagster.yaml", target)
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        for pool, limit in POOL_LIMITS.items():
            instance.event_log_storage.set_concurrency_slots(pool, limit)
    print(f"DAGSTER_HOME={home} ready; pools: {POOL_LIMITS}")
    return 0
