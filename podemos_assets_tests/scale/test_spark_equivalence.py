"""The Spark job and the DuckDB path give identical payments tables on every generated lake.

Both engines read the same Parquet lake (written like the branch ETL does) and must agree row for row
and type for type on `pagos_historicos` and `pagos_cuarentena`. Spark runs `local[2]`, one session for
the module (it costs ~13 s to start).
"""

import tempfile
from dataclasses import replace
from datetime import datetime, time
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from podemos_assets.resources.lake import LakeResource
from podemos_assets.spark.duck import consolidate_duckdb, read_extracts_duckdb
from podemos_assets_tests.scale.lake_cases import (
    BRANCH_ZONES,
    DAYS,
    LakeCase,
    Version,
    canonical,
    lake_cases,
    renumber,
    write_lake,
)

pytestmark = pytest.mark.spark

pyspark = pytest.importorskip("pyspark")


@pytest.fixture(scope="module")
def spark():
    from podemos_assets.spark.job import spark_session

    session = spark_session("local[2]", app_name="podemos-tests")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def duckdb_tables(root: str, case: LakeCase, zones: dict[str, str]) -> dict:
    con = duckdb.connect()
    try:
        return consolidate_duckdb(read_extracts_duckdb(root, case.desde, case.hasta, con), zones, con)
    finally:
        con.close()


# Each example is a batch of independent lakes over one date range. DuckDB consolidates each lake on
# its own; Spark consolidates all of them at once from one lake where each case's branches carry a
# prefix (`c3_suc_a`), and must return the union of DuckDB's answers. A Spark run costs seconds even
# on ten rows; batching buys many cases for few runs.
# No shrinking: at seconds per Spark run it takes many minutes; the failing batch is printed as is.
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
          phases=[Phase.explicit, Phase.generate])
@given(cases=st.lists(lake_cases(), min_size=1, max_size=8), days=st.lists(st.sampled_from(DAYS), min_size=2, max_size=2))
def test_spark_job_equals_duckdb_on_generated_lakes(spark, cases, days):
    from podemos_assets.spark.job import consolidate, read_extracts

    desde, hasta = sorted(days)
    expected = {"pagos_historicos": [], "pagos_cuarentena": []}
    zones = {}
    with tempfile.TemporaryDirectory() as tmp:
        shared = LakeResource(url=f"file://{tmp}/todos")
        for i, case in enumerate(cases):
            case = replace(case, desde=desde, hasta=hasta)
            root = f"{tmp}/lago{i}"
            case_zones = write_lake(case, LakeResource(url=f"file://{root}"), batch=i)
            tables = duckdb_tables(root, case, case_zones)
            assert_every_payment_accounted_for(case, i, tables)
            for name, table in tables.items():
                expected[name].append(table)
            zones |= write_lake(case, shared, batch=i)
        frames = read_extracts(spark, shared.url, desde, hasta)
        actual = {name: df.toArrow() for name, df in consolidate(spark, frames, zones).items()}
    assert_same({name: pa.concat_tables(tables) for name, tables in expected.items()}, actual)


def assert_every_payment_accounted_for(case: LakeCase, batch: int, tables: dict) -> None:
    """Every payment read ends in exactly one of the two tables (its superseded versions aside)."""
    read = {(renumber(v.sucursal, batch), v.id) for v in case.versions if case.desde <= v.day <= case.hasta}
    out = [(r["sucursal"], r["id_origen"]) for t in tables.values() for r in t.to_pylist()]
    assert sorted(out) == sorted(read)


def assert_same(expected: dict, actual: dict) -> None:
    for name in ("pagos_historicos", "pagos_cuarentena"):
        e, a = expected[name], actual[name]
        assert [(f.name, f.type) for f in a.schema] == [(f.name, f.type) for f in e.schema], name
        assert canonical(a) == canonical(e), name


def test_job_writes_the_consolidated_range_to_the_lake(spark, tmp_path):
    from podemos_assets.spark.job import run

    def v(suc, day, id_, upd, monto, cuenta=1):
        return Version(suc, day, id_, cuenta, 1, datetime.combine(day, time(10)), Decimal(monto), "OXXO",
                       datetime.combine(day, time(upd)))

    d1, d2, d3 = DAYS[1], DAYS[3], DAYS[4]
    case = LakeCase(
        versions=[v("suc_001", d1, 1, 9, "10.00"), v("suc_001", d2, 1, 9, "12.50"),  # updated: 12.50 wins
                  v("suc_002", d2, 1, 8, "-5.00"), v("suc_002", d2, 2, 8, "7.00", cuenta=3),  # unknown loan
                  v("suc_005", d2, 1, 8, "1.00"),  # branch not in the registry
                  v("suc_003", d3, 4, 8, "3.00")],  # outside the range
        cuentas={(s, 1, d1) for s in BRANCH_ZONES}, clientes={(s, 1, d1) for s in BRANCH_ZONES},
        bajas={("transacciones", "suc_002", 1, d3)},  # detected after hasta: not applied yet
        desde=d1, hasta=d2,
    )
    root = str(tmp_path / "lake")
    write_lake(case, LakeResource(url=f"file://{root}"))
    registry = tmp_path / "sucursales.csv"
    registry.write_text("id,nombre,estado,zona_horaria,url,url_env\n" + "".join(
        f"{k},{k},X,{z},sqlite:///x,\n" for k, z in BRANCH_ZONES.items()))
    counts = run(spark, f"file://{root}", case.desde, case.hasta, f"file://{registry}")
    expected = duckdb_tables(root, case, BRANCH_ZONES)
    for name, table in expected.items():
        written = pq.read_table(f"{root}/curated/pagos/{name}/desde={case.desde}/hasta={case.hasta}")
        assert written.schema.equals(table.schema, check_metadata=False) or canonical(written) == canonical(table)
        assert canonical(written.select(table.column_names)) == canonical(table)
        assert counts[name] == table.num_rows
    assert counts["versiones_leidas"] == 5
    pagos = {(r["sucursal"], r["id_origen"]): r for r in expected["pagos_historicos"].to_pylist()}
    assert set(pagos) == {("suc_001", 1), ("suc_002", 1)} and pagos[("suc_001", 1)]["monto"] == Decimal("12.50")
    motivos = {(r["sucursal"], r["id_origen"]): r["motivo"] for r in expected["pagos_cuarentena"].to_pylist()}
    assert motivos == {("suc_002", 2): "prestamo_desconocido", ("suc_005", 1): "sucursal_desconocida"}
