"""Field ingestion benchmark: accepted events/s with durable acknowledgement vs a bare fsync loop, and
the reconnect storm (500 devices x 200 queued events at once): drain time and p99 acknowledgement latency.

    .venv/bin/python benchmarks/field_ingest.py [--devices 500] [--backlog 200] [--batches 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import ssl
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from podemos_assets.campo import protocol as p  # noqa: E402
from podemos_assets.campo.auth import write_secrets_file  # noqa: E402
from podemos_assets.campo.server import serving_subprocess  # noqa: E402
from podemos_assets.campo.simulator import device_secret, make_event, make_fleet, run_fleet  # noqa: E402


def durable_write(folder: Path, name: str, data: bytes) -> None:
    """The floor: the lake's fsync policy (temp file fsync, rename, directory fsync) with no service around it."""
    tmp = folder / f"{name}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / name)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def throughput(work: Path, batches: int, clients: int) -> tuple[float, float]:
    rng = random.Random(1)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    devices = [f"bench-{i}" for i in range(clients)]
    secrets = {d: device_secret(0, d) for d in devices}
    payloads = [[make_event(rng, rng.choice(["pago", "geolocalizacion", "visita"]), now)[0]
                 for _ in range(p.MAX_EVENTS)] for _ in range(batches)]
    total = batches * p.MAX_EVENTS

    floor_dir = work / "floor"
    floor_dir.mkdir()
    t0 = time.perf_counter()
    for i, evs in enumerate(payloads):
        durable_write(floor_dir, f"{i}.ndjson", ("\n".join(json.dumps(e, sort_keys=True) for e in evs) + "\n").encode())
    floor = total / (time.perf_counter() - t0)

    env = {"PODEMOS_HOME": str(work / "home"),
           "PODEMOS_DEVICE_SECRETS_FILE": str(write_secrets_file(work / "s.json", secrets))}

    async def send_all(url: str) -> float:
        tls = ssl.create_default_context()
        queue = list(enumerate(payloads))

        async def client(device: str) -> None:
            async with httpx.AsyncClient(base_url=url, timeout=60, verify=tls) as http:
                while queue:
                    _, evs = queue.pop()
                    body = p.canonical({"batch_id": str(uuid.uuid4()), "device_id": device,
                                        "sent_at": datetime.now(timezone.utc).isoformat(), "events": evs})
                    while True:
                        ts = f"{time.time():.3f}"
                        r = await http.post("/v1/batches", content=body, headers={
                            p.HEADER_DEVICE: device, p.HEADER_TIMESTAMP: ts,
                            p.HEADER_SIGNATURE: p.sign(secrets[device].encode(), device, ts, "POST", "/v1/batches", body)})
                        if r.status_code != 429:
                            break
                        await asyncio.sleep(float(r.headers["retry-after"]))
                    assert r.status_code == 200 and r.json()["counts"]["accepted"] == len(evs), r.text[:300]

        t = time.perf_counter()
        await asyncio.gather(*(client(d) for d in devices))
        return time.perf_counter() - t

    with serving_subprocess(env) as url:
        seconds = asyncio.run(send_all(url))
    return total / seconds, floor


def storm(work: Path, n: int, backlog: int) -> None:
    t = time.perf_counter()
    devices, secrets = make_fleet(work / "fleet", n, backlog, seed=3)
    queued = sum(len(d.outbox.events()) for d in devices)
    print(f"storm: {n} devices x {backlog} queued events ({queued}) prepared in {time.perf_counter() - t:.0f} s")
    env = {"PODEMOS_HOME": str(work / "storm_home"),
           "PODEMOS_DEVICE_SECRETS_FILE": str(write_secrets_file(work / "s2.json", secrets))}
    with serving_subprocess(env) as url:
        report = asyncio.run(run_fleet(url, devices, seed=3, batch_size=50))
    drained = sum(d.outbox.counts() == {"enviado": backlog} for d in devices)
    p99 = report.percentile(0.99)
    print(f"storm: drained {drained}/{n} devices in {report.seconds:.1f} s "
          f"({queued / report.seconds:,.0f} events/s); ack latency p50 {report.percentile(0.5):.2f} s, "
          f"p99 {p99:.2f} s (goal < 2 s: {'met' if p99 < 2 else 'NOT met'}); "
          f"429s {sum(r.throttled for r in report.reports.values())}, errors {len(report.errors)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--backlog", type=int, default=200)
    ap.add_argument("--batches", type=int, default=40, help="500-event batches for the throughput figure")
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="field_ingest_") as tmp:
        work = Path(tmp)
        rate, floor = throughput(work, args.batches, args.clients)
        print(f"durable ingest: {rate:,.0f} accepted events/s over HTTP ({args.clients} devices, 500-event batches)")
        print(f"floor (bare loop, same payloads, same fsync policy): {floor:,.0f} events/s")
        print(f"ratio: {rate / floor:.2f} (goal >= 0.5: {'met' if rate / floor >= 0.5 else 'NOT met'})")
        storm(work, args.devices, args.backlog)


if __name__ == "__main__":
    main()
