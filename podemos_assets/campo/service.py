"""The ingestion handler core, independent of any web framework: (method, path, headers, body) in,
(status, headers, JSON body) out. Starlette (`app.py`) and AWS Lambda (`lambda_handler.py`) wrap it.

A batch is acknowledged only after its landing file is fsync'd (`LakeResource.write_bytes`); the
idempotency store is an index over the landing zone, updated after it.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import orjson

from podemos_assets.campo import protocol as p
from podemos_assets.campo.auth import AuthError, DeviceSecrets, verify
from podemos_assets.resources.idempotency import CONFLICT, DUPLICATE, IdempotencyStore
from podemos_assets.resources.lake import LakeResource

MX = ZoneInfo("America/Mexico_City")
_PHOTO_PATH = re.compile(r"^/v1/fotos/([0-9a-f]{64})$")

ACCEPTED, DUPLICATE_S, CONFLICT_S, REJECTED = "accepted", "duplicate", "conflict", "rejected"


@dataclass
class CoreResponse:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)

    def json_bytes(self) -> bytes:
        return orjson.dumps(self.body)


def _error(status: int, message: str, **extra) -> CoreResponse:
    return CoreResponse(status, {"error": message, **extra})


def landing_key(received: datetime, batch_id: str) -> str:
    return f"landing/campo/recibido={received.astimezone(MX).date().isoformat()}/{batch_id}.ndjson"


class IngestCore:
    """Routes: POST /v1/batches, PUT /v1/fotos/{sha256}, GET /v1/health."""

    def __init__(
        self,
        lake: LakeResource,
        store: IdempotencyStore,
        secrets: DeviceSecrets,
        clock: Callable[[], float] = time.time,
    ):
        self.lake, self.store, self.secrets, self.clock = lake, store, secrets, clock

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> CoreResponse:
        headers = {k.lower(): v for k, v in headers.items()}
        if method == "GET" and path == "/v1/health":
            return CoreResponse(200, {"status": "ok"})
        if method == "POST" and path == "/v1/batches":
            return self._guarded(method, path, headers, body, p.MAX_BODY_BYTES, self._batch)
        match = _PHOTO_PATH.match(path)
        if method == "PUT" and match:
            return self._guarded(method, path, headers, body, p.MAX_PHOTO_BYTES,
                                 lambda device, b: self._photo(match.group(1), b))
        return _error(404, f"no route {method} {path}: POST /v1/batches, PUT /v1/fotos/{{sha256}}")

    def _guarded(self, method, path, headers, body, limit, handler) -> CoreResponse:
        if len(body) > limit:
            return too_large(len(body), limit)
        now = self.clock()
        try:
            device = verify(self.secrets, headers, method, path, body, self.store.first_use_of_signature, now)
        except AuthError as exc:
            return CoreResponse(401, {"error": str(exc)}, {p.HEADER_SERVER_TIME: f"{now:.3f}"})
        return handler(device, body)

    def _photo(self, sha256: str, body: bytes) -> CoreResponse:
        actual = hashlib.sha256(body).hexdigest()
        if actual != sha256:
            return _error(400, f"sha256 mismatch: the body hashes to {actual}, the URL says {sha256}; "
                               "re-read the photo and upload it again", sha256=actual)
        key = p.photo_key(sha256)
        existed = self.lake.exists(key)
        if not existed:
            self.lake.write_bytes(key, body)
        return CoreResponse(200 if existed else 201, {"object_key": key, "sha256": sha256, "bytes": len(body)})

    def _batch(self, device_id: str, body: bytes) -> CoreResponse:
        received = datetime.fromtimestamp(self.clock(), timezone.utc)
        try:
            batch = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return _error(400, f"body is not JSON: {exc}")
        if not isinstance(batch, dict) or not isinstance(batch.get("events"), list):
            return _error(400, "body must be an object with an 'events' list")
        events = batch["events"]
        if len(events) > p.MAX_EVENTS:
            return _error(413, f"batch has {len(events)} events; the limit is {p.MAX_EVENTS} events per batch",
                          limit_events=p.MAX_EVENTS)
        problems = []
        batch_id = batch.get("batch_id")
        try:
            uuid.UUID(str(batch_id))
        except ValueError:
            problems.append(f"batch_id={batch_id!r} must be a UUID")
        if batch.get("device_id") != device_id:
            problems.append(f"device_id in the body ({batch.get('device_id')!r}) differs from x-device-id")
        try:
            p.parse_time(batch.get("sent_at"), "sent_at")
        except p.EventRejected as exc:
            problems.append(str(exc))
        if problems:
            return _error(400, "; ".join(problems))
        return self._land(device_id, batch, events, received)

    def _land(self, device_id: str, batch: dict, events: list, received: datetime) -> CoreResponse:
        results: list[dict] = [{}] * len(events)
        to_claim: list[tuple[int, str, str]] = []  # (position, event_id, hash)
        seen_in_batch: dict[str, str] = {}
        hashes: dict[int, str] = {}
        for i, event in enumerate(events):
            try:
                event_id = p.validate_event(event)
            except p.EventRejected as exc:
                eid = event.get("event_id") if isinstance(event, dict) else None
                results[i] = {"event_id": eid, "status": REJECTED, "reason": str(exc)}
                continue
            h = p.payload_hash(device_id, event)
            hashes[i] = h
            if event_id in seen_in_batch:  # repeated inside one batch: same rules as across batches
                status = DUPLICATE_S if seen_in_batch[event_id] == h else CONFLICT_S
                results[i] = {"event_id": event_id, "status": status}
                continue
            seen_in_batch[event_id] = h
            to_claim.append((i, event_id, h))

        claims = self.store.claim(batch["batch_id"], [(e, h) for _, e, h in to_claim]) if to_claim else []
        for (i, event_id, _), claim in zip(to_claim, claims):
            status = {DUPLICATE: DUPLICATE_S, CONFLICT: CONFLICT_S}.get(claim.outcome, ACCEPTED)
            results[i] = {"event_id": event_id, "status": status}

        lines = []
        common = {
            "batch_id": batch["batch_id"],
            "device_id": device_id,
            "asesor": batch.get("asesor"),
            "sucursal": batch.get("sucursal"),
            "region": batch.get("region"),
            "sent_at": batch["sent_at"],
            "received_at": received.isoformat(timespec="microseconds"),
        }
        for i, (event, result) in enumerate(zip(events, results)):
            if result["status"] == DUPLICATE_S:
                continue  # already durable in an earlier landing file
            record = {**common, "status": result["status"], "reason": result.get("reason")}
            if result["status"] == REJECTED:
                record["raw"] = p.canonical(event).decode()
                record["event_id"] = result["event_id"] if isinstance(result["event_id"], str) else None
            else:
                record.update(event_id=event["event_id"], type=event["type"], device_time=event["device_time"],
                              payload=event["payload"], payload_sha256=hashes[i])
            lines.append(p.canonical(record))
        if lines:
            key = landing_key(received, batch["batch_id"])
            if self.lake.exists(key):  # a client re-used a batch id: never overwrite what was acknowledged
                key = key.replace(".ndjson", f".{int(received.timestamp() * 1e6)}.ndjson")
            self.lake.write_bytes(key, b"\n".join(lines) + b"\n")
        landed = [r["event_id"] for r in results if r["status"] == ACCEPTED]
        if landed:
            self.store.commit(batch["batch_id"], landed)

        counts = {s: sum(r["status"] == s for r in results) for s in (ACCEPTED, DUPLICATE_S, CONFLICT_S, REJECTED)}
        body = {"batch_id": batch["batch_id"], "received_at": common["received_at"], "counts": counts,
                "results": results}
        if counts[REJECTED]:
            body["error"] = f"{counts[REJECTED]} event(s) rejected (see results); the others were processed"
            return CoreResponse(400, body)
        return CoreResponse(200, body)


def too_large(size: int, limit: int) -> CoreResponse:
    human = f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"
    return _error(413, f"body is {size} bytes; the limit is {limit} bytes ({human})", limit_bytes=limit)
