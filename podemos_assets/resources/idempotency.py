"""The ingestion endpoint's idempotency store: which event_ids were seen, with which payload hash,
and which request signatures were already used.

Embedded SQLite (WAL, file mode 0600) locally; in production `resources/dynamo.py` implements the same
three operations with DynamoDB conditional writes. `open_store(url)` picks one from configuration.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import NamedTuple, Protocol
from urllib.parse import urlparse

import orjson

_SCHEMA = """
CREATE TABLE IF NOT EXISTS eventos (
    event_id TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    committed INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS firmas (firma TEXT PRIMARY KEY, expira REAL NOT NULL);
"""

NEW, DUPLICATE, IN_FLIGHT, CONFLICT = "new", "duplicate", "in_flight", "conflict"


class Claim(NamedTuple):  # a tuple, not a frozen dataclass: 500 of them per batch, built in the hot path
    event_id: str
    outcome: str  # NEW, DUPLICATE (committed before), IN_FLIGHT (claimed, not yet landed), CONFLICT


class EventStore(Protocol):
    """What the service needs from an idempotency store (SQLite here, DynamoDB in resources/dynamo.py)."""

    def claim(self, batch_id: str, events: list[tuple[str, str]]) -> list[Claim]: ...

    def commit(self, batch_id: str, event_ids: list[str]) -> None: ...

    def first_use_of_signature(self, signature: str, expires_at: float, now: float) -> bool: ...


def open_store(url: str) -> EventStore:
    """`sqlite:///abs/path.sqlite` or `dynamodb://<events table>/<signatures table>`."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return IdempotencyStore(parsed.path)
    if parsed.scheme == "dynamodb":
        from podemos_assets.resources.dynamo import DynamoIdempotencyStore

        return DynamoIdempotencyStore(parsed.netloc, parsed.path.strip("/") or "campo_firmas")
    raise ValueError(f"idempotency store {url!r}: expected sqlite:///path or dynamodb://events/signatures")


class IdempotencyStore:
    """Thread-safe: one SQLite connection per thread, claims in short IMMEDIATE transactions."""

    LOCK_TIMEOUT_S = 30.0  # how long a connection, or the store's creation, waits for another's lock

    def __init__(self, path: str | Path):
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # Owner-only: event ids and hashes of what devices sent. SQLite gives its -wal/-shm the same mode.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(self.path, 0o600)
        self._local = threading.local()
        # One writer at a time in this process: SQLite's busy handler sleeps in coarse steps under
        # contention, a lock hands over immediately. (Several processes still serialize through SQLite.)
        self._write_lock = threading.Lock()
        self._create()

    def _create(self) -> None:
        """WAL and the tables, once per file. Switching the journal mode needs an exclusive lock, and
        SQLite answers "database is locked" at once, without its busy wait, when another connection
        holds a shared one: the worker processes of `podemos ingest serve --workers N` create the store
        in the same instant, and one of them died of it. So: retry for a while, then say what happened."""
        deadline = time.monotonic() + self.LOCK_TIMEOUT_S
        while True:
            conn = sqlite3.connect(self.path, timeout=self.LOCK_TIMEOUT_S, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")  # persistent: later connections need not set it
                conn.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise sqlite3.OperationalError(
                        f"idempotency store {self.path}: still locked by another process after "
                        f"{self.LOCK_TIMEOUT_S:.0f} s; find what holds it (e.g. `fuser {self.path}`) and restart"
                    ) from exc
            finally:
                conn.close()
            time.sleep(random.uniform(0.005, 0.05))

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.LOCK_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            # NORMAL is enough: the landing file, not this index, is the durable record (see claim()).
            conn.execute("PRAGMA synchronous=NORMAL")
            # Checkpoint (and fsync the database) every ~40 MB of WAL rather than every 4 MB.
            conn.execute("PRAGMA wal_autocheckpoint=10000")
            self._local.conn = conn
        return conn

    def claim(self, batch_id: str, events: list[tuple[str, str]]) -> list[Claim]:
        """Claim (event_id, hash) pairs for a batch, atomically against concurrent batches; one Claim per
        pair, in order. The ids must be distinct (the service settles repeats inside a batch itself).

        An id claimed by a batch that has not landed yet is IN_FLIGHT: the caller writes it again
        (landing may then hold it twice, and the curated asset keeps one), because that other batch may
        still fail, and an event acknowledged as a duplicate of something never landed would be lost.
        """
        conn = self._conn()
        with self._write_lock:
            return self._claim(conn, batch_id, events)

    def _claim(self, conn, batch_id, events) -> list[Claim]:
        # Set-wise, not row by row: one insert of the whole batch, then a lookup of the ids that were
        # already there. The write lock and IMMEDIATE transaction keep the two consistent.
        conn.execute("BEGIN IMMEDIATE")
        try:
            inserted = {e for (e,) in conn.execute(
                "INSERT INTO eventos(event_id, hash, batch_id)"
                " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ? FROM json_each(?) WHERE true"
                " ON CONFLICT DO NOTHING RETURNING event_id",
                (batch_id, orjson.dumps(events)),
            )}
            known = [e for e, _ in events if e not in inserted]  # usually none: only retries repeat ids
            seen = {
                event_id: (h, committed)
                for event_id, h, committed in conn.execute(
                    "SELECT event_id, hash, committed FROM eventos WHERE event_id IN (SELECT value FROM json_each(?))",
                    (orjson.dumps(known),),
                )
            } if known else {}
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

        def outcome(event_id: str, h: str) -> str:
            if event_id in inserted:
                return NEW
            stored_hash, committed = seen[event_id]
            if stored_hash != h:
                return CONFLICT
            return DUPLICATE if committed else IN_FLIGHT

        return [Claim(e, outcome(e, h)) for e, h in events]

    def commit(self, batch_id: str, event_ids: list[str]) -> None:
        """The batch's landing file is durable: its claims are now final duplicates for later batches."""
        conn = self._conn()
        with self._write_lock:
            conn.execute("UPDATE eventos SET committed = 1 WHERE event_id IN (SELECT value FROM json_each(?))",
                         (orjson.dumps(event_ids),))

    def first_use_of_signature(self, signature: str, expires_at: float, now: float) -> bool:
        """True the first time a request signature is seen (replay guard). It is remembered until
        `expires_at`, the end of the signature's freshness: after that the timestamp check refuses it."""
        conn = self._conn()
        with self._write_lock:
            # An expired row may be taken over (its request can no longer pass the freshness check).
            cur = conn.execute(
                "INSERT INTO firmas(firma, expira) VALUES (?, ?) ON CONFLICT(firma) DO UPDATE SET "
                "expira = excluded.expira WHERE firmas.expira < ?", (signature, expires_at, now)
            )
            if cur.rowcount == 1 and int(signature[:4], 16) % 512 == 0:  # purge now and then, not every time
                conn.execute("DELETE FROM firmas WHERE expira < ?", (now,))
        return cur.rowcount == 1

    def counts(self) -> dict[str, int]:
        conn = self._conn()
        total, committed = conn.execute("SELECT count(*), coalesce(sum(committed), 0) FROM eventos").fetchone()
        return {"eventos": total, "confirmados": committed}

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
