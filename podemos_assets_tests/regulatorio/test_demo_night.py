"""The Dagster path end to end (the demo step on a small scenario): runs, per-day materializations,
blocking checks, a partial then complete delivery, and one alert + one recovery for the late source."""

from __future__ import annotations

from datetime import date

import dagster as dg

from podemos_assets import regulatorio
from podemos_assets.demo import regulatorio as gen
from podemos_assets.demo import steps_regulatorio
from podemos_assets.demo.run import DemoContext
from podemos_assets.demo.scenario import Scenario
from podemos_assets.regulatorio.assets import REPORT_KEY, SCHEMA_CHECK, source_key
from podemos_assets.regulatorio.report import read_manifest, versions
from podemos_assets.resources import AlertsResource, LakeResource, build_resources


def test_demo_night_partial_then_complete_through_dagster(settings):
    scenario = Scenario(start=date(2026, 11, 2), days=3, branches=10, clients_per_branch=5)
    summary = gen.generate(scenario, settings)
    lake = LakeResource(url=settings.lake_url)
    for d in scenario.dates:  # the branch ETL and field events' outputs, per their contract
        gen.write_lake_sources(lake, d.isoformat(), scale=0.05)
    defs = dg.Definitions(assets=regulatorio.defs.assets, asset_checks=regulatorio.defs.asset_checks,
                          jobs=regulatorio.defs.jobs, resources=build_resources(settings))
    with dg.instance_for_test() as instance:
        steps_regulatorio.run(DemoContext(settings, scenario, instance, defs))

        late, bad = summary["late"].split("@")[1], summary["malformed"].split("@")[1]
        assert late == scenario.dates[-1].isoformat()
        outbox = LakeResource(url=settings.outbox_url)
        for d in scenario.dates:
            fecha = d.isoformat()
            manifests = [read_manifest(fecha, v, outbox) for v in versions(fecha, outbox)]
            if fecha == late:
                assert [m["parcial"] for m in manifests] == [True, False]
                assert manifests[0]["faltantes_requeridas"] == ["spei"]
            else:
                assert [m["parcial"] for m in manifests] == [False]
            if fecha == bad:
                assert any(e["fuente"] == "seguros" and "rechazado" in e["motivo"] for e in manifests[-1]["excepciones"])

        # Dagster saw one materialization per good day, and the refused file as a failed blocking check
        seguros = source_key("seguros")
        done = instance.get_materialized_partitions(seguros)
        assert done == {d.isoformat() for d in scenario.dates} - {bad}
        assert instance.get_materialized_partitions(REPORT_KEY) == {d.isoformat() for d in scenario.dates}
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(seguros, SCHEMA_CHECK)])[dg.AssetCheckKey(seguros, SCHEMA_CHECK)]
        assert check.status.value == "FAILED"

        alerts = AlertsResource(url=settings.alerts_url).sent()
        spei = [a["kind"] for a in alerts if a["subject"] == "check regulatorio/spei:llegada_a_tiempo"]
        assert spei == ["failure", "recovery"]
        assert any(a["subject"] == f"check regulatorio/seguros:{SCHEMA_CHECK}" for a in alerts)
