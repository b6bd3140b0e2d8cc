"""The campo assets: curated field events per event day (one multi-asset: the event index, the four
per-type tables and the quarantine) and their monitoring metrics."""


from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from podemos_assets.campo import metrics, transform
from podemos_assets.campo.checks import schema_check, schema_check_specs
from podemos_assets.campo.partitions import EVENT_DAY_PARTITIONS
from podemos_assets.campo.schemas import TABLES, CuarentenaCampo, MetricasCampo
from podemos_assets.contracts import arrow_schema
from podemos_assets.contracts import lake as paths
from podemos_assets.contracts.vocabulary import AUDIENCE_TAG, Audience, analyst_facing, report_files, schema_metadata
from podemos_assets.resources.lake import LakeResource

ASSET_OF_TABLE = {
    "eventos": "eventos_campo",
    "pagos": "pagos_campo",
    "checkins": "checkins_campo",
    "fotos": "fotos_campo",
    "visitas": "visitas_campo",
}
DESCRIPTIONS = {
    "eventos": "Every field event stored once (dedup by event_id), with device time, server receipt time and the "
               "corrected event time; partitioned by the corrected event day in America/Mexico_City.",
    "pagos": "Payments collected in the field (regulatory source app_campo reads these files).",
    "checkins": "GPS check-ins of field officers, coordinates coarsened to ~1 km (exact GPS is PII).",
    "fotos": "Photo evidence of visits: content address (sha256) and size; the photos are in the lake.",
    "visitas": "Visit outcomes recorded by field officers.",
}
QUARANTINE = dg.AssetKey("cuarentena_campo")


def _specs() -> list[dg.AssetSpec]:
    specs = [
        dg.AssetSpec(
            ASSET_OF_TABLE[name], description=DESCRIPTIONS[name], group_name="campo",
            metadata={**schema_metadata(model), **report_files("lake", paths.field_table_prefix(name))},
            tags=analyst_facing(), kinds={"parquet"},
        )
        for name, model in TABLES.items()
    ]
    specs.append(dg.AssetSpec(
        QUARANTINE, group_name="campo", kinds={"parquet"},
        description="Field events kept out of the curated tables with the reason: payload conflicts on a "
                    "repeated event_id, events rejected at ingestion, rows failing the pandera checks.",
        metadata=schema_metadata(CuarentenaCampo), tags={AUDIENCE_TAG: Audience.CUMPLIMIENTO.value},
    ))
    return specs


@dg.multi_asset(
    specs=_specs(),
    check_specs=schema_check_specs([*ASSET_OF_TABLE.values(), QUARANTINE]),
    partitions_def=EVENT_DAY_PARTITIONS,
    backfill_policy=dg.BackfillPolicy.single_run(),  # a catch-up of many days is one run, one landing scan
    can_subset=False,
)
def eventos_campo(context: dg.AssetExecutionContext, lake: LakeResource):
    """Read the landing zone once for the run's days and write each day's tables (overwrite = idempotent)."""
    days = sorted(date.fromisoformat(k) for k in context.partition_keys)
    keys = transform.landing_keys(lake, since=days[0] - timedelta(days=transform.LATE_RECEIPT_DAYS))
    records = transform.read_landing(lake, keys)
    totals: dict[str, int] = {name: 0 for name in TABLES}
    quarantined = redeliveries = 0
    processed_at = datetime.now(UTC)
    receipt_to_processed: list[float] = []
    for day in days:
        result = transform.build_day(records, day)
        for name, table in result.tables.items():
            lake.write_parquet(paths.field_table_day(name, day.isoformat()), table)
            totals[name] += table.num_rows
        lake.write_parquet(paths.field_quarantine_day(day.isoformat()), result.quarantine)
        quarantined += result.quarantine.num_rows
        redeliveries += result.stats["redeliveries_collapsed"]
        ev = result.tables["eventos"]
        if ev.num_rows:
            receipt_to_processed += [(processed_at - t).total_seconds() for t in ev["hora_recepcion"].to_pylist()]
    common = {"landing_files_read": len(keys), "days": len(days)}
    for name in TABLES:
        meta = {**common, "dagster/row_count": totals[name]}
        if name == "eventos":
            meta.update(redeliveries_collapsed=redeliveries,
                        **{f"receipt_to_processed_{k}_s": v
                           for k, v in metrics.percentiles(receipt_to_processed).items()})
        yield dg.MaterializeResult(asset_key=ASSET_OF_TABLE[name], metadata=meta)
    yield dg.MaterializeResult(asset_key=QUARANTINE, metadata={**common, "dagster/row_count": quarantined})
    keys = [day.isoformat() for day in days]
    for name, model in TABLES.items():
        yield schema_check(lake, dg.AssetKey(ASSET_OF_TABLE[name]), model,
                           [paths.field_table_day(name, k) for k in keys])
    yield schema_check(lake, QUARANTINE, CuarentenaCampo, [paths.field_quarantine_day(k) for k in keys])


@dg.asset(
    group_name="campo",
    partitions_def=EVENT_DAY_PARTITIONS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["eventos_campo", QUARANTINE],
    kinds={"parquet"},
    tags=analyst_facing(),
    metadata={**schema_metadata(MetricasCampo), **report_files("lake", paths.field_table_prefix("metricas"))},
    check_specs=schema_check_specs(["metricas_campo"]),
    description="Field-ingestion monitoring per event day: events and quarantine rate in total, per region and "
                "per device, and the latency from corrected event time to server receipt (p50/p95/p99); "
                "receipt -> processed latency is in the eventos_campo materialization metadata.",
)
def metricas_campo(context: dg.AssetExecutionContext, lake: LakeResource):
    rows = 0
    worst_p99 = 0.0
    for key in sorted(context.partition_keys):
        ev = read_table(lake, paths.field_table_day("eventos", key), TABLES["eventos"])
        q = read_table(lake, paths.field_quarantine_day(key), CuarentenaCampo)
        table = metrics.day_metrics(date.fromisoformat(key), ev, q)
        lake.write_parquet(paths.field_table_day("metricas", key), table)
        rows += table.num_rows
        total = table.filter(pc.equal(table["dimension"], "total"))
        if total.num_rows and total["latencia_p99_s"][0].as_py() is not None:
            worst_p99 = max(worst_p99, total["latencia_p99_s"][0].as_py())
    yield dg.MaterializeResult(metadata={"dagster/row_count": rows, "event_to_receipt_p99_s_worst_day": worst_p99})
    yield schema_check(lake, dg.AssetKey("metricas_campo"), MetricasCampo,
                       [paths.field_table_day("metricas", k) for k in sorted(context.partition_keys)])


def read_table(lake: LakeResource, key: str, model) -> pa.Table:
    return lake.read_parquet(key) if lake.exists(key) else pa.Table.from_pylist([], arrow_schema(model))
