"""Exactly-once landing: no write replaces another, a claim is committed only once its bytes are
durable, and any two requests, however interleaved, leave the union of their accepted events stored once."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from podemos_assets.campo.transform import build_day, landing_keys, read_landing, touched_days
from podemos_assets.resources.lake import LakeResource
from podemos_assets_tests.campo.helpers import batch_body, events, make_core, signed


def curated_ids(core) -> Counter:
    records = read_landing(core.lake, landing_keys(core.lake))
    out = Counter()
    for day in touched_days(records):
        out.update(build_day(records, day).tables["eventos"]["event_id"].to_pylist())
    return out


def post(core, body, device="dev-a"):
    return core.handle("POST", "/v1/batches", signed(body, device=device), body)


def test_create_bytes_never_replaces_a_file(tmp_path):
    lake = LakeResource(url=f"file://{tmp_path}")
    assert lake.create_bytes("a/b.ndjson", b"first\n")
    assert not lake.create_bytes("a/b.ndjson", b"second\n")
    assert lake.read_bytes("a/b.ndjson") == b"first\n"
    assert list(lake.list("a/")) == ["a/b.ndjson"]  # no temp file left behind
    assert stat.S_IMODE(os.stat(tmp_path / "a" / "b.ndjson").st_mode) == 0o600


def test_create_many_creates_each_new_key_once_and_never_replaces(tmp_path):
    lake = LakeResource(url=f"file://{tmp_path}")
    assert lake.create_bytes("f/old", b"old")
    items = [("f/new", b"1"), ("f/old", b"other"), ("g/x", b"2"), ("f/new", b"again")]
    assert lake.create_many(items) == [True, False, True, False]
    assert [lake.read_bytes(k) for k in ("f/new", "f/old", "g/x")] == [b"1", b"old", b"2"]
    assert sorted(lake.list("f/")) == ["f/new", "f/old"] and list(lake.list("g/")) == ["g/x"]  # no temp files
    assert stat.S_IMODE(os.stat(tmp_path / "f" / "new").st_mode) == 0o600


def test_create_many_failing_midway_links_no_name_and_leaves_no_temp_file(tmp_path, monkeypatch):
    """Every file is durable before any name appears: a disk error while writing leaves nothing behind."""
    lake = LakeResource(url=f"file://{tmp_path}")
    calls = []
    real_fsync = os.fsync

    def failing_fsync(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        lake.create_many([("f/a", b"1"), ("f/b", b"2"), ("f/c", b"3")])
    assert list(lake.list("f/")) == []


@pytest.mark.parametrize("round_", range(5))
def test_two_batches_with_one_batch_id_at_the_same_time_both_land(tmp_path, round_):
    """The bug: the second landing write replaced the first file and its events were then answered
    "duplicate" forever. Now files are named by the server and created exclusively."""
    core = make_core(tmp_path)
    now = datetime.now(UTC)
    first, second = events(20, seed=1, when=now - timedelta(minutes=1)), events(20, seed=2, when=now)
    shared = json.loads(batch_body(first))["batch_id"]
    bodies = [json.dumps({**json.loads(batch_body(evs)), "batch_id": shared}).encode() for evs in (first, second)]
    start = threading.Barrier(2)
    answers = [None, None]

    def go(i):
        start.wait()
        answers[i] = post(core, bodies[i])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status for a in answers] == [200, 200]
    assert curated_ids(core) == Counter({e["event_id"]: 1 for e in first + second})
    # And every event is a true duplicate afterwards: nothing acknowledged is missing from the landing.
    for evs in (first, second):
        assert {x["status"] for x in post(core, batch_body(evs)).body["results"]} == {"duplicate"}


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_overlapping_batches_store_the_union_once(tmp_path, round_):
    core = make_core(tmp_path)
    pool = events(60, seed=round_, when=datetime.now(UTC) - timedelta(minutes=5))
    slices = [pool[0:30], pool[20:50], pool[40:60] + pool[0:5], pool[10:40]]
    start = threading.Barrier(len(slices))
    answers = []

    def go(evs, device):
        start.wait()
        answers.append(post(core, batch_body(evs, device=device), device=device))

    threads = [threading.Thread(target=go, args=(s, "dev-a" if i % 2 else "dev-b")) for i, s in enumerate(slices)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # dev-b's copies carry another device, so they hash differently: conflicts where dev-a was first.
    acked = {x["event_id"] for a in answers for x in a.body["results"] if x["status"] in ("accepted", "duplicate")}
    stored = curated_ids(core)
    assert acked <= set(stored) and max(stored.values()) == 1


class FailingLake(LakeResource):
    def create_bytes(self, key, data, mode=0o600):
        if key.startswith("landing/"):
            raise OSError("disk full")
        return super().create_bytes(key, data, mode)


def test_a_claim_whose_landing_failed_is_not_committed(tmp_path):
    """A failed landing answers 503 and commits nothing: the retry is stored, never a false duplicate."""
    core = make_core(tmp_path)
    evs = events(3)
    core.landing.lake = FailingLake(url=core.lake.url)
    r = post(core, batch_body(evs))
    assert r.status == 503 and "nothing was stored or acknowledged" in r.body["error"]
    assert landing_keys(core.lake) == [] and core.store.counts() == {"eventos": 3, "confirmados": 0}
    core.landing.lake = core.lake
    r = post(core, batch_body(evs))
    assert [x["status"] for x in r.body["results"]] == ["accepted"] * 3
    assert curated_ids(core) == Counter({e["event_id"]: 1 for e in evs})


def test_local_landing_and_store_are_owner_only(tmp_path):
    core = make_core(tmp_path)
    assert post(core, batch_body(events(2))).status == 200
    [key] = landing_keys(core.lake)
    for path in (core.lake.local_path(key), tmp_path / "idem.sqlite"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
