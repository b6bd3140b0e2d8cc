"""The device SDK: the field app's offline queue (a SQLite outbox per device) and its sync loop.

Events are queued locally with a sync status; `DeviceClient.sync()` drains the outbox in small signed
batches, with exponential back-off and full jitter on failures, honouring Retry-After on 429 and
re-signing with the server's clock when the device clock is off. An event leaves the queue only when
the server says where it ended (accepted/duplicate = stored; conflict/rejected = kept with the reason).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec

from podemos_assets.ingesta import protocol as p

# Photo bytes per POST /v1/fotos: base64 makes them 4/3 as large, and the body must stay under MAX_PHOTO_BYTES.
PHOTO_BUNDLE_BYTES = 4 * 1024 * 1024
PENDING, SENT, CONFLICT, REJECTED = "pendiente", "enviado", "conflicto", "rechazado"
_FINAL = {"accepted": SENT, "duplicate": SENT, "conflict": CONFLICT, "rejected": REJECTED}


class SyncError(RuntimeError):
    """The server refused the device in a way retrying cannot fix (e.g. unknown device, bad secret)."""


class Outbox:
    """The app's offline queue: one SQLite file per device."""

    def __init__(self, path: str | Path, durable: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # On a phone every commit is fsync'd; simulated fleets (hundreds of outboxes on one disk) opt out.
        self.conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
        self.conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS outbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE NOT NULL, event TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pendiente', server_status TEXT, reason TEXT, attempts INTEGER DEFAULT 0);
            CREATE TABLE IF NOT EXISTS fotos (sha256 TEXT PRIMARY KEY, data BLOB NOT NULL, subida INTEGER DEFAULT 0);
            """
        )

    def enqueue(self, event: dict, photo: bytes | None = None) -> None:
        self.enqueue_many([(event, photo)])

    def enqueue_many(self, items: list[tuple[dict, bytes | None]]) -> None:
        self.conn.execute("BEGIN")
        for event, photo in items:
            if photo is not None:
                sha = hashlib.sha256(photo).hexdigest()
                self.conn.execute("INSERT OR IGNORE INTO fotos(sha256, data) VALUES (?, ?)", (sha, photo))
            self.conn.execute("INSERT INTO outbox(event_id, event) VALUES (?, ?)",
                              (event["event_id"], json.dumps(event, sort_keys=True)))
        self.conn.execute("COMMIT")

    def pending(self, limit: int) -> list[dict]:
        rows = self.conn.execute("SELECT event FROM outbox WHERE status = ? ORDER BY seq LIMIT ?", (PENDING, limit))
        return [json.loads(r[0]) for r in rows]

    def pending_photos(self) -> list[tuple[str, bytes]]:
        return list(self.conn.execute("SELECT sha256, data FROM fotos WHERE subida = 0 ORDER BY sha256"))

    def photo_uploaded(self, sha256: str) -> None:
        self.conn.execute("UPDATE fotos SET subida = 1 WHERE sha256 = ?", (sha256,))

    def record(self, events: list[dict], results: list[dict]) -> None:
        """The server's answer for each event sent, by position (a rejected event's id is echoed only
        when it is a canonical UUID, so the position, not the id, says which event it was)."""
        self.conn.execute("BEGIN")
        self.conn.executemany(
            "UPDATE outbox SET status = ?, server_status = ?, reason = ?, attempts = attempts + 1 "
            "WHERE event_id = ?",
            [(_FINAL[r["status"]], r["status"], r.get("reason"), e["event_id"]) for e, r in zip(events, results)
             if r.get("status") in _FINAL],
        )
        self.conn.execute("COMMIT")

    def counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())

    def events(self, status: str | None = None) -> list[dict]:
        sql, args = "SELECT event FROM outbox ORDER BY seq", ()
        if status:
            sql, args = "SELECT event FROM outbox WHERE status = ? ORDER BY seq", (status,)
        return [json.loads(r[0]) for r in self.conn.execute(sql, args)]

    def close(self) -> None:
        self.conn.close()


class Offline(httpx.TransportError):
    """No signal: the request never left the device."""


@dataclass
class SyncReport:
    batches_acknowledged: int = 0
    attempts: int = 0
    retries: int = 0
    throttled: int = 0
    ack_latencies_s: list[float] = field(default_factory=list)


@dataclass
class DeviceClient:
    """Sync one device's outbox to the ingestion service.

    `faults` (for the simulator) is called before each attempt and may return "offline" (no signal),
    "drop" (the connection is cut mid-request) or "lose_ack" (the response never reaches the app).
    """

    device_id: str
    secret: bytes
    outbox: Outbox
    http: httpx.AsyncClient
    asesor: str = ""
    sucursal: str = ""
    region: str = ""
    batch_size: int = 50
    # Photos per POST /v1/fotos (the contract allows MAX_PHOTOS_PER_REQUEST). Fewer than that: in a storm
    # every device's request waits behind the others', so a request's wait grows with the photos in each.
    photos_per_request: int = 8
    skew_s: float = 0.0  # the device clock minus true time (simulated clock error)
    base_delay_s: float = 0.1
    max_delay_s: float = 20.0
    max_attempts: int = 200
    rng: random.Random = field(default_factory=random.Random)
    faults: Callable[[], str | None] | None = None
    sleep: Callable[[float], object] = asyncio.sleep
    server_offset_s: float = 0.0  # learned from x-server-time on a 401 for a stale timestamp
    report: SyncReport = field(default_factory=SyncReport)

    def device_now(self) -> float:
        return time.time() + self.skew_s

    def _headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        ts = f"{self.device_now() + self.server_offset_s:.3f}"
        return {
            p.HEADER_DEVICE: self.device_id,
            p.HEADER_TIMESTAMP: ts,
            p.HEADER_SIGNATURE: p.sign(self.secret, self.device_id, ts, method, path, body),
            "content-type": "application/json",
        }

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^attempt)] (spreads a reconnect storm)."""
        return self.rng.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** attempt))

    async def _send(self, method: str, path: str, body: bytes) -> httpx.Response:
        fault = self.faults() if self.faults else None
        if fault == "offline":
            raise Offline("no signal")
        headers = self._headers(method, path, body)
        if fault == "drop":  # cut the connection at a random point of the exchange
            # On a connection of its own: cancelling a request in flight can leave httpcore's pool
            # waiting forever for the connection it held (seen as a hung reconnect-storm test).
            async with httpx.AsyncClient(base_url=self.http.base_url, timeout=self.http.timeout) as cut:
                return await asyncio.wait_for(cut.request(method, path, content=body, headers=headers),
                                              timeout=self.rng.uniform(0.0005, 0.02))
        response = await self.http.request(method, path, content=body, headers=headers)
        if fault == "lose_ack":
            raise httpx.ReadError("acknowledgement lost on the way back")
        return response

    async def _exchange(self, method: str, path: str, make_body: Callable[[], bytes]) -> httpx.Response:
        """One request until it gets a final answer (anything but transport errors, 408, 429, 5xx, stale clock).

        The body is rebuilt per attempt so that a batch's `sent_at` is always fresh.
        """
        resynced = False
        for attempt in range(self.max_attempts):
            self.report.attempts += 1
            t0 = time.perf_counter()
            try:
                response = await self._send(method, path, make_body())
            except (TimeoutError, httpx.TransportError):
                self.report.retries += 1
                await self.sleep(self._backoff(attempt))
                continue
            if response.status_code == 429:
                self.report.throttled += 1
                retry_after = float(response.headers.get("retry-after", "1"))
                # Honour Retry-After, spread over one more such interval so the herd does not return at once.
                await self.sleep(retry_after + self.rng.uniform(0, retry_after))
                continue
            # 408: the server gave up on a body that arrived too slowly (a weak signal), nothing was stored;
            # the same request can succeed on the next attempt, like a 5xx.
            if response.status_code >= 500 or response.status_code == 408:
                self.report.retries += 1
                await self.sleep(self._backoff(attempt))
                continue
            if response.status_code == 401 and not resynced and p.HEADER_SERVER_TIME in response.headers:
                # Every authentication failure reads the same; the one a device can fix is its clock:
                # re-sign once with the server's, and a second 401 is final.
                resynced = True
                self.server_offset_s = float(response.headers[p.HEADER_SERVER_TIME]) - self.device_now()
                continue
            if response.status_code in (200, 201, 400):
                self.report.ack_latencies_s.append(time.perf_counter() - t0)
            return response
        raise SyncError(f"{self.device_id}: {method} {path} still failing after {self.max_attempts} attempts")

    def photo_requests(self) -> list[tuple[str, str, bytes, list[str]]]:
        """The requests that upload the pending photos, as (method, path, body, sha256s): together by
        POST /v1/fotos, up to `photos_per_request` photos and PHOTO_BUNDLE_BYTES of photo per request;
        a photo larger than that goes alone by PUT, as raw bytes."""
        per_request = max(1, min(self.photos_per_request, p.MAX_PHOTOS_PER_REQUEST))
        requests, bundle, size = [], [], 0

        def close_bundle():
            if bundle:
                body = msgspec.json.encode(p.PhotoBundle(photos=[p.PhotoUpload(sha, data) for sha, data in bundle]))
                requests.append(("POST", "/v1/fotos", body, [sha for sha, _ in bundle]))
                bundle.clear()

        for sha, data in self.outbox.pending_photos():
            data = bytes(data)
            if len(data) > PHOTO_BUNDLE_BYTES:
                requests.append(("PUT", f"/v1/fotos/{sha}", data, [sha]))
                continue
            if len(bundle) == per_request or size + len(data) > PHOTO_BUNDLE_BYTES:
                close_bundle()
                size = 0
            bundle.append((sha, data))
            size += len(data)
        close_bundle()
        return requests

    async def upload_photos(self) -> None:
        for method, path, body, shas in self.photo_requests():
            r = await self._exchange(method, path, lambda body=body: body)
            if method == "PUT":
                stored = shas if r.status_code in (200, 201) else []
                refused = {} if stored else {shas[0]: r.text}
            else:
                try:  # a proxy in the way may answer with something that is not the service's JSON
                    results = r.json().get("results", []) if r.status_code in (200, 400) else []
                except (ValueError, AttributeError):
                    results = []
                stored = [x["sha256"] for x in results if x.get("status") in ("stored", "existing")]
                refused = {x["sha256"]: x.get("reason") for x in results if x.get("status") == "rejected"}
                if not results:
                    refused = {sha: r.text for sha in shas}
            for sha in stored:
                self.outbox.photo_uploaded(sha)
            if refused:  # the stored ones are recorded; a refused photo is corrupt on the phone
                sha, why = next(iter(refused.items()))
                raise SyncError(f"{self.device_id}: {len(refused)} photo(s) refused ({r.status_code}), "
                                f"e.g. {sha}: {why}")

    def _batch_body(self, events: list[dict]) -> bytes:
        sent_at = datetime.fromtimestamp(self.device_now(), UTC).isoformat(timespec="milliseconds")
        return p.canonical({"batch_id": str(uuid.uuid4()), "device_id": self.device_id, "asesor": self.asesor,
                            "sucursal": self.sucursal, "region": self.region, "sent_at": sent_at, "events": events})

    async def sync(self) -> SyncReport:
        """Drain the outbox: photos first (events reference them), then events in small batches."""
        await self.upload_photos()
        size = self.batch_size
        while events := self.outbox.pending(size):
            # A new batch id and sent_at per attempt: sent_at must be fresh for the server's skew estimate.
            response = await self._exchange("POST", "/v1/batches", lambda: self._batch_body(events))
            if response.status_code == 413 and size > 1:
                size = max(1, size // 2)
                continue
            body = response.json()
            if response.status_code == 401:
                raise SyncError(f"{self.device_id}: refused: {body.get('error')}")
            if "results" not in body:
                raise SyncError(f"{self.device_id}: batch refused ({response.status_code}): {body.get('error')}")
            self.outbox.record(events, body["results"])
            self.report.batches_acknowledged += 1
        return self.report
