"""campo_landing_sensor decides from durable state only: a daemon started (no cursor) on an instance
whose days are already materialized requests nothing; a newer landing file still gets its day; which
partitions exist comes from the clock resource, and the default status from the automation switch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from podemos_assets.campo import campo_landing_sensor, eventos_campo, metricas_campo
from podemos_assets.resources.clock import ClockResource
from podemos_assets_tests.campo.helpers import batch_body, events, make_core, signed
from podemos_assets_tests.instancia import instance_for_test

MX = ZoneInfo("America/Mexico_City")


def send(core, evs):
    body = batch_body(evs)
    assert core.handle("POST", "/v1/batches", signed(body), body).status == 200


def tick(instance, core, cursor=None, now=None):
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor,
                                  resources={"lake": core.lake, "clock": ClockResource.at(now or datetime.now(UTC))})
    result = campo_landing_sensor(ctx)
    requests = [] if isinstance(result, dg.SkipReason) else list(result)
    return sorted(r.partition_key for r in requests), ctx.cursor


def test_a_new_daemon_on_a_materialized_instance_requests_nothing_new(tmp_path):
    core = make_core(tmp_path)
    now = datetime.now(UTC)
    day = now.astimezone(MX).date().isoformat()
    send(core, events(3, when=now - timedelta(minutes=5)))
    with instance_for_test() as instance:
        dg.materialize([eventos_campo, metricas_campo], partition_key=day, instance=instance,
                       resources={"lake": core.lake})
        days, cursor = tick(instance, core)  # first tick of a fresh daemon: no cursor
        assert days == [] and cursor  # nothing requested, and the files are now remembered
        assert tick(instance, core, cursor)[0] == []

        send(core, events(2, seed=4, when=now - timedelta(minutes=1)))  # arrives after the run
        assert tick(instance, core, cursor)[0] == [day]
        assert tick(instance, core)[0] == [day]  # without a cursor too: the new file is newer than the run


def test_partitions_come_from_the_clock_resource(tmp_path):
    core = make_core(tmp_path)
    now = datetime.now(UTC)
    send(core, events(2, when=now - timedelta(minutes=5)))
    day = (now - timedelta(minutes=5)).astimezone(MX).date()
    with instance_for_test() as instance:
        before = datetime.combine(day - timedelta(days=1), datetime.min.time(), MX) + timedelta(hours=12)
        assert tick(instance, core, now=before)[0] == []  # that day does not exist yet on this clock
        assert tick(instance, core, now=now)[0] == [day.isoformat()]


def test_the_default_status_follows_the_automation_switch():
    from podemos_assets.automation import sensor_status

    assert campo_landing_sensor.default_status == sensor_status()
