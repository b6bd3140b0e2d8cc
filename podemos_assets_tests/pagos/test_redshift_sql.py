"""The Redshift SQL: the committed DDL is the one generated from the models, and every file parses for Redshift."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from podemos_assets.config import REPO_ROOT
from podemos_assets.contracts.vocabulary import columns_of
from podemos_assets.pagos import checks, ddl
from podemos_assets.resources import RedshiftWarehouse
from podemos_assets.resources.warehouse_layout import TABLE_INFO_COLUMNS

REDSHIFT = REPO_ROOT / "sql" / "redshift"


def test_committed_ddl_equals_the_generated_one():
    for path, text in ddl.redshift_files().items():
        assert path.exists(), f"{path} missing: run python -m podemos_assets.pagos.ddl"
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale: run python -m podemos_assets.pagos.ddl"


def test_ddl_declares_layout_encodings_and_a_comment_per_column():
    text = (REDSHIFT / "pagos_historicos.sql").read_text()
    statements = sqlglot.parse(text, read="redshift")
    create = next(s for s in statements if isinstance(s, exp.Create))
    sql = create.sql(dialect="redshift")
    assert "DISTKEY(id_cliente)" in sql.replace(" ", "") and "SORTKEY(fecha_pago,id_cliente)" in sql.replace(" ", "")
    names = [c["name"] for c in columns_of(ddl.REDSHIFT_TABLES["pagos_historicos"][0])]
    for line in text.splitlines():
        if line.strip().split(" ")[0] in names and "ENCODE" in line:
            want = "ZSTD" if "VARCHAR" in line else "AZ64"
            assert line.rstrip(",").endswith(f"ENCODE {want}"), line
    commented = {s.this.sql() for s in statements if isinstance(s, exp.Comment) and s.args.get("kind") == "COLUMN"}
    assert commented == {f"pagos_historicos.{n}" for n in names}
    assert "monto DECIMAL(18,2)" in text and "fecha_pago DATE" in text


def test_every_redshift_file_parses():
    files = sorted(REDSHIFT.glob("pagos_*.sql")) + sorted((REDSHIFT / "profiling").glob("*.sql"))
    assert len(files) >= 6
    for path in files:
        parsed = [s for s in sqlglot.parse(path.read_text(), read="redshift") if s is not None]
        assert parsed, path
    tables = {t.name for p in (REDSHIFT / "profiling").glob("*.sql")
              for t in sqlglot.parse_one(p.read_text(), read="redshift").find_all(exp.Table)}
    assert {"svv_table_info", "stl_query", "stl_wlm_query", "svl_scan_summary"} <= tables


def test_redshift_layout_checks_read_svv_table_info_and_fail_with_the_fix(monkeypatch):
    """The pagos checks on a RedshiftWarehouse: one svv_table_info query per check (parsed, never run here),
    Redshift's limits, and the fix in the failing result."""
    sent, row = [], {}

    def fetch_all(self, sql):
        sent.append(sql)
        return [tuple(row.get(c) for c in TABLE_INFO_COLUMNS)]

    monkeypatch.setattr(RedshiftWarehouse, "fetch_all", fetch_all)
    warehouse = RedshiftWarehouse(host="cluster.example", database="podemos", user="podemos_etl")
    cases = ((checks.orden_fecha_pago, "unsorted", 35.0, 3.0, "VACUUM SORT ONLY pagos_historicos"),
             (checks.estadisticas_vigentes, "stats_off", 12.0, 0.0, "ANALYZE pagos_historicos"),
             (checks.tamano_y_reparto, "skew_rows", 5.1, 1.2, "DISTKEY of pagos_historicos (KEY(id_cliente))"))
    for check, metric, bad, good, fix in cases:
        row.clear()
        row.update({"table": "pagos_historicos", "diststyle": "KEY(id_cliente)", metric: bad})
        failing = check(warehouse=warehouse)
        assert not failing.passed and fix in failing.metadata["detalle"].value, failing.metadata["detalle"]
        row[metric] = good
        assert check(warehouse=warehouse).passed
    assert checks.orden_id_cliente(warehouse=warehouse).passed  # DISTKEY(id_cliente): no row groups to count
    for sql in sent:
        table = sqlglot.parse_one(sql, read="redshift").find(exp.Table)
        assert table.name == "svv_table_info", sql
    row.clear()  # no svv_table_info row (the table is not there): the check fails, it does not pass by default
    assert not checks.orden_fecha_pago(warehouse=warehouse).passed
