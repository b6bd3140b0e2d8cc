"""The UI's partition status caches follow the branch window: a cache the UI built under last month's window
makes the sensor `cache_estado_particiones` ask for one run, which rebuilds it for the current partitions;
then the sensor asks for nothing. A cache nobody built is left alone."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from podemos_assets.definitions import defs
from podemos_assets.estado_particiones import NAME, status_cache_sensor
from podemos_assets.sucursales.partitions import (
    BRANCH_DAY_PARTITIONS,
    BRANCH_PARTITIONS,
    BRANCHES,
    FIRST_DAY,
    PARTITION_TZ,
    partition_key,
)
from podemos_assets.sucursales.schemas import KEYS
from podemos_assets_tests.instancia import instance_for_test

# The window as it was a month ago: the same branches, days from a month earlier.
LAST_MONTHS_WINDOW = dg.MultiPartitionsDefinition({
    "fecha": dg.DailyPartitionsDefinition(start_date=(FIRST_DAY - timedelta(days=31)).isoformat(), timezone=PARTITION_TZ),
    "sucursal": BRANCH_PARTITIONS})


def _tick(instance):
    return status_cache_sensor(dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def()))


def _cached_for(instance, key) -> str | None:
    cached = instance.get_asset_records([key])[0].asset_entry.cached_status
    return cached.partitions_def_id if cached else None


def test_a_cache_built_under_last_months_window_is_rebuilt_by_one_run():
    transacciones, cuentas = KEYS["transacciones"], KEYS["cuentas"]
    branch = next(iter(BRANCHES))
    inside, before = partition_key(FIRST_DAY, branch), partition_key(FIRST_DAY - timedelta(days=3), branch)
    with instance_for_test() as instance:
        for key in (transacciones, cuentas):  # nights of both windows, as the event log holds them
            for pk in (before, inside):
                instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=pk))
        assert isinstance(_tick(instance), dg.SkipReason)  # no page has read any status yet: nothing to keep

        # An engineer opened `transacciones` in the UI last month: its cache is for last month's window.
        instance.get_status_by_partition(transacciones, [inside], LAST_MONTHS_WINDOW)
        assert _cached_for(instance, transacciones) == LAST_MONTHS_WINDOW.get_serializable_unique_identifier()

        request = _tick(instance)
        assert isinstance(request, dg.RunRequest), request
        assert request.run_config["ops"]["reconstruir_cache_estado"]["config"]["assets"] == ["sucursales/transacciones"]
        assert _tick(instance).run_key == request.run_key  # the same stale cache: the same run, once

        run = defs.resolve_job_def(NAME).execute_in_process(instance=instance, run_config=request.run_config)
        assert run.success
        # Stored for the current window, with the current window's statuses: the day before it is gone,
        # the day inside it materialized.
        assert _cached_for(instance, transacciones) == BRANCH_DAY_PARTITIONS.get_serializable_unique_identifier()
        assert _cached_for(instance, cuentas) is None  # never read in the UI: not built
        statuses = instance.get_status_by_partition(transacciones, [inside], BRANCH_DAY_PARTITIONS)
        assert statuses == {inside: dg.AssetPartitionStatus.MATERIALIZED}
        assert isinstance(_tick(instance), dg.SkipReason)
