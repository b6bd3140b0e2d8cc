"""The shared consolidation (what the Spark job runs) equals the DuckDB path's day-by-day merge.

Reference: `pagos.merge.merge_day` over each day of the range, oldest first, from an empty warehouse,
reading the lake with `pagos.extracts.read_day`. DuckDB only (fast), so hypothesis tries many lakes;
test_spark_equivalence.py then shows Spark equals the shared consolidation.
"""

import tempfile
from datetime import timedelta

import duckdb
from hypothesis import HealthCheck, Phase, given, settings

from podemos_assets.pagos.extracts import read_day
from podemos_assets.pagos.merge import PAGOS_COLS, merge_day
from podemos_assets.resources.lake import LakeResource
from podemos_assets.spark.duck import consolidate_duckdb, read_extracts_duckdb
from podemos_assets_tests.scale.lake_cases import canonical, lake_cases, write_lake


def merged_day_by_day(lake: LakeResource, case, zones) -> dict:
    con = duckdb.connect()
    try:
        day = case.desde
        while day <= case.hasta:
            inputs, _ = read_day(lake, day.isoformat())
            # A day with no extract rows merges nothing (no rule reads the clock; quarantined payments are
            # only released by a dimension row arriving), so past the first day (which sets up the warehouse)
            # only the lake's days are merged: a case from March to November is ~240 days, of which at most 5
            # hold extracts (each merge ~0.15 s).
            if day == case.desde or any(table.num_rows for table in inputs.values()):
                merge_day(con, day.isoformat(), inputs, zones)
            day += timedelta(days=1)
        cols = ", ".join(PAGOS_COLS)
        return {
            "pagos_historicos": con.sql(f"SELECT {cols} FROM pagos_historicos").to_arrow_table(),
            "pagos_cuarentena": con.sql(f"SELECT {cols}, motivo FROM pagos_cuarentena").to_arrow_table(),
        }
    finally:
        con.close()


def consolidated(root: str, case, zones) -> dict:
    con = duckdb.connect()
    try:
        return consolidate_duckdb(read_extracts_duckdb(root, case.desde, case.hasta, con), zones, con)
    finally:
        con.close()


# Loan / client tombstones are left out: merge_day does not re-evaluate already published payments of
# a loan that dies later (suspected path dependence, reported to the pagos owner), so there the
# day-by-day result depends on the order of days and the bulk result cannot equal it.
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
          phases=[Phase.explicit, Phase.generate])
@given(case=lake_cases())
def test_shared_rules_equal_the_day_by_day_merge(case):
    tombstones = ("transacciones",)
    with tempfile.TemporaryDirectory() as root:
        lake = LakeResource(url=f"file://{root}")
        zones = write_lake(case, lake, tombstones=tombstones)
        expected = merged_day_by_day(lake, case, zones)
        actual = consolidated(root, case, zones)
    for name in expected:
        assert [(f.name, f.type) for f in actual[name].schema] == [(f.name, f.type) for f in expected[name].schema]
        assert canonical(actual[name]) == canonical(expected[name]), name
