"""Layout-health checks: the next degradation of pagos_historicos is caught here, before users notice.

On DuckDB they read the storage metadata (zone maps per row group); on Redshift they run the
profiling query sql/redshift/profiling/svv_table_info.sql with the thresholds below. A failing check
says what to run to fix it.
"""

from __future__ import annotations

import dagster as dg

from podemos_assets.config import REPO_ROOT
from podemos_assets.pagos import layout
from podemos_assets.resources import WarehouseResource

TABLE = "pagos_historicos"
PROFILING = REPO_ROOT / "sql" / "redshift" / "profiling"
# Redshift thresholds (svv_table_info): above them the reports degrade.
MAX_UNSORTED = 20.0
MAX_STATS_OFF = 10.0
MAX_SKEW_ROWS = 4.0


def redshift_table_info(warehouse: WarehouseResource) -> dict[str, dict]:
    sql = (PROFILING / "svv_table_info.sql").read_text()
    cols = ["schema", "table", "tbl_rows", "size_mb", "unsorted", "stats_off", "skew_rows", "diststyle", "sortkey1",
            "encoded"]
    return {r[1]: dict(zip(cols, r)) for r in warehouse.fetch_all(sql)}


def redshift_result(info: dict, metric: str, limit: float, fix: str) -> dg.AssetCheckResult:
    value = info.get(metric)
    passed = value is not None and float(value) <= limit
    text = f"{metric} = {value} (limit {limit})" + ("" if passed else f": run `{fix}`")
    return dg.AssetCheckResult(passed=passed, description=text,
                               metadata={metric: float(value or 0), "limit": limit, "detalle": text})


def _duckdb_result(passed: bool, metric: str, value: float, limit: float, table: str, **extra) -> dg.AssetCheckResult:
    detail = f"{metric} = {value:.3f} (limit {limit})"
    if not passed:
        detail += ": " + layout.FIX.format(table=table)
    return dg.AssetCheckResult(passed=passed, description=detail,
                               metadata={metric: round(value, 4), "limit": limit, "detalle": detail,
                                                        **extra})


@dg.asset_check(asset=TABLE, name="orden_fecha_pago", description=(
    "Date ranges still prune: share of row groups whose fecha_pago range overlaps another's (DuckDB), "
    f"or svv_table_info.unsorted (Redshift, limit {MAX_UNSORTED} %)."))
def orden_fecha_pago(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    if warehouse.dialect != "duckdb":
        return redshift_result(redshift_table_info(warehouse).get(TABLE, {}), "unsorted", MAX_UNSORTED,
                               f"VACUUM SORT ONLY {TABLE} TO 99 PERCENT")
    with warehouse.connect(read_only=True) as con:
        groups = layout.row_groups(con, TABLE, "fecha_pago")
    # Under MIN_GROUPS the whole table is a few row groups: every query reads all of it anyway.
    share = layout.overlap_share(groups) if len(groups) >= layout.MIN_GROUPS else 0.0
    return _duckdb_result(share <= layout.MAX_OVERLAP, "row_groups_solapados", share, layout.MAX_OVERLAP, TABLE,
                          row_groups=len(groups), row_groups_por_dia=round(layout.groups_per_lookup(groups), 2))


@dg.asset_check(asset=TABLE, name="estadisticas_vigentes", description=(
    "Zone maps describe live rows: share of stored rows that are deleted but still widen the min/max (DuckDB), "
    f"or svv_table_info.stats_off (Redshift, limit {MAX_STATS_OFF})."))
def estadisticas_vigentes(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    if warehouse.dialect != "duckdb":
        return redshift_result(redshift_table_info(warehouse).get(TABLE, {}), "stats_off", MAX_STATS_OFF,
                               f"ANALYZE {TABLE}")
    with warehouse.connect(read_only=True) as con:
        groups = layout.row_groups(con, TABLE, "fecha_pago")
        share = layout.deleted_share(con, TABLE, groups)
    return _duckdb_result(share <= layout.MAX_DELETED, "filas_borradas", share, layout.MAX_DELETED, TABLE)


@dg.asset_check(asset=TABLE, name="tamano_y_reparto", description=(
    "Row groups are full (share under a quarter of 122,880 rows, DuckDB), or rows are evenly spread over "
    f"slices (svv_table_info.skew_rows, Redshift, limit {MAX_SKEW_ROWS})."))
def tamano_y_reparto(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    if warehouse.dialect != "duckdb":
        return redshift_result(redshift_table_info(warehouse).get(TABLE, {}), "skew_rows", MAX_SKEW_ROWS,
                               "review DISTKEY(id_cliente): SELECT id_cliente, count(*) ... to find the outlier")
    with warehouse.connect(read_only=True) as con:
        groups = layout.row_groups(con, TABLE, "fecha_pago")
    share = layout.small_group_share(groups)
    return _duckdb_result(share <= layout.MAX_SMALL_GROUPS, "row_groups_pequenos", share, layout.MAX_SMALL_GROUPS,
                          TABLE, row_groups=len(groups))


@dg.asset_check(asset="pagos_por_cliente", name="orden_id_cliente", description=(
    "A client's history stays cheap: row groups read per client lookup (grows by one per appended day "
    f"until compaction; limit {layout.MAX_GROUPS_PER_LOOKUP} and at most half the table's row groups)."))
def orden_id_cliente(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    if warehouse.dialect != "duckdb":
        text = "Redshift: DISTKEY(id_cliente) serves lookups"
        return dg.AssetCheckResult(passed=True, description=text, metadata={"detalle": text})
    with warehouse.connect(read_only=True) as con:
        groups = layout.row_groups(con, "pagos_por_cliente", "id_cliente")
    per_lookup = layout.groups_per_lookup(groups)
    # Never more than MAX groups, nor half the table once it has a few groups (a random order reads them all).
    limit = min(layout.MAX_GROUPS_PER_LOOKUP, max(2.0, len(groups) / 2))
    return _duckdb_result(per_lookup <= limit, "row_groups_por_cliente", per_lookup, limit, "pagos_por_cliente",
                          row_groups=len(groups))


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


CHECKS = [orden_fecha_pago, estadisticas_vigentes, tamano_y_reparto, orden_id_cliente, bajas_aplicadas]
