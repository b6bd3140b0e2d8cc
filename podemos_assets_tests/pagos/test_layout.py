"""Layout-health checks: pass on our layout, fail on a degraded table (and say how to fix), pass after compaction."""

from __future__ import annotations

import dagster as dg
import pytest

from podemos_assets.pagos import checks, layout
from podemos_assets.pagos.merge import ensure_tables
from podemos_assets.resources import warehouse_layout as metrics
from podemos_assets.resources.warehouse import DuckDBWarehouse

ROWS = 400_000  # 4 row groups of 122,880

FILL = f"""
INSERT INTO pagos_historicos
SELECT i AS id_pago, i % 5000 AS id_prestamo, (i * 7919) % 200000 AS id_cliente, CAST(100 AS DECIMAL(18,2)),
       DATE '2024-01-01' + CAST(i * 700 // {ROWS} AS INTEGER) AS fecha_pago, 'suc_001', 'APLICADO', NULL,
       TIMESTAMPTZ '2024-01-01 12:00:00+00', i, TIMESTAMP '2024-01-01 06:00:00', TIMESTAMPTZ '2024-01-01 12:00:00+00',
       '2024-01-01|suc_001'
FROM range({ROWS}) r(i) ORDER BY {{order}}"""


@pytest.fixture
def warehouse(tmp_path):
    return DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))


def build(warehouse, order="fecha_pago, id_cliente", delete_share=0.0):
    with warehouse.connect() as con:
        ensure_tables(con)
        con.execute(FILL.format(order=order))
        if delete_share:
            con.execute(f"DELETE FROM pagos_historicos WHERE id_pago % 100 < {int(delete_share * 100)}")
        con.execute("INSERT INTO pagos_por_cliente SELECT id_cliente, fecha_pago, id_pago, id_prestamo, monto, "
                    f"status_pago, sucursal FROM pagos_historicos ORDER BY {order}")
        con.execute("CHECKPOINT")


def run(check, warehouse) -> dg.AssetCheckResult:
    return check(warehouse=warehouse)


def test_sorted_table_passes_every_check(warehouse):
    build(warehouse)
    for check in (checks.orden_fecha_pago, checks.estadisticas_vigentes, checks.tamano_y_reparto):
        result = run(check, warehouse)
        assert result.passed, result.metadata
    with warehouse.connect(read_only=True) as con:
        assert len(metrics.row_groups(con, "pagos_historicos", "fecha_pago")) >= 4


def test_random_order_fails_sortedness_and_says_how_to_fix(warehouse):
    build(warehouse, order="hash(id_pago)")
    result = run(checks.orden_fecha_pago, warehouse)
    assert not result.passed
    assert result.metadata["row_groups_solapados"].value > 0.9
    assert "compactar: true" in result.metadata["detalle"].value


def test_many_deleted_rows_fail_stale_statistics(warehouse):
    build(warehouse, delete_share=0.3)
    result = run(checks.estadisticas_vigentes, warehouse)
    assert not result.passed and result.metadata["filas_borradas"].value == pytest.approx(0.3, abs=0.02)


def test_degraded_client_projection_fails_and_compaction_fixes_everything(warehouse):
    build(warehouse, order="hash(id_pago)", delete_share=0.2)
    result = run(checks.orden_id_cliente, warehouse)
    assert not result.passed and result.metadata["row_groups_por_busqueda"].value > 2
    with warehouse.connect() as con:
        layout.compact(con, "pagos_historicos")
        layout.compact(con, "pagos_por_cliente")
    for check in (checks.orden_fecha_pago, checks.estadisticas_vigentes, checks.tamano_y_reparto,
                  checks.orden_id_cliente):
        result = run(check, warehouse)
        assert result.passed, result.metadata


def test_overlap_metric_on_known_ranges():
    rg = lambda i, lo, hi: metrics.RowGroup(i, 1000, lo, hi)  # noqa: E731
    assert metrics.overlap_share([rg(0, 1, 5), rg(1, 5, 9), rg(2, 9, 9)]) == 0  # shared boundary values only
    assert metrics.overlap_share([rg(0, 1, 9), rg(1, 2, 3), rg(2, 10, 12)]) == pytest.approx(2 / 3)
    assert metrics.groups_per_lookup([rg(0, 1, 100), rg(1, 1, 100), rg(2, 1, 100)]) == 3


def test_small_row_groups_metric():
    groups = [metrics.RowGroup(i, 10_000 if i % 2 else metrics.ROW_GROUP_SIZE, i, i) for i in range(10)]
    assert metrics.small_group_share(groups) == pytest.approx(4 / 9)  # the last, still-filling group is ignored
    assert metrics.small_group_share(groups[:5]) == 0  # too few groups to judge
