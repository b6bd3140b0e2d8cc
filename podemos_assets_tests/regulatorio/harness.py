"""Simulated nights for the regulatory capability, fast: files land at simulated times, and each tick calls
what the sensors' bodies call (`arrival_requests` -> ingest, `delivery_requests` -> deliver), evaluates the
per-day freshness checks at the simulated time, records their results on a real Dagster instance and runs
the real alert logic with the simulated clock. In-process, no Dagster run per step (the Dagster path is
exercised by test_automation.py with real sensor ticks and runs).
"""

from __future__ import annotations

import heapq
import json
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg

from podemos_assets import regulatorio
from podemos_assets.alertas import evaluate_alerts
from podemos_assets.demo import regulatorio as gen
from podemos_assets.regulatorio.automation import arrival_requests, delivery_requests, stale_freshness_checks
from podemos_assets.regulatorio.checks import evaluate
from podemos_assets.regulatorio.errors import ReconciliationMismatch, SourceFileRejected, SourceMissing
from podemos_assets.regulatorio.extracts import ingest
from podemos_assets.regulatorio.registry import load_sources
from podemos_assets.regulatorio.report import deliver, read_manifest, versions
from podemos_assets.resources import AlertsResource, build_resources
from podemos_assets_tests.regulatorio.warehouse_fixture import BRANCHES, Warehouse


class Night:
    def __init__(self, settings, instance: dg.DagsterInstance, seed: int = 7, scale: float = 0.02):
        self.res = build_resources(settings)
        self.alerts_path = Path(settings.home) / "alerts.jsonl"
        self.res["alerts"] = AlertsResource(url=f"file://{self.alerts_path}")
        self.lake, self.sources, self.outbox = self.res["lake"], self.res["sources"], self.res["outbox"]
        self.warehouse = self.res["warehouse"]
        self.defs = dg.Definitions(assets=regulatorio.defs.assets, asset_checks=regulatorio.defs.asset_checks,
                                   resources=self.res)
        self.repository = self.defs.get_repository_def()  # what the alert sensor watches (its context's)
        self.wh = Warehouse(self.lake, self.warehouse, instance)
        self.instance, self.seed, self.scale = instance, seed, scale
        self.pending: list[tuple[datetime, int, str, str, bytes | None]] = []
        self.cursors = {"llegada": {}, "entrega": {}, "alertas": {}}
        self.rejections: list[str] = []
        self.blocked: list[str] = []
        self._n = 0

    def drop(self, name: str, fecha: str, when: datetime, data: bytes | None = None) -> None:
        """Schedule a file (lake sources: the producer's partition; the warehouse source: the branch
        payments of the day, merged by the real pagos merge) to land at `when`."""
        if data is None and load_sources()[name].format not in ("lake", "warehouse"):
            data = gen.source_bytes(name, fecha, self.seed, self.scale)
        self._n += 1
        heapq.heappush(self.pending, (when, self._n, name, fecha, data))

    def branch_day(self, fecha: str, n: int = 6) -> None:
        """A day of branch payments (deterministic), merged as the pagos automation would after 01:00."""
        day = datetime.fromisoformat(fecha)
        self.wh.seed(fecha)
        for i in range(n):
            suc = BRANCHES[i % len(BRANCHES)]
            self.wh.pay(suc, day + timedelta(hours=8, minutes=7 * i), f"{100 + 13 * i}.{(7 * i + int(fecha[-2:])) % 100:02d}",
                        canal=("VENTANILLA", "CAJA")[i % 2])
        self.wh.merge(fecha)

    def tick(self, now: datetime) -> None:
        while self.pending and self.pending[0][0] <= now:
            when, _, name, fecha, data = heapq.heappop(self.pending)
            if load_sources()[name].format == "warehouse":
                self.branch_day(fecha)
            elif data is None:
                gen.write_lake_sources(self.lake, fecha, self.seed, self.scale, only=(name,), arrived=when)
            else:
                gen.write_source(self.sources, name, fecha, data, when)
        requests, self.cursors["llegada"] = arrival_requests(now, self.sources, self.lake, self.warehouse,
                                                             self.instance, self.cursors["llegada"])
        for request in requests:  # what the arrival sensor's runs do
            for key in request.asset_selection:
                try:
                    ingest(load_sources()[key.path[-1]], request.partition_key, self.sources, self.lake, now=now,
                           warehouse=self.warehouse)
                except SourceFileRejected as exc:
                    self.rejections.append(str(exc))
                except SourceMissing:
                    pass
        requests, self.cursors["entrega"] = delivery_requests(now, self.lake, self.outbox, self.warehouse,
                                                              self.instance, self.cursors["entrega"])
        for request in requests:  # what the delivery sensor's runs do
            try:
                deliver(request.partition_key, self.lake, self.outbox, now, warehouse=self.warehouse)
            except ReconciliationMismatch as exc:
                self.blocked.append(str(exc))
        self.check(now)

    def check(self, now: datetime) -> None:
        # The freshness sensor's own decision (which checks changed verdict), then what its run records.
        stale = set(stale_freshness_checks(now, self.lake, self.outbox, self.instance))
        for result in evaluate(now, self.lake, self.outbox):
            if dg.AssetCheckKey(result.asset_key, result.check_name) in stale:
                self.instance.report_runless_asset_event(dg.AssetCheckEvaluation(
                    asset_key=result.asset_key, check_name=result.check_name, passed=result.passed,
                    metadata=result.metadata, severity=result.severity, description=result.description))
        self.run_alert_sensor(now)

    def run_alert_sensor(self, now: datetime | None = None) -> None:
        self.cursors["alertas"] = evaluate_alerts(self.instance, self.repository, self.res["alerts"],
                                                  self.cursors["alertas"], now)

    def alerts(self) -> list[dict]:
        if not self.alerts_path.exists():
            return []
        return [json.loads(line) for line in self.alerts_path.read_text().splitlines() if line.strip()]

    def manifests(self, fecha: str) -> list[dict]:
        return [read_manifest(fecha, v, self.outbox) for v in versions(fecha, self.outbox)]
