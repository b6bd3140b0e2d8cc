"""The Redshift SQL: the committed DDL is the one generated from the models, and every file parses for Redshift."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from podemos_assets.config import REPO_ROOT
from podemos_assets.gobierno.vocabulary import columns_of
from podemos_assets.pagos import checks, ddl

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


def test_redshift_thresholds_fail_with_the_fix():
    bad = {"unsorted": 35.0, "stats_off": 12.0, "skew_rows": 5.1}
    good = {"unsorted": 3.0, "stats_off": 0.0, "skew_rows": 1.2}
    for metric, limit, fix in (("unsorted", checks.MAX_UNSORTED, "VACUUM SORT ONLY"),
                               ("stats_off", checks.MAX_STATS_OFF, "ANALYZE"),
                               ("skew_rows", checks.MAX_SKEW_ROWS, "DISTKEY")):
        failing = checks.redshift_result(bad, metric, limit, fix)
        assert not failing.passed and fix in failing.metadata["detalle"].value
        assert checks.redshift_result(good, metric, limit, fix).passed
