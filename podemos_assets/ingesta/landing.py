"""The landing zone's record format (one JSON line per event received) and its group-commit writer.

The landing file is the record an acknowledgement rests on. Files are named by the server (a
time-ordered id), never by anything the client sent, and created exclusively: a write never replaces
another. Batches that arrive together share one file and one fsync (group commit).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Raw, Struct

from podemos_assets.contracts import lake as paths
from podemos_assets.ingesta import protocol as p
from podemos_assets.resources.lake import LakeResource

Reason = Annotated[str, Meta(max_length=500)]


class _Head(Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    status: Literal["accepted", "conflict", "rejected"]
    batch_id: p.Uuid
    device_id: p.Code
    asesor: p.Text = ""
    sucursal: p.Text = ""
    region: p.Text = ""
    sent_at: p.Time
    received_at: p.Time
    event_id: p.Uuid | None = None
    payload_sha256: p.Sha256 | None = None
    reason: Reason | None = None
    raw: str | None = None  # a rejected event exactly as received (it may not even be an object)


class LandingRecord(_Head, kw_only=True):
    """A landing line as read back: the event typed by the wire contract (re-checked on every read)."""

    event: p.Event | None = None


class LandingLine(_Head, kw_only=True):
    """A landing line as written: the event's canonical bytes, encoded once by the service."""

    event: Raw | None = None


RECORD_DECODER = msgspec.json.Decoder(LandingRecord)


def landing_key(day: str, name: str) -> str:
    return f"{paths.field_landing_day(day)}{name}.ndjson"


class GroupLanding:
    """Group commit: a request hands its lines to `land()`; whoever finds the writer idle writes every
    request queued meanwhile in one exclusively created, fsync'd file per receipt day, and all of them
    return once it is durable. One fsync per group instead of one per batch: under load, the requests
    that arrive during one fsync make up the next group."""

    def __init__(self, lake: LakeResource, group_commit: bool = True):
        self.lake, self.group_commit = lake, group_commit
        self._cond = threading.Condition()
        self._queue: list[list] = []
        self._busy = False
        self.files = 0  # landing files written (the benchmark reports batches per file)

    def land(self, day: str, data: bytes) -> str:
        """Durably land `data` under receipt day `day`; returns the key it is in."""
        item = [day, data, None, None]  # day, bytes, key, error
        if not self.group_commit:  # one file and one fsync per batch (the benchmark's comparison)
            self._write([item])
            if item[3] is not None:
                raise item[3]
            return item[2]
        with self._cond:
            self._queue.append(item)
            while item[2] is None and item[3] is None:
                if self._busy:
                    self._cond.wait()
                    continue
                self._busy = True
                group, self._queue = self._queue, []
                self._cond.release()
                try:
                    self._write(group)
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._cond.notify_all()
        if item[3] is not None:
            raise item[3]
        return item[2]

    def _write(self, group: list[list]) -> None:
        by_day: dict[str, list[list]] = defaultdict(list)
        for item in group:
            by_day[item[0]].append(item)
        for day, items in by_day.items():
            try:
                while True:  # a collision of 74 random bits is not expected; never overwrite if it happens
                    key = landing_key(day, p.new_event_id().replace("-", ""))
                    if self.lake.create_bytes(key, b"".join(i[1] for i in items)):
                        break
                self.files += 1
                for i in items:
                    i[2] = key
            except Exception as exc:  # every request of the group learns it was not landed
                for i in items:
                    i[3] = exc
