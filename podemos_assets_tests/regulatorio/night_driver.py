"""Test driver of test_demo_night.py: the regulatory nights driven only by this capability's automation
(the platform demo drives every capability through podemos_assets/simulation.py; this is the slice).

For each night after a demo day the clock stops at `TICKS` (America/Mexico_City); at each stop the staged
source files due by then land (`demo.regulatorio.arrive_due`), then the code location's own sensors are
evaluated at that simulated time (`llegada_fuentes_regulatorias`, `entrega_reporte_regulatorio`, with
their cursors kept between ticks) and the runs they request are executed in-process with the clock pinned;
then the freshness sensor (its checks run where a day's verdict changed), then the platform's alert sensor
(`alertas_plataforma`, podemos_assets/alertas.py). Nothing else decides what runs.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import dagster as dg

from podemos_assets.alertas import alert_sensor
from podemos_assets.demo.regulatorio import arrive_due
from podemos_assets.regulatorio.assets import COBRANZA_CHECK, RECONCILIATION_CHECK, REPORT_KEY, SCHEMA_CHECK
from podemos_assets.regulatorio.automation import arrival_sensor, delivery_sensor, freshness_watch
from podemos_assets.regulatorio.registry import TZ
from podemos_assets.regulatorio.report import read_manifest, versions
from podemos_assets.resources import LakeResource, build_resources
from podemos_assets.resources.clock import ClockResource

TICKS = [time(0, 30), time(1, 15), time(2, 0), time(3, 15), time(4, 15), time(5, 30), time(5, 45), time(6, 15),
         time(7, 15)]
RUN_KEY, SENSOR = "dagster/run_key", "dagster/sensor_name"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class RegulatoryNight:
    """The regulatory automation evaluated at simulated instants, as the daemon would evaluate it."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance, resources: dict):
        self.defs, self.instance, self.resources = defs, instance, resources
        self.cursors: dict[str, str | None] = {}
        self.runs: list[tuple[datetime, str, str, bool]] = []  # (when, sensor, partition, success)

    def _resources(self, now: datetime) -> dict:
        return {**self.resources, "clock": ClockResource.at(now)}

    def _evaluate(self, sensor: dg.SensorDefinition, now: datetime) -> list[dg.RunRequest]:
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursors.get(sensor.name),
                                          definitions=self.defs, resources=self._resources(now))
        data = sensor.evaluate_tick(context)
        self.cursors[sensor.name] = data.cursor
        return list(data.run_requests or [])

    def _launched(self, sensor: str, run_key: str) -> bool:
        return bool(self.instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY: run_key, SENSOR: sensor}), limit=1))

    def run_sensor(self, sensor: dg.SensorDefinition, now: datetime) -> int:
        launched = 0
        for request in self._evaluate(sensor, now):
            if request.run_key and self._launched(sensor.name, request.run_key):
                continue  # the daemon never launches a run key twice
            keys = set(request.asset_selection or [REPORT_KEY])
            checks = {dg.AssetCheckKey(k, SCHEMA_CHECK) for k in keys if k != REPORT_KEY}
            if REPORT_KEY in keys:
                checks |= {dg.AssetCheckKey(REPORT_KEY, RECONCILIATION_CHECK), dg.AssetCheckKey(REPORT_KEY, COBRANZA_CHECK)}
            job = self.defs.resolve_implicit_global_asset_job_def().get_subset(
                asset_selection=keys, asset_check_selection=checks)
            result = job.execute_in_process(
                instance=self.instance, partition_key=request.partition_key, resources=self._resources(now),
                tags={**request.tags, SENSOR: sensor.name, **({RUN_KEY: request.run_key} if request.run_key else {})},
                raise_on_error=False, run_config=QUIET)
            self.runs.append((now, sensor.name, request.partition_key, result.success))
            launched += 1
        return launched

    def run_freshness(self, now: datetime) -> None:
        for request in self._evaluate(freshness_watch, now):
            job = self.defs.resolve_implicit_global_asset_job_def().get_subset(
                asset_selection=set(), asset_check_selection=set(request.asset_check_keys))
            result = job.execute_in_process(instance=self.instance, resources=self._resources(now), raise_on_error=False,
                                            run_config=QUIET, tags={**request.tags, SENSOR: freshness_watch.name})
            self.runs.append((now, freshness_watch.name, None, result.success))

    def run_alerts(self, now: datetime) -> None:
        self._evaluate(alert_sensor, now)

    def tick(self, now: datetime, settings=None) -> list[str]:
        notes = arrive_due(settings, now) if settings is not None else []
        self.run_sensor(arrival_sensor, now)
        self.run_sensor(delivery_sensor, now)
        self.run_freshness(now)
        self.run_alerts(now)
        return notes


def night_times(day) -> list[datetime]:
    return [datetime.combine(day + timedelta(days=1), t, TZ) for t in TICKS]


def run(ctx) -> None:
    night = RegulatoryNight(ctx.defs, ctx.instance, build_resources(ctx.settings))
    outbox = LakeResource(url=ctx.settings.outbox_url)
    for day in ctx.scenario.dates:
        for now in night_times(day):
            for note in night.tick(now, ctx.settings):
                print(f"    {now:%Y-%m-%d %H:%M} {note}")
    for d in ctx.scenario.dates:
        fecha = d.isoformat()
        manifests = [read_manifest(fecha, v, outbox) for v in versions(fecha, outbox)]
        states = ", ".join(f"v{m['version']} {'PARCIAL' if m['parcial'] else 'completo'}"
                           f"{' (faltó ' + ', '.join(m['faltantes_requeridas']) + ')' if m['parcial'] else ''}"
                           f"{'' if m['a_tiempo'] else ' tarde'}" for m in manifests) or "no entregado"
        print(f"    {fecha}: {states}")
