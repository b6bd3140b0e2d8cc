"""A box of branch-days like the night's, for the tests of how Dagster's events are stored: one run over
many partitions of two assets, reported in batches (`log_materializations`, as `extraccion_sucursales`
does), two of them failing like unreachable branches."""

import dagster as dg

from podemos_assets.event_batches import log_materializations
from podemos_assets.sucursales.automation import partition_statuses

box_days = dg.MultiPartitionsDefinition({
    "fecha": dg.DailyPartitionsDefinition(start_date="2026-11-01", end_date="2026-12-01"),
    "sucursal": dg.StaticPartitionsDefinition(["suc_001", "suc_002"])})
BOX = {"dagster/asset_partition_range_start": "2026-11-01|suc_001",
       "dagster/asset_partition_range_end": "2026-11-30|suc_002"}
UNREACHABLE = {"2026-11-07|suc_002", "2026-11-21|suc_001"}
CAJA = [dg.AssetKey(["caja", "grupos"]), dg.AssetKey(["caja", "transacciones"])]


@dg.multi_asset(specs=[dg.AssetSpec(k, partitions_def=box_days, skippable=True) for k in CAJA],
                partitions_def=box_days, can_subset=False)
def caja_de_sucursales(context: dg.AssetExecutionContext):
    written = sorted(str(k) for k in context.partition_keys if str(k) not in UNREACHABLE)
    for start in range(0, len(written), 25):  # chunks, as the extraction reports them
        for key in CAJA:
            log_materializations(context, [dg.AssetMaterialization(key, partition=p, metadata={"filas": i})
                                           for i, p in enumerate(written[start:start + 25], start)])
    raise dg.Failure(f"{len(UNREACHABLE)} branch-days not extracted", allow_retries=False)


def stored(instance, run_id: str) -> dict:
    """What a run left, per asset, as the run's log shows it and as the cross-run asset index does (one
    store on Postgres, two on SQLite): the planned partitions and the materialized ones, as sorted lists (a
    partition stored twice would show twice)."""
    events = instance.all_logs(run_id)
    out = {}
    for key in CAJA:
        in_log = [sorted(e.dagster_event.partition for e in events
                         if e.dagster_event_type == kind and e.dagster_event.asset_key == key)
                  for kind in (dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, dg.DagsterEventType.ASSET_MATERIALIZATION)]
        records = dg.AssetRecordsFilter(asset_key=key)
        in_index = [sorted(r.partition_key for r in fetch(records, limit=10_000).records if r.run_id == run_id)
                    for fetch in (instance.fetch_planned_materializations, instance.fetch_materializations)]
        out[key] = (*in_log, *in_index)
    return out


def expected(keys: list[str]) -> dict:
    """`stored` of a run of `caja_de_sucursales` over `keys`: everything planned, all but UNREACHABLE done."""
    written = sorted(set(keys) - UNREACHABLE)
    return {key: (sorted(keys), written, sorted(keys), written) for key in CAJA}


def assert_read_back_as_one_by_one(instance, home, run_id: str) -> None:
    """What a run of `caja_de_sucursales` over the whole box left reads back as Dagster's event-by-event
    writes leave it: every partition planned and materialized once (run log and asset index), the
    unreachable ones FAILED for the catch-up and, from a fresh instance, for the UI; the asset's latest
    materialization the last partition's."""
    keys = box_days.get_partition_keys()
    written = sorted(set(keys) - UNREACHABLE)
    assert stored(instance, run_id) == expected(keys)
    for key in CAJA:
        statuses = partition_statuses(instance, key, keys)
        assert {k for k, s in statuses.items() if s == dg.AssetPartitionStatus.FAILED} == UNREACHABLE
        assert {k for k, s in statuses.items() if s == dg.AssetPartitionStatus.MATERIALIZED} == set(written)
        assert instance.get_latest_materialization_event(key).dagster_event.partition == written[-1]
    with dg.DagsterInstance.from_config(str(home)) as fresh:  # the UI's reading, from another process
        failed = fresh.get_status_by_partition(CAJA[1], keys, box_days)
        assert {k for k, s in failed.items() if s == dg.AssetPartitionStatus.FAILED} == UNREACHABLE
