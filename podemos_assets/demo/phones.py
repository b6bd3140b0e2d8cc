"""Demo: the phones drain their outboxes through the real endpoint (uvicorn on a free loopback port).

What is built from the landing zone afterwards is the automation's business (campo_landing_sensor)."""

from __future__ import annotations

import asyncio
import json
import math

from podemos_assets.demo.campo import fleet_dir
from podemos_assets.demo.simulator import SimDevice, run_fleet
from podemos_assets.ingesta.app import build_core, create_app
from podemos_assets.ingesta.sdk import Outbox
from podemos_assets.ingesta.server import serving


def sync(ctx) -> list[str]:
    """The phones reconnect and drain their outboxes through the real endpoint; returns what happened.
    The landing sensor (campo_landing_sensor) then requests the event days the batches touched."""
    settings = ctx.settings
    folder = fleet_dir(settings)
    fleet = json.loads((folder.parent / "flota.json").read_text())
    core = build_core(settings)
    lost_acks = 0.05 if ctx.scenario.trouble else 0.0  # acknowledgements lost on the way back: re-sent, stored once
    devices = [SimDevice(d["device_id"], Outbox(folder / f"{d['device_id']}.sqlite", durable=False),
                         core.secrets.get(d["device_id"]), d["asesor"], d["sucursal"], d["region"], d["skew_s"],
                         lost_ack_rate=lost_acks) for d in fleet]
    with serving(create_app(core)) as url:
        report = asyncio.run(run_fleet(url, devices, seed=ctx.scenario.seed, batch_size=50))
    if report.errors:
        raise RuntimeError(f"devices failed to sync: {dict(list(report.errors.items())[:5])}")
    counts: dict[str, int] = {}
    for d in devices:
        for status, n in d.outbox.counts().items():
            counts[status] = counts.get(status, 0) + n
        d.outbox.close()
    p99 = report.percentile(0.99)
    latency = "nothing left to send (outboxes already drained)" if math.isnan(p99) else f"ack p99 {p99:.2f} s"
    return [f"{len(devices)} phones drained their outboxes in {report.seconds:.1f} s via {url}: {counts}, {latency}"]
