"""`podemos instance-setup`: prepare DAGSTER_HOME with the repo's dagster.yaml and the pool limits."""

from __future__ import annotations

import argparse
import shutil

from podemos_assets.config import REPO_ROOT, load_settings

# Concurrency pools (DESIGN.md §3): simultaneous branch connections, and the single DuckDB writer.
POOL_LIMITS = {"sucursales": 16, "warehouse": 1}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="rewrite dagster.yaml even if unchanged")


def main(args: argparse.Namespace) -> int:
    settings = load_settings()
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target, source = home / "dagster.yaml", REPO_ROOT / "dagster.yaml"
    # The checkout's dagster.yaml is the source of truth: an instance made by an older checkout follows it.
    if args.force or not target.exists() or target.read_bytes() != source.read_bytes():
        shutil.copyfile(source, target)
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        for pool, limit in POOL_LIMITS.items():
            instance.event_log_storage.set_concurrency_slots(pool, limit)
    print(f"DAGSTER_HOME={home} ready; pools: {POOL_LIMITS}")
    return 0
