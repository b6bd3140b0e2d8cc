"""The UI's partition statuses, kept ready: sensor and job `cache_estado_particiones`.

Dagster's webserver reads an asset's partition statuses (the Partitions tab, the backfill dialog) from a
cache in the instance, kept per partitions definition. The branch assets' daily window moves on the 1st of
a month (sucursales/partitions.py), which makes a new definition: the first page that reads such an asset
afterwards rebuilds its cache from the whole history, 22.6 s for `sucursales/transacciones` after three
years of 200 branches on Postgres (docs/sucursales.md), where the UI should answer within 3 s. This sensor
notices a cache kept for another definition than the asset's current one (one read of the asset records)
and launches one run that rebuilds those caches: the daemon pays the rebuild, not the first engineer who
opens the page. A cache the UI never built is left alone (nobody reads that asset's partitions there).
"""


import hashlib
import time

import dagster as dg
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES  # queued to canceling

from podemos_assets.automation import MAINTENANCE, sensor_status

NAME = "cache_estado_particiones"


class CacheConfig(dg.Config):
    assets: list[str]  # asset keys, as the UI writes them (`sucursales/transacciones`)


def stale_caches(instance: dg.DagsterInstance, graph) -> dict[dg.AssetKey, str]:
    """Asset key -> its current partitions definition's id, for each cache the UI built for another one."""
    current = {key: graph.get(key).partitions_def for key in graph.get_all_asset_keys()
               if graph.get(key).is_materializable and graph.get(key).partitions_def is not None}
    stale = {}
    for record in instance.get_asset_records(list(current)):
        key, cached = record.asset_entry.asset_key, record.asset_entry.cached_status
        if cached is None:
            continue
        identifier = current[key].get_serializable_unique_identifier()  # no dynamic partitions here
        if cached.partitions_def_id != identifier:
            stale[key] = identifier
    return stale


@dg.op(name="reconstruir_cache_estado")
def rebuild_caches(context: dg.OpExecutionContext, config: CacheConfig) -> None:
    from podemos_assets.definitions import defs  # the code location this job is part of, loaded already

    graph = defs.resolve_asset_graph()
    for name in config.assets:
        key = dg.AssetKey.from_user_string(name)
        if not graph.has(key) or graph.get(key).partitions_def is None:
            context.log.warning(f"{name}: no partitioned asset of that name in this code location; skipped")
            continue
        partitions_def = graph.get(key).partitions_def
        first = partitions_def.get_first_partition_key()
        t0 = time.perf_counter()
        # The instance's public read of partition statuses goes through the same cache as the UI, and stores
        # the cache it rebuilt for the current definition.
        context.instance.get_status_by_partition(key, [first] if first else [], partitions_def)
        context.log.info(f"{name}: partition status cache rebuilt for the current partitions in "
                         f"{time.perf_counter() - t0:.1f} s")


@dg.job(name=NAME, tags=MAINTENANCE,
        description="Rebuilds the UI's partition status cache of the assets whose partitions definition changed "
                    "(the branch window moved): the daemon pays the rebuild, not the first page that reads it")
def cache_job():
    rebuild_caches()


@dg.sensor(name=NAME, job=cache_job, minimum_interval_seconds=300, default_status=sensor_status(),
           tags=MAINTENANCE,
           description="After the branch window moves, rebuilds the UI's partition status caches in a run, "
                       "before an engineer's page has to")
def status_cache_sensor(context: dg.SensorEvaluationContext):
    stale = stale_caches(context.instance, context.repository_def.asset_graph)
    if not stale:
        return dg.SkipReason("every partition status cache matches its asset's current partitions")
    if context.instance.get_runs_count(dg.RunsFilter(job_name=NAME, statuses=NOT_FINISHED_STATUSES)):
        return dg.SkipReason(f"{len(stale)} cache(s) to rebuild; a rebuild is in flight")
    names = sorted(key.to_user_string() for key in stale)
    # One request per set of definitions: a rebuild that failed is not repeated every tick (its failed run is
    # in the UI's runs); the next move of the window asks again.
    run_key = NAME + ":" + hashlib.sha1(repr(sorted((n, stale[dg.AssetKey.from_user_string(n)])
                                                    for n in names)).encode()).hexdigest()
    return dg.RunRequest(run_key=run_key, run_config={"ops": {"reconstruir_cache_estado": {"config": {"assets": names}}}},
                         tags={"podemos/motivo": f"{len(names)} cache(s) de estado de particiones desactualizado(s)"})
