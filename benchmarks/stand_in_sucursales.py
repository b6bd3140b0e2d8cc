"""The branch extraction as Dagster sees it, with a body that reads no branch (benchmarks/instance_history.py).

Same asset keys, partitions, checks, pool and backfill policy as `sucursales.assets.extraccion_sucursales`
(imported from it, so they cannot drift). Per run it reports what the real one reports, the same way: one
materialization per table and branch-day, logged as one batch of events per table, and one result per
check; nothing is extracted. What a run of it costs is Dagster's own cost per partition on the instance it
runs against, which the benchmark compares between an empty instance and one holding years of history.
"""

import dagster as dg

from podemos_assets.event_batches import log_materializations
from podemos_assets.sucursales.assets import SPECS
from podemos_assets.sucursales.assets import extraccion_sucursales as real
from podemos_assets.sucursales.checks import EXTRACTION_CHECKS
from podemos_assets.sucursales.partitions import BRANCH_DAY_PARTITIONS


@dg.multi_asset(
    name="extraccion_sucursales",
    specs=SPECS,
    check_specs=EXTRACTION_CHECKS,
    partitions_def=BRANCH_DAY_PARTITIONS,
    pool=real.op.pool,
    can_subset=False,
    backfill_policy=real.backfill_policy,
)
def extraccion_sucursales(context: dg.AssetExecutionContext):
    keys = sorted(context.partition_keys)
    for spec in SPECS:  # reported as the real one reports them: a batch of Dagster events per table
        log_materializations(context, [dg.AssetMaterialization(spec.key, partition=key, metadata={
            "filas": 0, "filas_cuarentena": 0}) for key in keys])
    for check in EXTRACTION_CHECKS:
        yield dg.AssetCheckResult(asset_key=check.asset_key, check_name=check.name, passed=True)


defs = dg.Definitions(assets=[extraccion_sucursales])
