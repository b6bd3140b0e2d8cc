"""500 devices reconnect at once with offline backlogs, outages, clock skew, dropped connections and
lost acknowledgements, against `podemos ingest serve` on loopback: every event is stored exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from podemos_assets.campo.transform import build_day, landing_keys, read_landing, touched_days
from podemos_assets.demo.simulator import make_fleet, run_fleet
from podemos_assets.ingesta.auth import write_secrets_file
from podemos_assets.ingesta.server import serving_subprocess
from podemos_assets.resources.lake import LakeResource

DEVICES, BACKLOG, BATCH = 500, 8, 8


@pytest.mark.slow
def test_reconnect_storm_stores_every_event_exactly_once(tmp_path):
    devices, secrets = make_fleet(tmp_path / "dispositivos", DEVICES, BACKLOG, seed=7, outage_rate=0.1,
                                  skew_rate=0.1, drop_rate=0.05, lost_ack_rate=0.05, weights=(3, 4, 0.3, 2))
    sent = {e["event_id"] for d in devices for e in d.outbox.events()}
    assert len(sent) == DEVICES * BACKLOG
    env = {"PODEMOS_HOME": str(tmp_path / "home"),
           "PODEMOS_DEVICE_SECRETS_FILE": str(write_secrets_file(tmp_path / "secrets.json", secrets))}
    with serving_subprocess(env) as url:
        # A bound, so a hang fails this test instead of stalling the suite.
        report = asyncio.run(asyncio.wait_for(run_fleet(url, devices, seed=7, batch_size=BATCH), timeout=600))

    assert report.errors == {}
    for d in devices:  # every device drained, every event acknowledged as stored
        assert d.outbox.counts() == {"enviado": BACKLOG}, d.device_id
    reports = report.reports.values()
    assert sum(r.retries for r in reports) > 0  # the faults really happened
    assert sum(r.attempts for r in reports) > sum(r.batches_acknowledged for r in reports)

    lake = LakeResource(url=f"file://{tmp_path}/home/lake")
    records = read_landing(lake, landing_keys(lake))
    stored = Counter()
    for day in touched_days(records):
        result = build_day(records, day)
        stored.update(result.tables["eventos"]["event_id"].to_pylist())
        assert result.quarantine.num_rows == 0
    assert set(stored) == sent  # nothing lost
    assert max(stored.values()) == 1  # nothing duplicated, across all days


@pytest.mark.parametrize("serve_args", [["--server", "granian"], ["--workers", "2"]], ids=["granian", "2-processes"])
def test_other_server_configurations_store_every_event_exactly_once(tmp_path, serve_args):
    """`podemos ingest serve --server granian` (the compiled server the benchmark measures) and `--workers 2`
    (two processes sharing one store: a retry may reach the other process) are the same endpoint: a
    smaller faulty fleet drains, and the landing holds each event once."""
    devices, secrets = make_fleet(tmp_path / "dispositivos", 20, BACKLOG, seed=11, outage_rate=0.1,
                                  skew_rate=0.1, drop_rate=0.05, lost_ack_rate=0.1, weights=(3, 4, 0.3, 2))
    sent = {e["event_id"] for d in devices for e in d.outbox.events()}
    env = {"PODEMOS_HOME": str(tmp_path / "home"),
           "PODEMOS_DEVICE_SECRETS_FILE": str(write_secrets_file(tmp_path / "secrets.json", secrets))}
    with serving_subprocess(env, args=serve_args) as url:
        report = asyncio.run(asyncio.wait_for(run_fleet(url, devices, seed=11, batch_size=BATCH), timeout=300))

    assert report.errors == {}
    assert all(d.outbox.counts() == {"enviado": BACKLOG} for d in devices)
    lake = LakeResource(url=f"file://{tmp_path}/home/lake")
    records = read_landing(lake, landing_keys(lake))
    stored = Counter()
    for day in touched_days(records):
        stored.update(build_day(records, day).tables["eventos"]["event_id"].to_pylist())
    assert set(stored) == sent and max(stored.values()) == 1
