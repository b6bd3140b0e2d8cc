"""The shared consolidation SQL is the DuckDB path's, rewritten with sqlglot: macros expanded for both engines,
and a change in pagos.merge that the rewrite cannot follow fails naming the file to update (fast, no Spark)."""

import re
from datetime import date

import duckdb
import pytest

from podemos_assets.contracts.sucursales import BAJAS_SCHEMA, extract_schema
from podemos_assets.pagos import merge as pagos_merge
from podemos_assets.spark import rules
from podemos_assets.spark.duck import consolidate_duckdb, read_extracts_duckdb


@pytest.mark.parametrize("engine", rules.ENGINES)
def test_no_macro_of_the_duckdb_session_is_left(engine):
    sql = rules.consolidation_sql(engine)
    assert not re.search(r"\b(gid|local_to_utc)\s*\(", sql, re.IGNORECASE), sql
    assert "in_transacciones" not in sql and "LEFT JOIN zonas AS z" in sql


def test_an_empty_lake_consolidates_to_empty_tables_on_duckdb(tmp_path):
    con = duckdb.connect()
    try:
        inputs = read_extracts_duckdb(str(tmp_path), date(2026, 10, 1), date(2026, 10, 2), con)
        tables = consolidate_duckdb(inputs, {}, con)
    finally:
        con.close()
    assert {name: t.num_rows for name, t in tables.items()} == {"pagos_historicos": 0, "pagos_cuarentena": 0}
    assert tables["pagos_cuarentena"].column_names == list(rules.CUARENTENA_COLUMNS)


def test_input_types_of_both_engines_come_from_the_branch_contract():
    """The Spark job reads what the branch extractor writes: each input column's type is the contract's
    (contracts.sucursales), in DuckDB's spelling and, through sqlglot, in Spark's."""
    assert rules.duckdb_schema("transacciones") == {
        "id": "BIGINT", "cuenta_id": "BIGINT", "cliente_id": "BIGINT", "fecha": "TIMESTAMP",
        "monto": "DECIMAL(15,2)", "canal": "VARCHAR", "updated_at": "TIMESTAMP", "sucursal": "VARCHAR",
        "updated_at_utc": "TIMESTAMPTZ", "extraccion": "VARCHAR",
    }
    assert rules.spark_ddl("transacciones") == (
        "id BIGINT, cuenta_id BIGINT, cliente_id BIGINT, fecha TIMESTAMP_NTZ, monto DECIMAL(15, 2), canal STRING, "
        "updated_at TIMESTAMP_NTZ, sucursal STRING, updated_at_utc TIMESTAMP, extraccion STRING")
    for relation, schema in rules.INPUT_SCHEMAS.items():
        contract = BAJAS_SCHEMA if relation == "bajas" else extract_schema(relation)
        assert all(contract.field(f.name).type == f.type for f in schema), relation


@pytest.mark.parametrize("change,named", [
    (("t.extraccion", "t.extraccion, normaliza(t.canal) AS canal_n"), "NORMALIZA(t.canal)"),
    (("gid(t.id, t.sucursal)", "gid(t.id, t.sucursal, 1)"), "with 3 arguments"),
    (("in_transacciones t", "in_pagos t"), "the table in_pagos"),
    (("t.extraccion", "t.extraccion, t.folio"), "t.folio, a column missing from INPUT_SCHEMAS['transacciones']"),
    (("SELECT", "SELECT (("), "cannot parse"),
])
def test_a_change_the_rewrite_cannot_follow_names_the_file_to_update(monkeypatch, change, named):
    monkeypatch.setattr(pagos_merge, "PAGOS_SELECT", pagos_merge.PAGOS_SELECT.replace(*change, 1))
    for engine in rules.ENGINES:
        with pytest.raises(RuntimeError) as failure:
            rules.consolidation_sql(engine)
        assert named in str(failure.value)
        assert "update the rewrite in podemos_assets/spark/rules.py" in str(failure.value)
