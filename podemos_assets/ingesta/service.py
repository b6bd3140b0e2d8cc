"""The ingestion handler core, independent of any web framework: (method, path, headers, body) in,
(status, headers, JSON body) out. Starlette (`app.py`) and AWS Lambda (`lambda_handler.py`) wrap it.

Order of work: size limit, authentication (HMAC, freshness, replay), the per-device limit, then the
typed decode (msgspec, `protocol.py`), the claims, the landing write, the commit of exactly the claims
whose bytes landed, the acknowledgement. No input reaches a 5xx: a malformed one is a 4xx naming the
field and rule; only an unavailable store or landing zone answers 503 (retry).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec
import orjson

from podemos_assets.ingesta import protocol as p
from podemos_assets.ingesta.auth import AuthError, DeviceSecrets, verify
from podemos_assets.ingesta.landing import GroupLanding, LandingLine
from podemos_assets.resources.idempotency import CONFLICT, DUPLICATE, EventStore
from podemos_assets.resources.lake import LakeResource

log = logging.getLogger(__name__)
_PHOTO_PATH = re.compile(r"/v1/fotos/([0-9a-f]{64})")

ACCEPTED, DUPLICATE_S, CONFLICT_S, REJECTED = "accepted", "duplicate", "conflict", "rejected"
DEFAULT_PER_DEVICE_IN_FLIGHT = 2  # a phone syncs one batch at a time; a second covers a retry racing a lost ack


@dataclass
class CoreResponse:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)

    def json_bytes(self) -> bytes:
        return orjson.dumps(self.body)


def _error(status: int, message: str, **extra) -> CoreResponse:
    return CoreResponse(status, {"error": message, **extra})


def overloaded(message: str, retry_after_s: int = 1) -> CoreResponse:
    return CoreResponse(429, {"error": f"{message}: retry after the delay in Retry-After"},
                        {"Retry-After": str(retry_after_s)})


class _IdOnly(msgspec.Struct):
    event_id: p.Uuid


_ID_DECODER = msgspec.json.Decoder(_IdOnly)


def _echo_id(raw: bytes) -> str | None:
    """The event_id of a rejected event, echoed only when it is a canonical UUID (never arbitrary text)."""
    try:
        return _ID_DECODER.decode(raw).event_id
    except (msgspec.DecodeError, RecursionError):
        return None


class IngestCore:
    """Routes: POST /v1/batches, POST /v1/fotos (several photos), PUT /v1/fotos/{sha256}, GET /v1/health."""

    def __init__(
        self,
        lake: LakeResource,
        store: EventStore,
        secrets: DeviceSecrets,
        clock: Callable[[], float] = time.time,
        per_device_in_flight: int = DEFAULT_PER_DEVICE_IN_FLIGHT,
        group_commit: bool = True,
    ):
        self.lake, self.store, self.secrets, self.clock = lake, store, secrets, clock
        self.landing = GroupLanding(lake, group_commit)
        self.per_device_in_flight = per_device_in_flight
        self._devices: dict[str, int] = {}
        self._devices_lock = threading.Lock()

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> CoreResponse:
        headers = {k.lower(): v for k, v in headers.items()}
        if method == "GET" and path == "/v1/health":
            return CoreResponse(200, {"status": "ok"})
        if method == "POST" and path == "/v1/batches":
            return self._guarded(method, path, headers, body, p.MAX_BODY_BYTES, self._batch)
        if method == "POST" and path == "/v1/fotos":
            return self._guarded(method, path, headers, body, p.MAX_PHOTO_BYTES,
                                 lambda device, b, now: self._photos(b))
        match = _PHOTO_PATH.fullmatch(path)
        if method == "PUT" and match:
            return self._guarded(method, path, headers, body, p.MAX_PHOTO_BYTES,
                                 lambda device, b, now: self._photo(match.group(1), b))
        return _error(404, "no such route: POST /v1/batches, POST /v1/fotos, PUT /v1/fotos/{sha256}, GET /v1/health")

    def _guarded(self, method, path, headers, body, limit, handler) -> CoreResponse:
        if len(body) > limit:
            return too_large(len(body), limit)
        now = self.clock()
        try:
            device = verify(self.secrets, headers, method, path, body, self.store.first_use_of_signature, now)
        except AuthError as exc:
            return CoreResponse(401, {"error": str(exc)}, {p.HEADER_SERVER_TIME: f"{now:.3f}"})
        with self._devices_lock:
            busy = self._devices.get(device, 0)
            if busy >= self.per_device_in_flight:
                return overloaded(f"this device already has {busy} request(s) in progress")
            self._devices[device] = busy + 1
        try:
            return handler(device, body, now)
        except OSError as exc:  # the landing zone or the store is unreachable: nothing was acknowledged
            log.error("campo ingest: storage unavailable (%s)", type(exc).__name__)
            return CoreResponse(503, {"error": "storage unavailable: nothing was stored or acknowledged; retry later"},
                                {"Retry-After": "5"})
        finally:
            with self._devices_lock:
                left = self._devices[device] - 1
                if left:
                    self._devices[device] = left
                else:
                    del self._devices[device]

    def _photo(self, sha256: str, body: bytes) -> CoreResponse:
        actual = hashlib.sha256(body).hexdigest()
        if actual != sha256:
            return _error(400, f"sha256 mismatch: the body hashes to {actual}, the URL says {sha256}; "
                               "re-read the photo and upload it again", sha256=actual)
        key = p.photo_key(sha256)
        created = self.lake.create_bytes(key, body)  # content-addressed: an existing one is the same bytes
        return CoreResponse(201 if created else 200, {"object_key": key, "sha256": sha256, "bytes": len(body)})

    def _photos(self, body: bytes) -> CoreResponse:
        """Several photos in one request: each is checked and stored on its own, as if PUT alone (a bad
        one is rejected with its reason, the others are stored). Stored photos are content-addressed, so
        a retry after a failure midway stores nothing twice."""
        try:
            bundle = p.PHOTOS_DECODER.decode(body)
        except (msgspec.DecodeError, RecursionError) as exc:
            return _error(400, f"photos refused: {p.reason(exc)}; nothing was stored")
        results: list[dict] = []
        good = []  # (position in results, photo)
        for i, photo in enumerate(bundle.photos):
            actual = hashlib.sha256(photo.data).hexdigest()
            if actual != photo.sha256:
                results.append({"sha256": photo.sha256, "status": REJECTED,
                                "reason": f"photos[{i}].data: hashes to {actual}, not to its sha256; re-read the "
                                          "photo and upload it again"})
                continue
            good.append((len(results), photo))
            results.append({"sha256": photo.sha256, "object_key": p.photo_key(photo.sha256), "bytes": len(photo.data)})
        # all durable before the answer; an existing one is the same bytes (content-addressed)
        created = self.lake.create_many([(results[i]["object_key"], photo.data) for i, photo in good])
        for (i, _), new in zip(good, created):
            results[i]["status"] = "stored" if new else "existing"
        rejected = sum(r["status"] == REJECTED for r in results)
        if rejected:
            return CoreResponse(400, {"error": f"{rejected} photo(s) rejected (see results); the others were stored",
                                      "results": results})
        return CoreResponse(200, {"results": results})

    def _batch(self, device_id: str, body: bytes, now: float) -> CoreResponse:
        received = datetime.fromtimestamp(now, UTC)
        try:  # the fast path: the whole batch typed in one compiled call
            batch: p.Batch | p.BatchEnvelope = p.BATCH_DECODER.decode(body)
            raws = None
        except (msgspec.DecodeError, RecursionError):
            try:  # some event (or the batch) breaks the contract: decode the events one by one
                batch = p.ENVELOPE_DECODER.decode(body)
            except (msgspec.DecodeError, RecursionError) as exc:
                return _error(400, f"batch refused: {p.reason(exc)}")
            raws = batch.events
        if len(batch.events) > p.MAX_EVENTS:
            return _error(413, f"batch has {len(batch.events)} events; the limit is {p.MAX_EVENTS} events per batch",
                          limit_events=p.MAX_EVENTS)
        if batch.device_id != device_id:
            return _error(400, "batch refused: device_id: must equal the x-device-id header")
        try:
            p.check_batch_times(batch.sent_at, received)
        except p.EventRejected as exc:
            return _error(400, f"batch refused: {exc}")
        if raws is None:  # a rejected event is landed exactly as sent: that needs the raw bytes
            window = p.Window(batch.sent_at, received)
            try:
                for event in batch.events:
                    window.check(event)
            except p.EventRejected:
                batch = p.ENVELOPE_DECODER.decode(body)
                raws = batch.events
        return self._land(device_id, batch, raws, received)

    def _land(self, device_id: str, batch, raws: list | None, received: datetime) -> CoreResponse:
        window = p.Window(batch.sent_at, received)
        n = len(batch.events)
        results: list[dict] = [{}] * n
        typed: list[bytes | None] = [None] * n
        rejected_raw: dict[int, bytes] = {}
        hashes: dict[int, str] = {}
        to_claim: list[tuple[int, str, str]] = []  # (position, event_id, hash)
        seen_in_batch: dict[str, str] = {}
        device_prefix = device_id.encode() + b"\n"
        sha256 = hashlib.sha256
        for i in range(n):
            try:
                if raws is None:  # the fast path: _batch already checked every event against the window
                    event = batch.events[i]
                else:
                    event = p.decode_event(raws[i])
                    window.check(event)
            except p.EventRejected as exc:
                raw = bytes(raws[i])  # never the fast path: _batch switches to raw events on any rejection
                rejected_raw[i] = raw
                results[i] = {"event_id": _echo_id(raw), "status": REJECTED, "reason": str(exc)}
                continue
            typed[i] = ev_bytes = p.ENCODER.encode(event)
            hashes[i] = h = sha256(device_prefix + ev_bytes).hexdigest()  # = p.payload_hash
            event_id = event.event_id
            if event_id in seen_in_batch:  # repeated inside one batch: same rules as across batches
                results[i] = {"event_id": event_id, "status": DUPLICATE_S if seen_in_batch[event_id] == h else CONFLICT_S}
                continue
            seen_in_batch[event_id] = h
            to_claim.append((i, event_id, h))

        claims = self.store.claim(batch.batch_id, [(e, h) for _, e, h in to_claim]) if to_claim else []
        for (i, event_id, _), claim in zip(to_claim, claims):
            status = {DUPLICATE: DUPLICATE_S, CONFLICT: CONFLICT_S}.get(claim.outcome, ACCEPTED)
            results[i] = {"event_id": event_id, "status": status}

        # The batch fields are encoded once and spliced into each line (a line is one JSON object).
        head = p.ENCODER.encode(_LineHead(batch_id=batch.batch_id, device_id=device_id, asesor=batch.asesor,
                                          sucursal=batch.sucursal, region=batch.region, sent_at=batch.sent_at,
                                          received_at=received))[1:-1]
        lines = []
        for i, result in enumerate(results):
            status = result["status"]
            if status == DUPLICATE_S:
                continue  # already durable in an earlier landing file
            if status == REJECTED:
                lines.append(p.ENCODER.encode(LandingLine(
                    status=REJECTED, event_id=result["event_id"], reason=result["reason"],
                    raw=rejected_raw[i].decode("utf-8", "replace"), **_head_fields(batch, device_id, received))))
            else:
                lines.append(b'{"status":"%s","event_id":"%s","payload_sha256":"%s","event":%s,%s}'
                             % (status.encode(), result["event_id"].encode(), hashes[i].encode(), typed[i], head))
        if lines:
            self.landing.land(received.astimezone(p.MX).date().isoformat(), b"\n".join(lines) + b"\n")
        # Only now, and only for ids whose bytes are in the durable file: a claim that never landed stays
        # in flight, so a retry writes it again instead of being answered "duplicate" of nothing.
        landed = [r["event_id"] for r in results if r["status"] == ACCEPTED]
        if landed:
            self.store.commit(batch.batch_id, landed)

        counts = {s: 0 for s in (ACCEPTED, DUPLICATE_S, CONFLICT_S, REJECTED)}
        for r in results:
            counts[r["status"]] += 1
        body = {"batch_id": batch.batch_id, "received_at": received.isoformat(timespec="microseconds"),
                "counts": counts, "results": results}
        if counts[REJECTED]:
            body["error"] = f"{counts[REJECTED]} event(s) rejected (see results); the others were processed"
            return CoreResponse(400, body)
        return CoreResponse(200, body)


class _LineHead(msgspec.Struct, kw_only=True):
    batch_id: str
    device_id: str
    asesor: str
    sucursal: str
    region: str
    sent_at: datetime
    received_at: datetime


def _head_fields(batch, device_id: str, received: datetime) -> dict:
    return dict(batch_id=batch.batch_id, device_id=device_id, asesor=batch.asesor, sucursal=batch.sucursal,
                region=batch.region, sent_at=batch.sent_at, received_at=received)


def too_large(size: int, limit: int) -> CoreResponse:
    human = f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"
    return _error(413, f"body is {size} bytes; the limit is {limit} bytes ({human})", limit_bytes=limit)
