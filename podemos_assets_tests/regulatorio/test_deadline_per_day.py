"""The deadline check means it, per day: 06:00:00 is on time, 06:00:01 is late and stays late; a partial on
time warns; alerts are per day, so two days failing and recovering in different orders each get their own
failure and recovery, and another day's success never clears a day still failing."""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg
import pytest

from podemos_assets.regulatorio.checks import DELIVERY_CHECK, evaluate
from podemos_assets.regulatorio.registry import CUTOFF, DEADLINE, TZ, at, load_sources
from podemos_assets.regulatorio.report import deliver
from podemos_assets_tests.regulatorio.conftest_helpers import branch_day, land_files
from podemos_assets_tests.regulatorio.harness import Night
from podemos_assets_tests.regulatorio.warehouse_fixture import Warehouse

FECHA = "2026-10-12"


def verdict(now, resources, fecha=FECHA):
    result = next(r for r in evaluate(now, resources["lake"], resources["outbox"]) if r.check_name == DELIVERY_CHECK)
    return result.metadata["por_dia"].value.get(fecha, {}).get("estado"), result


@pytest.mark.parametrize("delivered_at,expected", [
    (timedelta(0), "ok"),  # 06:00:00: on time
    (timedelta(seconds=1), "falla"),  # 06:00:01: late
])
def test_complete_report_at_the_deadline_boundary(resources, delivered_at, expected):
    land_files(resources, FECHA, at(FECHA, CUTOFF) - timedelta(hours=4))
    branch_day(Warehouse(resources["lake"], resources["warehouse"]), FECHA)
    from podemos_assets.regulatorio.extracts import ingest
    ingest(load_sources()["sucursales_pagos"], FECHA, resources["sources"], resources["lake"],
           now=at(FECHA, CUTOFF), warehouse=resources["warehouse"])
    when = at(FECHA, DEADLINE) + delivered_at
    manifest = deliver(FECHA, resources["lake"], resources["outbox"], when, warehouse=resources["warehouse"]).manifest
    assert manifest["a_tiempo"] == (expected == "ok") and not manifest["parcial"]
    for later in (timedelta(seconds=5), timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=5)):
        state, result = verdict(when + later, resources)
        assert state == expected, later  # late stays late: it never turns into a pass
        if expected != "ok":  # (the result as a whole also carries the open days before, with no report at all)
            assert result.severity == dg.AssetCheckSeverity.ERROR and "TARDE" in result.description


def test_partial_on_time_warns_and_nothing_by_six_fails(resources):
    land_files(resources, FECHA, at(FECHA, CUTOFF) - timedelta(hours=4), skip=("spei",))
    assert verdict(at(FECHA, CUTOFF) - timedelta(seconds=1), resources)[0] is None  # not judged before 05:30
    assert verdict(at(FECHA, DEADLINE), resources)[0] is None  # nothing yet, and 06:00 not passed
    assert verdict(at(FECHA, DEADLINE) + timedelta(seconds=1), resources)[0] == "falla"  # nothing on time
    other = "2026-10-13"
    land_files(resources, other, at(other, CUTOFF) - timedelta(hours=4), skip=("spei",))
    deliver(other, resources["lake"], resources["outbox"], at(other, CUTOFF))  # partial at the cut-off
    state, result = verdict(at(other, CUTOFF) + timedelta(minutes=15), resources, other)
    assert state == "aviso" and "PARCIAL" in result.description  # per-day WARN; the alert says so
    assert verdict(at(other, DEADLINE) + timedelta(hours=1), resources, FECHA)[0] == "falla"  # still its own verdict


def test_two_days_failing_and_recovering_in_different_orders_alert_per_day(settings):
    """spei of day A and of day B both miss their windows; B's arrives first, A's after; each day gets exactly
    one failure and one recovery, in its own order, and B's recovery never clears A."""
    a, b = "2026-10-03", "2026-10-04"
    with dg.instance_for_test() as instance:
        night = Night(settings, instance)
        for fecha in (a, b):
            for name, source in load_sources().items():
                if name != "spei":
                    night.drop(name, fecha, source.window_on(fecha)[0] + timedelta(minutes=5))
        morning_b = datetime(2026, 10, 5, 0, 0, tzinfo=TZ)
        night.drop("spei", b, morning_b + timedelta(hours=2, minutes=10))  # B's spei: late, 02:10 on the 5th
        night.drop("spei", a, morning_b + timedelta(hours=3, minutes=10))  # A's spei: later still
        moments = [datetime(2026, 10, 4, h, m, tzinfo=TZ) for h, m in ((1, 0), (2, 0), (6, 30))] + \
                  [morning_b + timedelta(hours=h) for h in (1, 2, 2.5, 3.5, 7)]
        for now in moments:
            night.tick(now)
        ours = [x for x in night.alerts() if x["subject"].endswith((a, b))]  # (10-01/02: no source at all)
        sent = [(x["kind"], x["subject"]) for x in ours if "spei:llegada" in x["subject"]]
        sa, sb = (f"check regulatorio/spei:llegada_a_tiempo {d}" for d in (a, b))
        assert sent == [("failure", sa), ("failure", sb), ("recovery", sb), ("recovery", sa)]
        times = {(x["kind"], x["subject"]): x["sent_at"] for x in night.alerts()}
        assert times[("recovery", sb)] < times[("recovery", sa)]
        # A went out partial at its cut-off (one warning); B was complete by 02:10, before its own cut-off,
        # and that success does not clear A
        deadline = [(x["kind"], x["subject"].rsplit(" ", 1)[1]) for x in ours if "entregado_a_tiempo" in x["subject"]]
        assert deadline == [("failure", a)]
        # a restart (a fresh alert cursor) on this instance repeats nothing already open or closed
        count = len(night.alerts())
        night.cursors["alertas"] = {"abiertas": dict(night.cursors["alertas"]["abiertas"]), "vistos": {}}
        night.run_alert_sensor(moments[-1] + timedelta(minutes=5))
        assert len(night.alerts()) == count
