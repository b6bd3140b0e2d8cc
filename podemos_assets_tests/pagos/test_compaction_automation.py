"""Compaction runs by itself: a layout check that fails at its latest evaluation makes the sensor
`compactacion_pagos` ask for one compaction run of the latest merged day; that run re-sorts the tables, its
own checks pass, and the sensor asks for nothing more. On Redshift it never asks (the engine sorts itself)."""

from __future__ import annotations

import dagster as dg
import duckdb

from podemos_assets.pagos import defs as pagos_defs
from podemos_assets.pagos.automation import COMPACTION_JOB, compaction_sensor
from podemos_assets.pagos.checks import LAYOUT_CHECKS
from podemos_assets.resources.warehouse import RedshiftWarehouse
from podemos_assets_tests.instancia import instance_for_test
from podemos_assets_tests.pagos.test_layout import FILL
from podemos_assets_tests.pagos.test_reports import DAYS, generate


def _tick(instance, warehouse):
    return compaction_sensor(dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse}))


def _layout_results(result) -> dict[str, bool]:
    names = {key.name for check in LAYOUT_CHECKS for key in check.check_keys}
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations() if e.check_name in names}


def test_a_failing_layout_check_launches_one_compaction_and_its_run_ends_the_request(tmp_path):
    from podemos_assets.config import load_settings
    from podemos_assets.resources import build_resources

    settings = load_settings({"PODEMOS_HOME": str(tmp_path)})
    resources = build_resources(settings)
    warehouse = resources["warehouse"]
    generate(resources["lake"])
    defs = dg.Definitions.merge(pagos_defs, dg.Definitions(resources=resources))
    with instance_for_test() as instance:
        merged = dg.materialize([*pagos_defs.assets, *pagos_defs.asset_checks], resources=resources, instance=instance,
                                selection=dg.AssetSelection.assets("pagos_historicos").required_multi_asset_neighbors(),
                                partition_key=DAYS[1].isoformat())
        assert merged.success and _layout_results(merged) == dict.fromkeys(
            ("orden_fecha_pago", "estadisticas_vigentes", "tamano_y_reparto", "orden_id_cliente"), True)
        assert isinstance(_tick(instance, warehouse), dg.SkipReason)  # everything passed: nothing to do

        # The layout degrades (400,000 rows written out of date order), and the next evaluation says so.
        with duckdb.connect(settings.warehouse_path) as con:
            con.execute(FILL.format(order="hash(i)"))
        checked = dg.materialize([*pagos_defs.assets, *pagos_defs.asset_checks], resources=resources,
                                 instance=instance, selection=dg.AssetSelection.checks(*LAYOUT_CHECKS))
        assert _layout_results(checked)["orden_fecha_pago"] is False

        request = _tick(instance, warehouse)
        assert isinstance(request, dg.RunRequest), request
        assert request.partition_key == DAYS[1].isoformat()  # the latest merged day: re-merging it is idempotent
        assert "orden_fecha_pago@" in request.run_key
        assert _tick(instance, warehouse).run_key == request.run_key  # the same failure: the same run, once

        compaction = defs.resolve_job_def(COMPACTION_JOB.name).execute_in_process(
            instance=instance, partition_key=request.partition_key, tags=request.tags)
        assert compaction.success
        assert _layout_results(compaction) == {"orden_fecha_pago": True, "estadisticas_vigentes": True,
                                               "tamano_y_reparto": True, "orden_id_cliente": True}
        with duckdb.connect(settings.warehouse_path, read_only=True) as con:
            assert con.execute("SELECT count(*) FROM pagos_historicos WHERE sucursal = 'suc_001' "
                               "AND fecha_pago >= DATE '2024-01-01' AND fecha_pago < DATE '2026-01-01'").fetchone()[0] \
                == 400_000  # re-sorted, nothing lost
        assert isinstance(_tick(instance, warehouse), dg.SkipReason)


def test_a_check_that_compaction_does_not_fix_is_not_compacted_again(tmp_path, monkeypatch):
    """Otherwise a failure compaction cannot fix would launch a compaction every tick, forever."""
    from podemos_assets.config import load_settings
    from podemos_assets.pagos import assets
    from podemos_assets.resources import build_resources

    settings = load_settings({"PODEMOS_HOME": str(tmp_path)})
    resources = build_resources(settings)
    generate(resources["lake"])
    defs = dg.Definitions.merge(pagos_defs, dg.Definitions(resources=resources))
    with instance_for_test() as instance:
        assert dg.materialize([*pagos_defs.assets, *pagos_defs.asset_checks], resources=resources, instance=instance,
                              selection=dg.AssetSelection.assets("pagos_historicos").required_multi_asset_neighbors(),
                              partition_key=DAYS[0].isoformat()).success
        with duckdb.connect(settings.warehouse_path) as con:
            con.execute(FILL.format(order="hash(i)"))
        monkeypatch.setattr(assets, "compact", lambda con, table: None)  # a compaction that fixes nothing
        request = _tick(instance, resources["warehouse"])
        assert isinstance(request, dg.SkipReason)  # no failing evaluation recorded yet: nothing to go on
        dg.materialize([*pagos_defs.assets, *pagos_defs.asset_checks], resources=resources, instance=instance,
                       selection=dg.AssetSelection.checks(*LAYOUT_CHECKS))
        request = _tick(instance, resources["warehouse"])
        assert isinstance(request, dg.RunRequest)
        ran = defs.resolve_job_def(COMPACTION_JOB.name).execute_in_process(
            instance=instance, partition_key=request.partition_key, raise_on_error=False)
        assert _layout_results(ran)["orden_fecha_pago"] is False
        skip = _tick(instance, resources["warehouse"])
        assert isinstance(skip, dg.SkipReason) and "still fail after a compaction" in skip.skip_message
        assert "orden_fecha_pago" in skip.skip_message


def test_on_redshift_the_sensor_never_compacts():
    with instance_for_test() as instance:
        skip = _tick(instance, RedshiftWarehouse.from_url("redshift://etl@example.invalid:5439/podemos"))
    assert isinstance(skip, dg.SkipReason) and "Redshift" in skip.skip_message
