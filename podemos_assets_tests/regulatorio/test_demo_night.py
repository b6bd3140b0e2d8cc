"""The Dagster path end to end, driven only by the capability's automation: the demo's staged files land at
their planned times, the real sensors are ticked at simulated times with their cursors, the runs they
request execute in-process, the freshness sensor's check runs where a verdict changed, the alert sensor after."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import dagster as dg

from podemos_assets import regulatorio
from podemos_assets.demo import regulatorio as gen
from podemos_assets.demo.run import DemoContext
from podemos_assets.demo.scenario import Scenario
from podemos_assets.regulatorio.assets import REPORT_KEY, SCHEMA_CHECK, source_key
from podemos_assets.regulatorio.extracts import extract_versions
from podemos_assets.regulatorio.registry import TZ
from podemos_assets.regulatorio.report import read_manifest, versions
from podemos_assets.resources import AlertsResource, LakeResource, build_resources
from podemos_assets_tests.instancia import instance_for_test
from podemos_assets_tests.regulatorio import night_driver
from podemos_assets_tests.regulatorio.warehouse_fixture import BRANCHES, Warehouse


def test_demo_nights_partial_then_complete_through_dagster_sensors(settings):
    scenario = Scenario(start=date(2026, 11, 2), days=3, branches=10, clients_per_branch=5)
    summary = gen.generate(scenario, settings)
    res = build_resources(settings)
    lake = res["lake"]
    defs = dg.Definitions(assets=regulatorio.defs.assets, asset_checks=regulatorio.defs.asset_checks,
                          jobs=regulatorio.defs.jobs, sensors=regulatorio.defs.sensors,
                          schedules=regulatorio.defs.schedules, resources=res)
    with instance_for_test() as instance:
        wh = Warehouse(lake, res["warehouse"], instance)
        for d in scenario.dates:  # the branch ETL, pagos and campo outputs of each day, per their contracts
            fecha = d.isoformat()
            gen.write_lake_sources(lake, fecha, scale=0.05, only=("app_campo",))
            wh.seed(fecha)
            for i in range(4):
                wh.pay(BRANCHES[i % 2], datetime.combine(d, datetime.min.time()) + timedelta(hours=9 + i), f"{20 + i}.50")
            wh.merge(fecha)
        # nothing is in the drop zone before its planned arrival
        assert not [k for k in LakeResource(url=settings.sources_url).list("") if not k.startswith("_por_llegar")]
        night_driver.run(DemoContext(settings, scenario, instance, defs))

        late, bad = summary["late"].split("@")[1], summary["malformed"].split("@")[1]
        outbox = LakeResource(url=settings.outbox_url)
        for d in scenario.dates:
            fecha = d.isoformat()
            manifests = [read_manifest(fecha, v, outbox) for v in versions(fecha, outbox)]
            if fecha == late:  # spei after the cut-off: partial on time, then complete late and linked to v1
                assert [(m["parcial"], m["a_tiempo"]) for m in manifests][-2:] == [(True, True), (False, False)]
                assert all(m["parcial"] for m in manifests[:-1])
                assert manifests[0]["faltantes_requeridas"] == ["spei"]
                assert manifests[-1]["version_anterior"]["parcial"] and manifests[-1]["version_anterior"]["a_tiempo"]
            elif fecha == bad:  # seguros (optional, after 02:00) refused and never corrected: a new, partial version
                assert not manifests[0]["parcial"] and manifests[0]["a_tiempo"]
                last = manifests[-1]
                assert last["parcial"] and last["rechazadas_sin_version"] == ["seguros"]
                assert any(e["fuente"] == "seguros" and "rechazado" in e["motivo"] for e in last["excepciones"])
                assert not any(e["fuente"] == "seguros" and "no llegó" in e["motivo"] for e in last["excepciones"])
                assert outbox.read_bytes(f"reporte_regulatorio/{fecha}/v{last['version']}/seguros.csv").startswith(
                    b"# SECCION INCOMPLETA: fuente seguros: archivo rechazado")
                # the broken-then-corrected contabilidad_gl: one version, the corrected one, no exception left
                assert extract_versions("contabilidad_gl", fecha, lake) == [1]
                assert not any(e["fuente"] == "contabilidad_gl" for e in manifests[0]["excepciones"])
            else:  # complete on time; optional files landing after 02:00 make new versions, all on time
                assert manifests and all(not m["parcial"] and m["a_tiempo"] for m in manifests)
            index = json.loads(outbox.read_bytes(f"reporte_regulatorio/{fecha}/indice.json"))
            assert [v["estado"] for v in index["versiones"]] == [
                {(True, True): "parcial", (False, False): "tarde", (False, True): "completo"}[(m["parcial"], m["a_tiempo"])]
                for m in manifests]

        # Dagster saw one materialization per good day, and the refused file as a failed blocking check
        seguros = source_key("seguros")
        assert instance.get_materialized_partitions(seguros) == {d.isoformat() for d in scenario.dates} - {bad}
        # (the open days before the scenario have no source at all: past their cut-off they went out partial)
        assert instance.get_materialized_partitions(REPORT_KEY) >= {d.isoformat() for d in scenario.dates}
        runs = instance.get_runs()
        assert runs and all(r.tags.get("dagster/sensor_name") or r.tags.get("dagster/schedule_name") for r in runs)

        alerts = AlertsResource(url=settings.alerts_url).sent()
        spei = [a["kind"] for a in alerts if a["subject"] == f"check regulatorio/spei:llegada_a_tiempo {late}"]
        assert spei == ["failure", "recovery"]
        assert [a["kind"] for a in alerts if a["subject"] == f"check regulatorio/seguros:{SCHEMA_CHECK} {bad}"] == ["failure"]
        # only a partial on time: one warning for that day, never cleared by the other days' success
        subject = f"check reporte_regulatorio_diario:entregado_a_tiempo {late}"
        assert [a["kind"] for a in alerts if a["subject"] == subject] == ["failure"], subject
        for d in scenario.dates[:-1]:  # complete on time (the bad day's first version was complete)
            assert not [a for a in alerts if a["subject"].endswith(f"entregado_a_tiempo {d.isoformat()}")]
        assert all(datetime.fromisoformat(a["sent_at"]) < datetime(2026, 11, 6, tzinfo=TZ) for a in alerts)
