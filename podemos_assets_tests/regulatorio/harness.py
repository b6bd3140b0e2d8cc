"""Simulated nights for the regulatory capability: files land at simulated times, and each tick runs what
the sensors and schedules decide (arrivals -> ingest, delivery decisions -> report), evaluates the
partition-aware freshness checks at the simulated time, records their results on a real Dagster instance
and runs the real alert sensor (build_sensor_context). In-process and fast: no Dagster run per step.
"""

from __future__ import annotations

import heapq
import json
from datetime import datetime
from pathlib import Path

import dagster as dg

from podemos_assets import regulatorio
from podemos_assets.demo import regulatorio as gen
from podemos_assets.regulatorio.alertas import alert_sensor
from podemos_assets.regulatorio.checks import evaluate
from podemos_assets.regulatorio.errors import SourceFileRejected, SourceMissing
from podemos_assets.regulatorio.extracts import ingest
from podemos_assets.regulatorio.registry import load_sources
from podemos_assets.regulatorio.report import deliver, read_manifest, versions
from podemos_assets.regulatorio.schedules import arrivals, redeliveries
from podemos_assets.resources import AlertsResource, build_resources


class Night:
    def __init__(self, settings, instance: dg.DagsterInstance, seed: int = 7, scale: float = 0.02):
        self.res = build_resources(settings)
        self.alerts_path = Path(settings.home) / "alerts.jsonl"
        self.res["alerts"] = AlertsResource(url=f"file://{self.alerts_path}")
        self.lake, self.sources, self.outbox = self.res["lake"], self.res["sources"], self.res["outbox"]
        self.defs = dg.Definitions(assets=regulatorio.defs.assets, asset_checks=regulatorio.defs.asset_checks,
                                   resources=self.res)
        self.instance, self.seed, self.scale = instance, seed, scale
        self.pending: list[tuple[datetime, int, str, str, bytes | None]] = []
        self.arrival_cursor: dict = {}
        self.alert_cursor: str | None = None
        self.last_results: dict = {}
        self.rejections: list[str] = []
        self._n = 0

    def drop(self, name: str, fecha: str, when: datetime, data: bytes | None = None) -> None:
        """Schedule a file (or, for lake sources, the producer's partition) to land at `when`."""
        if data is None and load_sources()[name].format != "lake":
            data = gen.source_bytes(name, fecha, self.seed, self.scale)
        self._n += 1
        heapq.heappush(self.pending, (when, self._n, name, fecha, data))

    def tick(self, now: datetime) -> None:
        while self.pending and self.pending[0][0] <= now:
            when, _, name, fecha, data = heapq.heappop(self.pending)
            if data is None:
                gen.write_lake_sources(self.lake, fecha, self.seed, self.scale, only=(name,), arrived=when)
            else:
                gen.write_source(self.sources, name, fecha, data, when)
        requests, self.arrival_cursor = arrivals(now, self.sources, self.lake, self.arrival_cursor)
        for request in requests:  # what the arrival sensor's runs do
            for key in request.asset_selection:
                try:
                    ingest(load_sources()[key.path[-1]], request.partition_key, self.sources, self.lake)
                except SourceFileRejected as exc:
                    self.rejections.append(str(exc))
                except SourceMissing:
                    pass
        for request in redeliveries(now, self.lake, self.outbox):  # the 02:00 / 05:30 / re-delivery decisions
            deliver(request.partition_key, self.lake, self.outbox, now)
        for result in evaluate(now, self.lake, self.outbox):  # the 15-minute freshness job
            key = (result.asset_key, result.check_name)
            if self.last_results.get(key) != result.passed:  # unchanged results do not change the latest state
                self.last_results[key] = result.passed
                self.instance.report_runless_asset_event(dg.AssetCheckEvaluation(
                    asset_key=result.asset_key, check_name=result.check_name, passed=result.passed,
                    metadata={}, severity=result.severity, description=result.description))
        self.run_alert_sensor()

    def run_alert_sensor(self) -> None:
        ctx = dg.build_sensor_context(instance=self.instance, cursor=self.alert_cursor, definitions=self.defs,
                                      resources={"alerts": self.res["alerts"]})
        alert_sensor(ctx)
        self.alert_cursor = ctx.cursor

    def alerts(self) -> list[dict]:
        if not self.alerts_path.exists():
            return []
        return [json.loads(line) for line in self.alerts_path.read_text().splitlines() if line.strip()]

    def manifests(self, fecha: str) -> list[dict]:
        return [read_manifest(fecha, v, self.outbox) for v in versions(fecha, self.outbox)]
