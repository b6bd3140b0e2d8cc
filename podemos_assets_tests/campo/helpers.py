"""Shared helpers for the campo tests: a core on a temporary lake, signed requests, sample events."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from podemos_assets.demo.simulator import device_secret, make_event
from podemos_assets.ingesta import protocol as p
from podemos_assets.ingesta.auth import DeviceSecrets
from podemos_assets.ingesta.service import IngestCore
from podemos_assets.resources.idempotency import IdempotencyStore
from podemos_assets.resources.lake import LakeResource

SECRETS = {d: device_secret(0, d) for d in ("dev-a", "dev-b")}  # 32 bytes of key material, hex


def make_core(tmp: Path) -> IngestCore:
    return IngestCore(LakeResource(url=f"file://{tmp}/lake"), IdempotencyStore(tmp / "idem.sqlite"),
                      DeviceSecrets(SECRETS))


def events(n: int, kind: str = "pago", seed: int = 0, when: datetime | None = None) -> list[dict]:
    rng = random.Random(seed)
    when = when or datetime.now(UTC).replace(microsecond=0)
    return [make_event(rng, kind, when)[0] for _ in range(n)]


def batch_body(evs: list, device: str = "dev-a", sent_at: datetime | None = None, **extra) -> bytes:
    sent_at = sent_at or datetime.now(UTC)
    return json.dumps({"batch_id": str(uuid.uuid4()), "device_id": device, "asesor": "ase_001",
                       "sucursal": "suc_001", "region": "Chiapas", "sent_at": sent_at.isoformat(),
                       "events": evs, **extra}).encode()


def signed(body: bytes, device: str = "dev-a", path: str = "/v1/batches", method: str = "POST",
           secret: str | None = None, ts: float | None = None) -> dict[str, str]:
    stamp = f"{time.time() if ts is None else ts:.3f}"
    key = (secret or SECRETS.get(device, "x")).encode()
    return {"x-device-id": device, "x-timestamp": stamp, "x-signature": p.sign(key, device, stamp, method, path, body),
            "content-type": "application/json"}


def photo(n: int, size: int = 700) -> bytes:
    """A distinct fake JPEG of about `size` bytes."""
    return b"\xff\xd8\xff" + hashlib.sha256(str(n).encode()).digest() * (size // 32)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bundle(*photos: bytes, **override) -> bytes:
    """The body of POST /v1/fotos carrying these photos."""
    items = [{"sha256": sha(x), "data": base64.b64encode(x).decode()} for x in photos]
    return json.dumps({"photos": items, **override}).encode()
