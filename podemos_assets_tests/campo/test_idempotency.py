"""The idempotency store and the event ids the app generates: the rules the endpoint's statuses rest on."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from podemos_assets.ingesta import protocol as p
from podemos_assets.resources.idempotency import CONFLICT, DUPLICATE, IN_FLIGHT, NEW, IdempotencyStore


@pytest.fixture
def store(tmp_path):
    return IdempotencyStore(tmp_path / "idem.sqlite")


def outcomes(claims):
    return [c.outcome for c in claims]


def test_claims_are_new_then_in_flight_until_committed_then_duplicate(store):
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    assert outcomes(store.claim("lote-1", [(a, "h1"), (b, "h2")])) == [NEW, NEW]
    # Another batch retries a and c while lote-1 has not landed: a is in flight (land it again).
    assert outcomes(store.claim("lote-2", [(a, "h1"), (c, "h3")])) == [IN_FLIGHT, NEW]
    store.commit("lote-1", [a, b])
    assert outcomes(store.claim("lote-3", [(b, "h2"), (a, "h1"), (c, "h3")])) == [DUPLICATE, DUPLICATE, IN_FLIGHT]
    # Same id, another payload: a conflict, whether the first one is committed or not.
    assert outcomes(store.claim("lote-4", [(a, "otro"), (c, "otro")])) == [CONFLICT, CONFLICT]
    assert store.counts() == {"eventos": 3, "confirmados": 2}


def test_commit_marks_only_the_ids_it_is_given(store):
    """A client that re-uses a batch id must not turn the earlier attempt's unlanded claims into
    duplicates: a later resend of those events would be acknowledged and never stored."""
    landed, never_landed = str(uuid.uuid4()), str(uuid.uuid4())
    store.claim("lote", [(landed, "h"), (never_landed, "h")])
    store.commit("lote", [landed])
    assert outcomes(store.claim("otro", [(landed, "h"), (never_landed, "h")])) == [DUPLICATE, IN_FLIGHT]


def test_the_store_survives_a_restart(tmp_path):
    e = str(uuid.uuid4())
    first = IdempotencyStore(tmp_path / "idem.sqlite")
    first.claim("lote", [(e, "h")])
    first.commit("lote", [e])
    first.close()
    assert outcomes(IdempotencyStore(tmp_path / "idem.sqlite").claim("otro", [(e, "h")])) == [DUPLICATE]


def test_event_ids_are_uuid7_ordered_by_time_and_seedable():
    t0 = datetime(2026, 11, 27, 10, tzinfo=UTC)
    ids = [p.new_event_id(t0 + timedelta(seconds=s)) for s in range(50)]
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids)  # neighbours in time are neighbours in the index
    assert int(ids[0][:8] + ids[0][9:13], 16) == int(t0.timestamp() * 1000)
    assert p.new_event_id(t0, random.Random(3)) == p.new_event_id(t0, random.Random(3))
    assert len({p.new_event_id(t0) for _ in range(1000)}) == 1000  # same millisecond, still unique


V4 = "3f2b8c1e-9d4a-4e7b-8a6f-1c2d3e4f5a6b"
V7 = "019acb3e-1f00-7d8e-91b7-584a2265b1f5"


@pytest.mark.parametrize("event_id, ok", [
    (V4, True),
    (V7, True),
    (V4.upper(), False),  # one spelling only: upper and lower case were once stored as two events
    ("{" + V4 + "}", False),
    ("urn:uuid:" + V4, False),
    (V4 + "\n", False),
    (V4.replace("-", ""), False),
    ("no-es-un-uuid", False),
    (12345, False),
])
def test_a_canonical_uuid_is_an_event_id_and_nothing_else(event_id, ok):
    event = {"event_id": event_id, "type": "visita", "device_time": "2026-11-27T10:00:00-06:00",
             "payload": {"grupo": "G1", "resultado": "PAGO"}}
    if ok:
        assert p.validate_event(event, received=datetime(2026, 11, 27, 17, tzinfo=UTC)) == event_id
    else:
        with pytest.raises(p.EventRejected, match="event_id"):
            p.validate_event(event)


def _open_and_claim(path: str, barrier, event_id: str, results) -> None:
    barrier.wait()  # every process opens the new store in the same instant, as server workers do at start
    try:
        store = IdempotencyStore(path)
        results.put((event_id, [c.outcome for c in store.claim(event_id, [(event_id, "h")])]))
    except Exception as exc:  # reported, not raised: the parent asserts on what every process got
        results.put((event_id, repr(exc)))


def test_server_processes_starting_together_all_open_the_new_store(tmp_path):
    """`podemos ingest serve --workers N` starts N processes that create the store at once; SQLite
    answers "database is locked" to a journal-mode switch without waiting, and a worker died of it."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    for attempt in range(5):  # the race is timing-dependent: several fresh stores
        path, n = str(tmp_path / f"idem-{attempt}.sqlite"), 6
        barrier, results = ctx.Barrier(n), ctx.Queue()
        ids = [str(uuid.uuid4()) for _ in range(n)]
        procs = [ctx.Process(target=_open_and_claim, args=(path, barrier, e, results)) for e in ids]
        for proc in procs:
            proc.start()
        got = dict(results.get(timeout=60) for _ in procs)
        for proc in procs:
            proc.join(timeout=60)
        assert got == {e: [NEW] for e in ids}
        assert IdempotencyStore(path).counts() == {"eventos": n, "confirmados": 0}


def test_a_store_locked_for_good_is_a_clear_error_naming_it(tmp_path, monkeypatch):
    """Retrying is for workers starting together; a lock nobody releases ends in one sentence, not a hang."""
    import sqlite3

    path = tmp_path / "idem.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE otra (x)")
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of something
    monkeypatch.setattr(IdempotencyStore, "LOCK_TIMEOUT_S", 0.3)
    try:
        with pytest.raises(sqlite3.OperationalError, match=rf"idempotency store {path}: still locked .* after 0 s"):
            IdempotencyStore(path)
    finally:
        holder.execute("ROLLBACK")
    assert IdempotencyStore(path).counts() == {"eventos": 0, "confirmados": 0}  # and it opens once released
