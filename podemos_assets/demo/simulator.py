"""The device simulator: N field devices with offline backlogs, scripted outages, clock skew, dropped
connections and lost acknowledgements, all syncing concurrently to a real ingestion endpoint.

Used by the load tests, the demo and the benchmark. Event contents are seeded (deterministic).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from podemos_assets.ingesta import protocol as p
from podemos_assets.ingesta.sdk import DeviceClient, Outbox, SyncReport


def device_secret(seed: int, device_id: str) -> str:
    """A deterministic per-device secret for simulated fleets (real devices get random ones)."""
    return hashlib.sha256(f"podemos-demo-{seed}-{device_id}".encode()).hexdigest()


def make_event(rng: random.Random, kind: str, device_time: datetime, cuenta: str = "") -> tuple[dict, bytes | None]:
    """One well-formed event of `kind` at `device_time` (device clock), and its photo bytes for `foto`."""
    event_id = p.new_event_id(device_time, rng)
    photo = None
    if kind == "pago":
        payload = {"cuenta": cuenta or str(rng.randint(10_000, 99_999)),
                   "monto": f"{rng.randint(5_000, 250_000) / 100:.2f}", "metodo": rng.choice(p.PAYMENT_METHODS)}
    elif kind == "geolocalizacion":
        payload = {"lat": round(rng.uniform(15.0, 21.0), 6), "lon": round(rng.uniform(-99.0, -90.0), 6),
                   "precision_m": round(rng.uniform(3, 60), 1)}
    elif kind == "foto":
        photo = b"\xff\xd8\xff" + rng.randbytes(rng.randint(200, 2000))
        sha = hashlib.sha256(photo).hexdigest()
        payload = {"sha256": sha, "bytes": len(photo), "mime": "image/jpeg", "object_key": p.photo_key(sha)}
    else:
        payload = {"grupo": str(rng.randint(1000, 9999)), "cliente": str(rng.randint(10_000, 99_999)),
                   "resultado": rng.choice(p.VISIT_OUTCOMES)}
    event = {"event_id": event_id, "type": kind, "device_time": device_time.isoformat(timespec="seconds"),
             "payload": payload}
    return event, photo


@dataclass
class SimDevice:
    device_id: str
    outbox: Outbox
    secret: bytes
    asesor: str = ""
    sucursal: str = ""
    region: str = ""
    skew_s: float = 0.0
    outages: list[tuple[float, float]] = field(default_factory=list)  # offline [start, end) s after start
    drop_rate: float = 0.0
    lost_ack_rate: float = 0.0


def fill_backlog(outbox: Outbox, rng: random.Random, n: int, start: datetime, end: datetime,
                 skew_s: float = 0.0, kinds=p.EVENT_TYPES, weights=(3, 4, 1, 2)) -> list[dict]:
    """Queue `n` events with true times spread over [start, end), stamped with the skewed device clock."""
    items = []
    span = (end - start).total_seconds()
    for t in sorted(rng.uniform(0, span) for _ in range(n)):
        true_time = start + timedelta(seconds=t)
        items.append(make_event(rng, rng.choices(kinds, weights)[0], true_time + timedelta(seconds=skew_s)))
    outbox.enqueue_many(items)
    return [e for e, _ in items]


def make_fleet(folder: Path, n: int, events_each: int, seed: int, *, start: datetime | None = None,
               outage_rate: float = 0.0, skew_rate: float = 0.0, drop_rate: float = 0.0,
               lost_ack_rate: float = 0.0, weights=(3, 4, 1, 2)) -> tuple[list[SimDevice], dict[str, str]]:
    """N devices with backlogs and scripted trouble; returns the devices and their secrets."""
    rng = random.Random(seed)
    end = datetime.now(UTC) - timedelta(minutes=5)
    start = start or end - timedelta(hours=6)
    devices, secrets = [], {}
    for i in range(n):
        device_id = f"dev-{i:04d}"
        secrets[device_id] = device_secret(seed, device_id)
        skew = rng.choice([-1, 1]) * rng.uniform(600, 7200) if rng.random() < skew_rate else 0.0
        outages = [(0.0, rng.uniform(0.5, 3.0))] if rng.random() < outage_rate else []
        outbox = Outbox(folder / f"{device_id}.sqlite", durable=False)
        fill_backlog(outbox, random.Random(rng.getrandbits(64)), events_each, start, end, skew, weights=weights)
        devices.append(SimDevice(device_id, outbox, secrets[device_id].encode(), asesor=f"ase_{i % 300:03d}",
                                 sucursal=f"suc_{i % 200 + 1:03d}", region=f"region_{i % 8}", skew_s=skew, outages=outages,
                                 drop_rate=drop_rate, lost_ack_rate=lost_ack_rate))
    return devices, secrets


@dataclass
class FleetReport:
    seconds: float
    reports: dict[str, SyncReport]
    errors: dict[str, str]

    def ack_latencies(self) -> list[float]:
        return sorted(x for r in self.reports.values() for x in r.ack_latencies_s)

    def percentile(self, q: float) -> float:
        lat = self.ack_latencies()
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")


async def run_fleet(base_url: str, devices: list[SimDevice], seed: int = 0, batch_size: int = 50,
                    timeout_s: float = 30.0) -> FleetReport:
    """Every device reconnects at the same instant and drains its outbox (the reconnect storm)."""
    # One client (one connection) per device, as on real phones; a single shared pool of hundreds of
    # connections makes httpcore's pool bookkeeping quadratic and the simulator, not the server, the bottleneck.
    tls = ssl.create_default_context()  # built once: httpx would build one per client
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    t0 = time.monotonic()
    reports, errors = {}, {}

    async def one(i: int, d: SimDevice) -> None:
        rng = random.Random(seed * 1_000_003 + i)

        def faults() -> str | None:
            elapsed = time.monotonic() - t0
            if any(a <= elapsed < b for a, b in d.outages):
                return "offline"
            x = rng.random()
            return "drop" if x < d.drop_rate else "lose_ack" if x < d.drop_rate + d.lost_ack_rate else None

        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout_s, verify=tls) as http:
            client = DeviceClient(d.device_id, d.secret, d.outbox, http, asesor=d.asesor, sucursal=d.sucursal,
                                  region=d.region, batch_size=batch_size, skew_s=d.skew_s, rng=rng, faults=faults)
            try:
                reports[d.device_id] = await client.sync()
            except Exception as exc:  # reported per device; the caller asserts none
                errors[d.device_id] = f"{type(exc).__name__}: {exc}"
                reports[d.device_id] = client.report

    await asyncio.gather(*(one(i, d) for i, d in enumerate(devices)))
    return FleetReport(time.monotonic() - t0, reports, errors)
