"""`podemos backfill`: extract a branch's days again (after an outage, a fix at the branch, an audit).

One in-process run over the box `[desde, hasta] x sucursal` on the DAGSTER_HOME instance, so the
materializations show in the UI like a backfill launched there. Exit code 1 if any day failed.
"""

from __future__ import annotations

import argparse
from datetime import date

import dagster as dg

from podemos_assets.config import load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sucursal", required=True, nargs="+", help="branch id(s), e.g. suc_007")
    parser.add_argument("--desde", required=True, type=date.fromisoformat, help="first branch-local day (YYYY-MM-DD)")
    parser.add_argument("--hasta", required=True, type=date.fromisoformat, help="last day, inclusive")


def main(args: argparse.Namespace) -> int:
    from podemos_assets.definitions import defs
    from podemos_assets.sucursales.assets import KEYS
    from podemos_assets.sucursales.partitions import BRANCHES, range_tags

    unknown = [s for s in args.sucursal if s not in BRANCHES]
    if unknown:
        raise SystemExit(f"Unknown branch id(s) {unknown}: see the registry {load_settings().branch_registry}.")
    if args.hasta < args.desde:
        raise SystemExit(f"--hasta {args.hasta} is before --desde {args.desde}.")
    settings = load_settings()
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(KEYS.values()))
    failed = 0
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        for suc in args.sucursal:
            result = job.execute_in_process(
                instance=instance, raise_on_error=False,
                tags={**range_tags(args.desde, args.hasta, suc, suc), "podemos/motivo": "backfill-cli"},
            )
            days = (args.hasta - args.desde).days + 1
            if result.success:
                print(f"{suc}: {days} day(s) {args.desde}..{args.hasta} extracted (run {result.run_id})")
            else:
                failed += 1
                error = result.failure_data_for_node("extraccion_sucursales")
                print(f"{suc}: FAILED (run {result.run_id})\n{error.error.message if error else ''}")
    return 1 if failed else 0
