"""Demo step `campo`: drain the devices' outboxes through the real endpoint (uvicorn on a free
loopback port), then materialize eventos_campo and metricas_campo for the days the batches touched."""

from __future__ import annotations

import asyncio
import json
import math

import dagster as dg

from podemos_assets.campo.app import build_core, create_app
from podemos_assets.campo.partitions import event_days
from podemos_assets.campo.sdk import Outbox
from podemos_assets.campo.server import serving
from podemos_assets.campo.simulator import SimDevice, run_fleet
from podemos_assets.campo.transform import landing_keys, read_landing, touched_days
from podemos_assets.demo.campo import fleet_dir


def run(ctx) -> None:
    settings = ctx.settings
    folder = fleet_dir(settings)
    fleet = json.loads((folder.parent / "flota.json").read_text())
    core = build_core(settings)
    before = set(landing_keys(core.lake))
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
    print(f"    {len(devices)} devices drained in {report.seconds:.1f} s via {url}: {counts}, {latency}")

    new = [k for k in landing_keys(core.lake) if k not in before]
    valid = set(event_days.get_partition_keys())
    days = sorted(d.isoformat() for d in touched_days(read_landing(core.lake, new)) if d.isoformat() in valid)
    if not days:
        return
    # One run for the whole range (single-run backfill policy): one landing scan, not one run per day.
    selection = dg.AssetSelection.assets("eventos_campo", "metricas_campo").required_multi_asset_neighbors()
    result = ctx.materialize(selection, tags={
        "dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]})
    print(f"    eventos_campo + metricas_campo for {days[0]} .. {days[-1]}: "
          f"{'success' if result.success else 'FAILED'}")
