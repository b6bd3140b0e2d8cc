"""Benchmark: one regulatory day end to end at realistic volume (15 sources, ~5M rows).

Measures, in one process: generating the day's files and putting the branch payments in the warehouse the
way production does (raw branch extracts merged by `pagos_historicos`, dbt's `cobranza_diaria_sucursal`
built; not timed against the window: that is the payments night, measured in payments_layout.py), the Dagster run
that ingests the 15 sources (read, pandera, control totals, Parquet) and delivers the report
(sections, reconciliation, XLSX, manifest), and a baseline in the same run: only parsing the same files
with the same readers (no validation, no reconciliation, no report, no Dagster).
Prints wall times, the ratio to the baseline and the margin against the 02:00-06:00 window (goal <= 180 s).
Run: .venv/bin/python benchmarks/regulatory_day.py [--scale 1.0]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import time as clock_time

import dagster as dg

ROWS = {  # a realistic day for 200 branches (sum ~5.1M)
    "core_creditos": 1_000_000, "clientes_kyc": 1_000_000, "sucursales_pagos": 1_500_000, "app_campo": 300_000,
    "contabilidad_gl": 50_000, "tesoreria": 2_000, "spei": 400_000, "corresponsales": 300_000,
    "buro_credito": 200_000, "pld_alertas": 20_000, "cobranza": 200_000, "seguros": 150_000,
    "quejas_condusef": 5_000, "asesores": 3_000, "catalogos_cnbv": 5_000,
}
FECHA = "2026-11-20"
WINDOW_SECONDS = 4 * 3600  # 02:00 build to the 06:00 deadline
GOAL_SECONDS = 180


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every source's row count")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    # Its own home, named before the definitions are imported: the Makefile's PODEMOS_HOME after `make demo`
    # holds the demo's 20-branch registry and goes live on the demo's first day (after FECHA).
    home = tempfile.mkdtemp(prefix="bench_regulatorio_")
    os.environ.update(PODEMOS_HOME=home, PODEMOS_GO_LIVE="2026-10-01")
    import warnings

    warnings.simplefilter("ignore")
    from podemos_assets import pagos, regulatorio
    from podemos_assets.config import load_settings
    from podemos_assets.contracts import arrow_schema
    from podemos_assets.demo import regulatorio as gen
    from podemos_assets.regulatorio.assets import REPORT_KEY, source_key
    from podemos_assets.regulatorio.extracts import warehouse_rows_sql
    from podemos_assets.regulatorio.readers import READERS
    from podemos_assets.regulatorio.registry import at, load_sources
    from podemos_assets.regulatorio.report import latest_manifest
    from podemos_assets.regulatorio.schemas import SOURCE_MODELS
    from podemos_assets.resources import build_resources
    from podemos_assets.resources.clock import ClockResource
    from podemos_assets.sucursales.registry import load_registry

    settings = load_settings({"PODEMOS_HOME": home})
    res = build_resources(settings)
    sources, lake = res["sources"], res["lake"]
    rows = {n: max(1, int(r * args.scale)) for n, r in ROWS.items()}

    t0 = time.perf_counter()
    for name, source in load_sources().items():
        scale = rows[name] / gen.BASE_ROWS[name]
        if source.format == "lake":
            gen.write_lake_sources(lake, FECHA, scale=scale, only=(name,))
        elif source.format == "warehouse":  # branch payments: extracts of 200 branches, merged, then dbt
            zones = {b.id: b.zona_horaria for b in load_registry(settings.branch_registry)}
            gen.write_branch_extracts(lake, FECHA, zones, rows[name])
            night = dg.materialize([*pagos.defs.assets], resources=res, partition_key=FECHA,
                                   selection=dg.AssetSelection.assets("pagos_historicos", "cobranza_diaria_sucursal")
                                   .required_multi_asset_neighbors(),
                                   run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
            assert night.success, "the payments merge and dbt must build the benchmark day"
        else:
            gen.write_source(sources, name, FECHA, gen.source_bytes(name, FECHA, scale=scale), at(FECHA, clock_time(1)))
    t_gen = time.perf_counter() - t0
    total = sum(rows.values())
    size = sum(os.path.getsize(os.path.join(d, f)) for base in (settings.sources_url, settings.lake_url)
               for d, _, fs in os.walk(base.removeprefix("file://")) for f in fs)
    print(f"generated {total:,} rows in 15 sources ({size / 1e6:.0f} MB) in {t_gen:.1f} s (not timed)")

    # baseline: parse only, same readers
    t0 = time.perf_counter()
    for source in load_sources().values():
        if source.format == "lake":
            for key in lake.list(source.path(FECHA)):
                lake.read_parquet(key)
        elif source.format == "warehouse":  # the same query the source reads, nothing else
            with res["warehouse"].connect(read_only=True) as con:
                con.sql(warehouse_rows_sql(res["warehouse"], FECHA)).to_arrow_table()
        else:
            data = sources.read_bytes(source.path(FECHA))
            READERS[source.format](data, source, arrow_schema(SOURCE_MODELS[source.schema], nullability=False), source.file)
    t_base = time.perf_counter() - t0
    print(f"baseline (parse the 15 files, nothing else): {t_base:.1f} s")

    defs = dg.Definitions(assets=regulatorio.defs.assets, resources={**res, "clock": ClockResource.at(at(FECHA, clock_time(2)))})
    job = defs.resolve_implicit_global_asset_job_def()
    keys = {source_key(n) for n in load_sources()} | {REPORT_KEY}
    with dg.instance_for_test() as instance:
        t0 = time.perf_counter()
        result = job.get_subset(asset_selection=keys).execute_in_process(
            instance=instance, partition_key=FECHA, raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
        t_day = time.perf_counter() - t0
        steps = {e.step_key: e for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    manifest = latest_manifest(FECHA, res["outbox"])
    assert result.success and manifest and not manifest["parcial"], "the benchmark day must deliver a complete report"
    print(f"end to end (Dagster run: 15 sources + report, {len(steps)} steps): {t_day:.1f} s "
          f"({total / t_day / 1e3:,.0f}k rows/s)")
    print(f"ratio to the parse-only baseline: {t_day / t_base:.2f}x")
    print(f"margin in the 02:00-06:00 window: {WINDOW_SECONDS - t_day:,.0f} s of {WINDOW_SECONDS:,} "
          f"({100 * t_day / WINDOW_SECONDS:.2f}% used); goal <= {GOAL_SECONDS} s: "
          f"{'MET' if t_day <= GOAL_SECONDS else 'MISSED'}")
    print(f"report v{manifest['version']}: {len(manifest['archivos_sha256'])} files, "
          f"{len(manifest['conciliacion'])} reconciliation comparisons, all to the cent")
    return 0 if t_day <= GOAL_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
