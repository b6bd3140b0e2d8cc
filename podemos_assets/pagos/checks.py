"""Layout-health checks: the next degradation of pagos_historicos is caught here, before users notice.

The warehouse resource measures a table's layout in its engine's own metrics (`layout_health`: DuckDB's
zone maps per row group, Redshift's svv_table_info) with that engine's limits; a check turns one measure
into a result, and a failing check says what to run to fix it.
"""

from __future__ import annotations

import dagster as dg

from podemos_assets.pagos import layout
from podemos_assets.resources import WarehouseResource
from podemos_assets.resources import warehouse_layout as limits
from podemos_assets.resources.warehouse_layout import LayoutHealth, LayoutMeasure

TABLE = "pagos_historicos"


def health(warehouse: WarehouseResource, table: str, column: str) -> LayoutHealth:
    return warehouse.layout_health(table, column, compaction=layout.FIX.format(table=table))


def result(measure: LayoutMeasure) -> dg.AssetCheckResult:
    text = measure.describe()
    return dg.AssetCheckResult(passed=measure.passed, description=text,
                               metadata={measure.metric: round(measure.value or 0.0, 4), "limit": measure.limit,
                                         "detalle": text, **measure.extra})


@dg.asset_check(asset=TABLE, name="orden_fecha_pago", description=(
    "Date ranges still prune: share of row groups whose fecha_pago range overlaps another's (DuckDB, limit "
    f"{limits.MAX_OVERLAP}), or svv_table_info.unsorted (Redshift, limit {limits.MAX_UNSORTED} %)."))
def orden_fecha_pago(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return result(health(warehouse, TABLE, "fecha_pago").sortedness)


@dg.asset_check(asset=TABLE, name="estadisticas_vigentes", description=(
    "Zone maps describe live rows: share of stored rows that are deleted but still widen the min/max (DuckDB, "
    f"limit {limits.MAX_DELETED}), or svv_table_info.stats_off (Redshift, limit {limits.MAX_STATS_OFF})."))
def estadisticas_vigentes(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return result(health(warehouse, TABLE, "fecha_pago").statistics)


@dg.asset_check(asset=TABLE, name="tamano_y_reparto", description=(
    "Row groups are full (share under a quarter of 122,880 rows, DuckDB), or rows are evenly spread over "
    f"slices (svv_table_info.skew_rows, Redshift, limit {limits.MAX_SKEW_ROWS})."))
def tamano_y_reparto(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return result(health(warehouse, TABLE, "fecha_pago").spread)


@dg.asset_check(asset="pagos_por_cliente", name="orden_id_cliente", description=(
    "A client's history stays cheap: row groups read per client lookup (grows by one per appended day "
    f"until compaction; limit {limits.MAX_GROUPS_PER_LOOKUP} and at most half the table's row groups). "
    "On Redshift DISTKEY(id_cliente) serves the lookups."))
def orden_id_cliente(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    lookups = health(warehouse, "pagos_por_cliente", "id_cliente").lookups
    if lookups is None:
        text = "the distribution key DISTKEY(id_cliente) serves client lookups: no row groups to count"
        return dg.AssetCheckResult(passed=True, description=text, metadata={"detalle": text})
    return result(lookups)


# A payment whose tombstone is at least as new as its latest version is dead: it must not be live.
LIVE_BUT_DELETED = """
SELECT h.sucursal, h.id_origen FROM pagos_historicos h JOIN pagos_bajas b
  ON b.tabla = 'transacciones' AND b.sucursal = h.sucursal AND b.id_origen = h.id_origen
WHERE b.fecha_baja >= CAST(h.updated_at_origen AS DATE)
ORDER BY 1, 2 LIMIT 50"""


@dg.asset_check(asset="pagos_bajas", name="bajas_aplicadas", blocking=True, description=(
    "Every payment deleted at its branch (a tombstone at least as new as its latest version) has left "
    "pagos_historicos; it waits in pagos_cuarentena as baja_en_sucursal, with its tombstone, for audit."))
def bajas_aplicadas(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    rows = warehouse.fetch_all(LIVE_BUT_DELETED)
    return dg.AssetCheckResult(
        passed=not rows,
        description="no payment deleted at its branch is live" if not rows else f"{len(rows)} deleted payment(s) still live: re-run pagos_merge for "
        "their day (the tombstones are in pagos_bajas)",
        metadata={"pagos_borrados_vivos": len(rows),
                  "ejemplos": dg.MetadataValue.json([f"{s}:{i}" for s, i in rows[:10]])})


# The checks whose failure on DuckDB compaction fixes (pagos/automation.py launches it).
LAYOUT_CHECKS = [orden_fecha_pago, estadisticas_vigentes, tamano_y_reparto, orden_id_cliente]
CHECKS = [*LAYOUT_CHECKS, bajas_aplicadas]
