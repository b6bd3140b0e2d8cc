"""The platform's alert room (podemos_assets/alertas.py) under a simulated clock: each failure once per day, its
recovery once, cursor-held; registered once for the whole code location, on public Dagster APIs."""

from __future__ import annotations

import ast
import time as systime
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

# what the freshness daemon records (no public constructor: the test plays the daemon, the sensor only reads)
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

from podemos_assets import alertas
from podemos_assets.regulatorio.registry import TZ, load_sources
from podemos_assets_tests.instancia import instance_for_test
from podemos_assets_tests.regulatorio.harness import Night

FECHA = "2026-10-01"  # go-live: nothing is due for the day before


def subjects(alerts, kind):
    return [a["subject"] for a in alerts if a["kind"] == kind]


def test_late_source_alerts_once_and_recovers_once_under_a_simulated_clock(settings):
    with instance_for_test() as instance:
        night = Night(settings, instance, scale=0.02)
        morning = datetime.fromisoformat(f"{FECHA}T00:00:00").replace(tzinfo=TZ) + timedelta(days=1)
        for name, source in load_sources().items():  # everything lands in its window except spei
            if name != "spei":
                night.drop(name, FECHA, source.window_on(FECHA)[0] + timedelta(minutes=5))
        night.tick(morning + timedelta(hours=1, minutes=40))  # spei's window is still open: no alert
        assert not [a for a in night.alerts() if "spei" in a["subject"]]
        for minutes in (110, 150, 200, 330):  # window closed at 01:45, still missing: one failure only
            night.tick(morning + timedelta(minutes=minutes))
        spei = f"check regulatorio/spei:llegada_a_tiempo {FECHA}"
        assert subjects(night.alerts(), "failure").count(spei) == 1
        failure = next(a for a in night.alerts() if a["subject"] == spei)
        assert "spei" in failure["message"] and failure["severidad"] == "ERROR" and failure["fecha"] == FECHA
        assert failure["sent_at"] == (morning + timedelta(minutes=110)).astimezone(UTC).isoformat()  # simulated clock
        # the 05:30 cut-off delivered a partial: that is loud, once
        deadline = f"check reporte_regulatorio_diario:entregado_a_tiempo {FECHA}"
        partial = [a for a in night.alerts() if a["subject"] == deadline]
        assert [a["kind"] for a in partial] == ["failure"] and partial[0]["severidad"] == "WARN"
        assert "PARCIAL" in partial[0]["message"] and "spei" in partial[0]["message"]

        night.drop("spei", FECHA, morning + timedelta(hours=6, minutes=10))
        for minutes in (375, 400, 460):
            night.tick(morning + timedelta(minutes=minutes))
        alerts = night.alerts()
        assert subjects(alerts, "failure").count(spei) == 1
        assert subjects(alerts, "recovery") == [spei]
        # the complete v2 came after 06:00: only a partial was on time, the day stays flagged (late is late)
        assert set(night.cursors["alertas"]["abiertas"]) == {deadline}
        assert [m["parcial"] for m in night.manifests(FECHA)] == [True, False]

        # A restart with the saved cursor neither repeats nor forgets
        count = len(alerts)
        night.run_alert_sensor(morning + timedelta(minutes=470))
        assert len(night.alerts()) == count


def test_freshness_states_and_failed_checks_of_any_group_are_alerted(settings):
    """The sensor reads the freshness daemon's states for every asset, not only this group's checks."""
    with instance_for_test() as instance:
        night = Night(settings, instance, scale=0.02)
        key = dg.AssetKey("reporte_regulatorio_diario")

        def freshness(state):  # what the freshness daemon records
            instance.report_runless_asset_event(FreshnessStateChange(
                key=key, previous_state=FreshnessState.UNKNOWN, new_state=state, state_change_timestamp=systime.time()))

        now = datetime(2026, 10, 2, 7, 0, tzinfo=TZ)
        freshness(FreshnessState.PASS)
        night.run_alert_sensor(now)
        freshness(FreshnessState.FAIL)
        night.run_alert_sensor(now)
        night.run_alert_sensor(now)
        freshness(FreshnessState.PASS)
        night.run_alert_sensor(now)
        night.run_alert_sensor(now)
        kinds = [(a["kind"], a["subject"]) for a in night.alerts()]
        assert kinds == [("failure", "frescura reporte_regulatorio_diario"),
                         ("recovery", "frescura reporte_regulatorio_diario")]


def test_one_alert_sensor_for_the_whole_code_location_watching_every_group():
    """Registered by definitions.py (not by a capability), it watches every asset and check of the location."""
    from podemos_assets import definitions, regulatorio

    assert [s.name for s in definitions.defs.sensors].count(alertas.SENSOR_NAME) == 1
    assert alertas.SENSOR_NAME not in [s.name for s in regulatorio.defs.sensors or []]
    repository = definitions.defs.get_repository_def()
    assets, checks = alertas.watched(repository)
    graph = repository.asset_graph
    assert set(assets) == set(graph.get_all_asset_keys())
    assert set(checks) == {ck for key in graph.get_all_asset_keys() for ck in graph.get(key).check_keys}
    assert len({ck.asset_key.path[0] for ck in checks}) > 1  # not only regulatorio's


def test_the_alert_room_imports_no_dagster_internals():
    """Public Dagster only: no `dagster._…` import (the two reads Dagster has no public API for are plain
    instance calls, isolated and explained in the module)."""
    tree = ast.parse(Path(alertas.__file__).read_text())
    modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in modules if m.startswith("dagster._")]
    private = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr.startswith("_")
               and not n.attr.startswith("__")]
    assert private == []
