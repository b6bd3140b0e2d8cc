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
from podemos_assets_tests.instancia import instance_for_test
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
    with instance_for_test() as instance:
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


def test_the_freshness_sensor_runs_the_checks_only_when_a_day_changes_state(resources):
    """The verdicts are judged every minute but recorded (a run) only when one differs from the last recorded
    evaluation: a quiet night is a handful of runs, not one every 15 minutes, and nothing is missed."""
    from podemos_assets import definitions
    from podemos_assets.regulatorio.automation import freshness_watch
    from podemos_assets.resources.clock import ClockResource

    defs = definitions.defs
    job = defs.resolve_implicit_global_asset_job_def()
    with instance_for_test() as instance:
        def tick(now):
            context = dg.build_sensor_context(instance=instance, definitions=defs,
                                              resources={**resources, "clock": ClockResource.at(now)})
            return list(freshness_watch.evaluate_tick(context).run_requests or [])

        def run(request, now):
            subset = job.get_subset(asset_selection=set(), asset_check_selection=set(request.asset_check_keys))
            assert subset.execute_in_process(instance=instance, raise_on_error=False,
                                             resources={**resources, "clock": ClockResource.at(now)}).success

        early = at(FECHA, CUTOFF) - timedelta(hours=5)  # 00:30: nothing recorded yet: every check runs
        first = tick(early)
        assert len(first) == 1 and len(first[0].asset_check_keys) == len(load_sources()) + 1
        run(first[0], early)
        assert tick(early + timedelta(minutes=1)) == []  # the same verdicts: no run
        land_files(resources, FECHA, early, skip=("spei",))  # files arrive before their windows close:
        assert tick(early + timedelta(minutes=2)) == []  # no day is judged on them yet, so no verdict changed
        cutoff = at(FECHA, CUTOFF)  # every window has closed: the day's arrival verdicts are due
        due = tick(cutoff)
        assert due and {k.asset_key.path[-1] for k in due[0].asset_check_keys} >= {"spei", "seguros"}
        run(due[0], cutoff)

        def recorded(check_key):
            record = instance.event_log_storage.get_latest_asset_check_execution_by_key([check_key])[check_key]
            return record.event.asset_check_evaluation.metadata["por_dia"].value

        by_source = {k.asset_key.path[-1]: k for k in due[0].asset_check_keys}
        assert recorded(by_source["spei"])[FECHA]["estado"] == "falla"
        assert recorded(by_source["seguros"])[FECHA]["estado"] == "ok"
        assert tick(cutoff + timedelta(minutes=1)) == []
        # The partial goes out at the cut-off: only the deadline check changes (the day warns).
        deliver(FECHA, resources["lake"], resources["outbox"], cutoff + timedelta(minutes=1))
        report = tick(cutoff + timedelta(minutes=2))
        assert [k.name for k in report[0].asset_check_keys] == [DELIVERY_CHECK]
        run(report[0], cutoff + timedelta(minutes=2))
        assert recorded(report[0].asset_check_keys[0])[FECHA]["estado"] == "aviso"
        assert tick(cutoff + timedelta(minutes=3)) == []
