"""The same consolidation rules (`rules.py`) run on DuckDB: the reference the Spark job must equal.

The daily DuckDB path in `podemos_assets/pagos` is the production reference; this runner executes the
shared SQL on Arrow inputs so the two engines can be compared on identical data (tests, benchmark).
"""

from __future__ import annotations

import glob
from datetime import date

import duckdb
import pyarrow as pa

from podemos_assets.spark import rules


def consolidate_duckdb(inputs: dict[str, pa.Table], branch_zones: dict[str, str], con=None) -> dict[str, pa.Table]:
    """`pagos_historicos` and `pagos_cuarentena` (Arrow) from Arrow or DuckDB-readable inputs."""
    own = con is None
    con = con or duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        for name, table in inputs.items():
            if isinstance(table, duckdb.DuckDBPyRelation):
                table.to_view(name)
            else:
                con.register(name, table)
        con.register("sucursales", pa.table({"id": list(branch_zones), "zona_horaria": list(branch_zones.values())},
                                            schema=pa.schema([("id", pa.string()), ("zona_horaria", pa.string())])))
        zonas = list(zip(*rules.zones_rows(branch_zones.values()))) or [[], [], [], []]
        con.register("zonas", pa.table(
            [pa.array(zonas[0], pa.string()), pa.array(zonas[1], pa.timestamp("us")),
             pa.array(zonas[2], pa.timestamp("us")), pa.array(zonas[3], pa.int32())],
            names=["zona_horaria", "local_desde", "local_hasta", "offset_segundos"]))
        con.execute(f"CREATE OR REPLACE TEMP TABLE consolidado AS {rules.consolidation_sql('duckdb')}")
        return {name: con.sql(sql).to_arrow_table() for name, sql in rules.split_sql("consolidado").items()}
    finally:
        if own:
            con.close()


def read_extracts_duckdb(lake_root: str, desde: date, hasta: date, con) -> dict[str, duckdb.DuckDBPyRelation]:
    """The inputs of a run over `[desde, hasta]` from a local lake directory (file choice: `rules.wanted`)."""
    out = {}
    for relation, pattern in rules.INPUT_GLOBS.items():
        files = sorted(f for f in glob.glob(f"{lake_root}/{pattern}") if rules.wanted(relation, f, desde, hasta))
        columns = rules.INPUT_SCHEMAS[relation].names
        if files:
            out[relation] = con.read_parquet(files, hive_partitioning=False).select(*columns)
        else:
            nulls = ", ".join(f"CAST(NULL AS {typ}) AS {name}" for name, typ in rules.duckdb_schema(relation).items())
            out[relation] = con.sql(f"SELECT {nulls} WHERE false")
    return out
