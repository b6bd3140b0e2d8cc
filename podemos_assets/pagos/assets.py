"""`pagos_merge`: one multi-asset that merges a day of branch extracts into the warehouse tables of `pagos`.

The tables change together in one DuckDB transaction per day (a payment moves between
pagos_historicos and pagos_cuarentena atomically), hence one multi-asset rather than eight assets.
"""


import time

import dagster as dg

from podemos_assets.contracts import schema_metadata
from podemos_assets.contracts.vocabulary import analyst_facing, warehouse_table
from podemos_assets.pagos import schemas
from podemos_assets.pagos.automation import AFTER_ITS_DAY
from podemos_assets.pagos.extracts import read_day
from podemos_assets.pagos.layout import compact
from podemos_assets.pagos.merge import CURRENT_POR_CLIENTE, merge_day
from podemos_assets.pagos.partitions import PAYMENT_DAY_PARTITIONS, SINGLE_RUN_BACKFILL, extract_deps
from podemos_assets.resources import WAREHOUSE_POOL, LakeResource, WarehouseResource
from podemos_assets.sucursales.partitions import BRANCHES

GROUP = "pagos"


def _spec(table: str) -> dg.AssetSpec:
    model, sort_key, dist_key, description, analysts = schemas.TABLES[table]
    return dg.AssetSpec(
        key=table,
        description=description,
        group_name=GROUP,
        deps=extract_deps(),
        kinds={"duckdb"},
        automation_condition=AFTER_ITS_DAY,
        tags=analyst_facing() if analysts else {},
        metadata={**schema_metadata(model), **warehouse_table(table, sort_key, dist_key=dist_key)},
    )


class MergeConfig(dg.Config):
    compactar: bool = False  # re-sort pagos_historicos and pagos_por_cliente after the merge (layout fix)


@dg.multi_asset(
    name="pagos_merge",
    specs=[_spec(t) for t in schemas.TABLES],
    partitions_def=PAYMENT_DAY_PARTITIONS,
    backfill_policy=SINGLE_RUN_BACKFILL,
    pool=WAREHOUSE_POOL,
    can_subset=False,
)
def pagos_merge(context: dg.AssetExecutionContext, config: MergeConfig, lake: LakeResource,
                warehouse: WarehouseResource):
    """Merge each day of the run's partition range, oldest first, one transaction per day."""
    zones = {b.id: b.zona_horaria for b in BRANCHES.values()}  # the registry the partitions were built from
    per_day, t0 = [], time.perf_counter()
    with warehouse.connect() as con:
        for fecha in sorted(context.partition_keys):
            inputs, files = read_day(lake, fecha)
            stats = merge_day(con, fecha, inputs, zones)
            context.log.info(f"{fecha}: {files} files, {stats}")
            per_day.append(stats)
        if config.compactar:
            for table in ("pagos_historicos", "pagos_por_cliente"):
                compact(con, table)
        con.execute("CHECKPOINT")
        # the client projection holds its rows minus the retired ones (merge.CURRENT_POR_CLIENTE)
        held = {t: f"SELECT * FROM {t}" for t in schemas.TABLES} | {"pagos_por_cliente": CURRENT_POR_CLIENTE}
        counts = {t: con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0] for t, sql in held.items()}
        motivos = dict(con.execute("SELECT motivo, count(*) FROM pagos_cuarentena GROUP BY 1 ORDER BY 1").fetchall())
    seconds = round(time.perf_counter() - t0, 2)
    for table in schemas.TABLES:
        meta = {"dagster/row_count": counts[table], "merge_seconds": seconds, "days": len(per_day)}
        if table == "pagos_historicos":
            meta["pagos_nuevos_o_cambiados"] = sum(s.pagos_new_or_changed for s in per_day)
            meta["pagos_liberados_de_cuarentena"] = sum(s.pagos_released for s in per_day)
            meta["transacciones_leidas"] = sum(s.rows_in.get("transacciones", 0) for s in per_day)
        if table == "pagos_cuarentena":
            meta["por_motivo"] = dg.MetadataValue.json(motivos)
        yield dg.MaterializeResult(asset_key=table, metadata=meta)
