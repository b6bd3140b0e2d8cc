"""One warehouse resource per engine, picked once by build_resources from PODEMOS_WAREHOUSE_URL's scheme; the
Redshift one is tested by what it generates and sends, never by connecting (no cluster here)."""

from __future__ import annotations

import dataclasses
import re
import sys
import types

import pytest
import sqlglot

from podemos_assets.config import REPO_ROOT, ConfigError, load_settings
from podemos_assets.regulatorio.extracts import warehouse_fingerprint_sql, warehouse_rows_sql
from podemos_assets.resources import DuckDBWarehouse, RedshiftWarehouse, WarehouseResource, build_resources

REDSHIFT_URL = "redshift://podemos_etl@cluster.example.us-east-1.redshift.amazonaws.com:5439/podemos"


def test_build_resources_picks_the_warehouse_by_the_url_scheme(tmp_path):
    local = build_resources(load_settings({"PODEMOS_HOME": str(tmp_path)}))
    assert type(local["warehouse"]) is DuckDBWarehouse
    assert local["warehouse"].path == str(tmp_path / "warehouse.duckdb")
    assert (local["dbt"].target, local["dbt"].warehouse_path) == ("dev", str(tmp_path / "warehouse.duckdb"))

    settings = load_settings({"PODEMOS_HOME": str(tmp_path), "PODEMOS_WAREHOUSE_URL": REDSHIFT_URL})
    prod = build_resources(settings)
    assert type(prod["warehouse"]) is RedshiftWarehouse
    assert (prod["warehouse"].host, prod["warehouse"].port, prod["warehouse"].database, prod["warehouse"].user) == (
        "cluster.example.us-east-1.redshift.amazonaws.com", 5439, "podemos", "podemos_etl")
    assert (prod["dbt"].target, prod["dbt"].warehouse_path) == ("prod", None)

    other = dataclasses.replace(settings, warehouse_url="postgres://etl:secret@db.example/podemos")
    with pytest.raises(ConfigError) as error:
        build_resources(other)
    message = str(error.value)
    assert message == ("PODEMOS_WAREHOUSE_URL: unknown warehouse scheme 'postgres': expected duckdb:// or "
                       "redshift://.") and "secret" not in message


def test_the_interface_has_no_engine_of_its_own():
    with pytest.raises(TypeError):
        WarehouseResource()  # abstract: build_resources picks DuckDBWarehouse or RedshiftWarehouse
    assert DuckDBWarehouse.embedded and not RedshiftWarehouse.embedded
    with pytest.raises(NotImplementedError, match="embedded DuckDB"):
        RedshiftWarehouse.from_url(REDSHIFT_URL).connect()


@pytest.mark.parametrize("url,expected", [
    ("duckdb://warehouse.duckdb", "needs an absolute path"),
    ("redshift://cluster.example:5439/podemos", "needs user, host and database"),
    ("redshift://podemos_etl@cluster.example:5439", "needs user, host and database"),
])
def test_malformed_urls_say_what_is_expected(url, expected):
    with pytest.raises(ConfigError, match=expected):
        (DuckDBWarehouse if url.startswith("duckdb") else RedshiftWarehouse).from_url(url)


def test_a_password_in_the_redshift_url_is_refused_without_repeating_it():
    with pytest.raises(ConfigError, match="REDSHIFT_PASSWORD") as error:
        RedshiftWarehouse.from_url("redshift://podemos_etl:hunter2@cluster.example:5439/podemos")
    assert "hunter2" not in str(error.value)


class _FakeConnector(types.ModuleType):
    """Stands in for redshift_connector: records what a connection would be opened with and what is sent."""

    def __init__(self):
        super().__init__("redshift_connector")
        self.opened, self.sent = [], []

    def connect(self, **kwargs):
        self.opened.append(kwargs)
        sent = self.sent

        class Cursor:
            description = [("id",), ("monto",)]

            def execute(self, sql):
                sent.append(sql)

            def fetchall(self):
                return ([1, "10.50"], [2, "3.00"])

        return types.SimpleNamespace(cursor=Cursor, close=lambda: None)


def test_the_redshift_password_comes_only_from_the_environment_and_stays_out_of_the_config(monkeypatch):
    fake = _FakeConnector()
    monkeypatch.setitem(sys.modules, "redshift_connector", fake)
    warehouse = RedshiftWarehouse.from_url(REDSHIFT_URL)

    monkeypatch.delenv("REDSHIFT_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="REDSHIFT_PASSWORD is not set"):
        warehouse.fetch_all("SELECT 1")
    assert fake.opened == []

    monkeypatch.setenv("REDSHIFT_PASSWORD", "hunter2")
    assert warehouse.fetch_all("SELECT id, monto FROM t") == [(1, "10.50"), (2, "3.00")]
    rows, again = warehouse.read_tables("SELECT id, monto FROM t", "SELECT id, monto FROM u")
    assert rows.column_names == ["id", "monto"] and rows["id"].to_pylist() == [1, 2]
    assert fake.opened[0] == {"host": "cluster.example.us-east-1.redshift.amazonaws.com", "port": 5439,
                              "database": "podemos", "user": "podemos_etl", "password": "hunter2"}
    assert len(fake.opened) == 2  # read_tables: both statements on one connection (one snapshot)
    for shown in (repr(warehouse), str(warehouse.model_dump()), str(type(warehouse).model_fields)):
        assert "hunter2" not in shown and "password" not in shown


def test_each_engine_gets_its_own_sql_and_it_parses_for_that_engine():
    duck = DuckDBWarehouse(path="/tmp/unused.duckdb")
    red = RedshiftWarehouse.from_url(REDSHIFT_URL)
    for warehouse, dialect, canal, micros in ((duck, "duckdb", "json_extract_string", "epoch_us"),
                                               (red, "redshift", "json_extract_path_text", "datediff(microsecond")):
        rows = warehouse_rows_sql(warehouse, "2026-10-12")
        fingerprint = warehouse_fingerprint_sql(warehouse, "fecha_pago = DATE '2026-10-12'")
        assert canal in rows and micros in fingerprint
        for sql in (rows, fingerprint):
            assert sqlglot.parse_one(sql, read=dialect).find(sqlglot.exp.Table).name == "pagos_historicos"


def test_asset_code_never_asks_for_the_engine():
    """Only resources/ knows the engines: capability code names the interface, never a dialect or a class."""
    offending = []
    for path in (REPO_ROOT / "podemos_assets").rglob("*.py"):
        if "resources" in path.parts:
            continue
        text = path.read_text()
        if re.search(r"\.dialect\b|\bdialect\s*[!=]=|DuckDBWarehouse|RedshiftWarehouse|duckdb_path", text):
            offending.append(str(path.relative_to(REPO_ROOT)))
    assert offending == []
