"""Demo step `pagos`: merge the demo days' branch extracts and build the reports, in one in-process run.

pagos_merge, the dbt reports and their checks are daily single-run backfills, so the whole range is one
run: the merge walks the days in order, dbt builds once with the window as vars.
"""

from __future__ import annotations

import dagster as dg
import duckdb


def run(ctx) -> None:
    days = [d.isoformat() for d in ctx.scenario.dates]
    graph = ctx.defs.resolve_asset_graph()
    selection = dg.AssetSelection.groups("pagos")
    keys = selection.resolve(graph)
    result = ctx.materialize(
        selection,
        tags={"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]},
    )
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                print("      " + event.step_failure_data.error.message.strip()[:600])
        raise SystemExit("pagos: the merge/report run failed (errors above); the demo stops here.")
    checks = result.get_asset_check_evaluations()
    failed = sorted(c.check_name for c in checks if not c.passed)
    with duckdb.connect(str(ctx.settings.warehouse_path), read_only=True) as con:
        pagos, clientes = con.execute("SELECT count(*), count(DISTINCT id_cliente) FROM pagos_historicos").fetchone()
        motivos = con.execute("SELECT motivo, count(*) FROM pagos_cuarentena GROUP BY 1 ORDER BY 1").fetchall()
        reportes = con.execute("SELECT count(*), coalesce(sum(monto_neto), 0) FROM cobranza_diaria_sucursal").fetchone()
    print(f"    {len(keys)} assets, run {'ok' if result.success else 'FAILED'}: pagos_historicos {pagos} payments of "
          f"{clientes} clients; quarantine {dict(motivos) or 'empty'}")
    print(f"    cobranza_diaria_sucursal: {reportes[0]} branch-days, {reportes[1]} MXN net; "
          f"checks {len(checks) - len(failed)} passed, {len(failed)} failed {failed or ''}")
