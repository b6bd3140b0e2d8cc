"""When pagos runs, and through which path:

- `automatizacion_podemos` (`podemos_assets/automation.py`): the merge (`pagos_historicos` and its tables)
  after the extracts and tombstones of its day changed, and the dbt reports after the merge of their day;
- sensor `compactacion_pagos`: compaction (`pagos_merge` with `compactar: true`, job `compactacion_pagos`)
  when a layout check failed at its latest evaluation, on the embedded warehouse;
- `consolidacion_masiva` (the Spark bulk path) only when an engineer launches it for a range of days.
"""

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES  # queued to canceling

from podemos_assets.automation import MAINTENANCE, after_upstream, sensor_status
from podemos_assets.pagos.checks import LAYOUT_CHECKS
from podemos_assets.pagos.partitions import PAYMENT_DAY_PARTITIONS
from podemos_assets.pagos.schemas import TABLES
from podemos_assets.resources import WarehouseResource

AFTER_ITS_DAY = after_upstream()  # the merge: the branch extracts and tombstones of its day changed
AFTER_THE_MERGE = after_upstream()  # the dbt report models

COMPACTION_JOB = dg.define_asset_job(
    "compactacion_pagos", selection=dg.AssetSelection.assets(*TABLES), partitions_def=PAYMENT_DAY_PARTITIONS,
    config={"ops": {"pagos_merge": {"config": {"compactar": True}}}},
    description="pagos_merge of the latest merged day, then compaction of pagos_historicos and pagos_por_cliente "
                "(the fix the layout checks name); its layout checks run again in the same run")

def _job_of(instance: dg.DagsterInstance, run_id: str) -> str | None:
    run = instance.get_run_by_id(run_id)
    return run.job_name if run else None


@dg.sensor(name="compactacion_pagos", job=COMPACTION_JOB, minimum_interval_seconds=300,
           default_status=sensor_status(), tags=MAINTENANCE,
           description="Compacts the payments tables when a layout check failed at its latest evaluation "
                       "(the embedded warehouse; Redshift sorts and analyzes itself)")
def compaction_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    """Decides from the instance, not a cursor: the run key is the failing evaluations' ids, so one failure
    asks for one compaction, and the compaction run's own check results end the request."""
    if not warehouse.embedded:
        return dg.SkipReason("Redshift: VACUUM and ANALYZE keep its layout (docs/pagos.md); nothing to compact")
    keys = [key for check in LAYOUT_CHECKS for key in check.check_keys]
    latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    failed = sorted((key.name, record.id) for key, record in latest.items()
                    if record.status == AssetCheckExecutionRecordStatus.FAILED)
    if not failed:
        return dg.SkipReason("every layout check passed at its latest evaluation")
    # A check that still fails in a compaction's own run is not fixed by compacting again (a loop every tick,
    # a rewrite of both tables each time): it waits for an engineer, and the failed check alerts (alertas_plataforma).
    after_compaction = sorted(key.name for key, record in latest.items()
                              if record.status == AssetCheckExecutionRecordStatus.FAILED
                              and _job_of(context.instance, record.run_id) == COMPACTION_JOB.name)
    if after_compaction:
        return dg.SkipReason(f"layout check(s) {after_compaction} still fail after a compaction: compacting "
                             "again would not fix them; see the check's description")
    if context.instance.get_runs_count(dg.RunsFilter(job_name=COMPACTION_JOB.name, statuses=NOT_FINISHED_STATUSES)):
        return dg.SkipReason("a compaction is in flight; its checks are read next tick")
    merged = context.instance.get_latest_materialization_event(dg.AssetKey("pagos_historicos"))
    day = merged.dagster_event.partition if merged and merged.dagster_event else None
    if day is None:
        return dg.SkipReason(f"layout check(s) {[name for name, _ in failed]} failed, but no day is merged yet")
    return dg.RunRequest(run_key="compactacion:" + ",".join(f"{name}@{record}" for name, record in failed),
                         partition_key=day, tags={"podemos/motivo": "falló " + ", ".join(n for n, _ in failed)})
