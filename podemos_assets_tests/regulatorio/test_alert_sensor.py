"""The platform alert sensor under a simulated clock: each failure once, its recovery once, cursor-held."""

from __future__ import annotations

import time as systime
from datetime import datetime, timedelta

import dagster as dg
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

from podemos_assets.demo import regulatorio as gen
from podemos_assets.regulatorio.checks import evaluate
from podemos_assets.regulatorio.extracts import ingest
from podemos_assets.regulatorio.registry import TZ, load_sources
from podemos_assets_tests.regulatorio.harness import Night

FECHA = "2026-10-01"  # go-live: nothing is due for the day before


def subjects(alerts, kind):
    return [a["subject"] for a in alerts if a["kind"] == kind]


def test_late_source_alerts_once_and_recovers_once_under_a_simulated_clock(settings):
    with dg.instance_for_test() as instance:
        night = Night(settings, instance, scale=0.02)
        morning = datetime.fromisoformat(f"{FECHA}T00:00:00").replace(tzinfo=TZ) + timedelta(days=1)
        for name, source in load_sources().items():  # everything lands in its window except spei
            if name != "spei":
                night.drop(name, FECHA, source.window_on(FECHA)[0] + timedelta(minutes=5))
        night.tick(morning + timedelta(hours=1, minutes=40))  # spei's window is still open: no alert
        assert not [a for a in night.alerts() if "spei" in a["subject"]]
        for minutes in (110, 150, 200, 330):  # window closed at 01:45, still missing: one failure only
            night.tick(morning + timedelta(minutes=minutes))
        failures = subjects(night.alerts(), "failure")
        assert failures.count("check regulatorio/spei:llegada_a_tiempo") == 1
        failure = next(a for a in night.alerts() if a["subject"].endswith("spei:llegada_a_tiempo"))
        assert "spei" in failure["message"] and failure["severidad"] == "ERROR"

        night.drop("spei", FECHA, morning + timedelta(hours=6, minutes=10))
        for minutes in (375, 400, 460):
            night.tick(morning + timedelta(minutes=minutes))
        alerts = night.alerts()
        assert subjects(alerts, "failure").count("check regulatorio/spei:llegada_a_tiempo") == 1
        assert subjects(alerts, "recovery") == ["check regulatorio/spei:llegada_a_tiempo"]
        assert night.alert_cursor == "{}"  # nothing open

        # A restart with the saved cursor neither repeats nor forgets
        count = len(alerts)
        night.run_alert_sensor()
        assert len(night.alerts()) == count


def test_freshness_states_and_failed_checks_of_any_group_are_alerted(settings):
    """The sensor reads the freshness daemon's states for every asset, not only this group's checks."""
    with dg.instance_for_test() as instance:
        night = Night(settings, instance, scale=0.02)
        key = dg.AssetKey("reporte_regulatorio_diario")

        def freshness(state):  # what the freshness daemon records
            instance._report_runless_asset_event(FreshnessStateChange(  # noqa: SLF001
                key=key, previous_state=FreshnessState.UNKNOWN, new_state=state, state_change_timestamp=systime.time()))

        freshness(FreshnessState.PASS)
        night.run_alert_sensor()
        freshness(FreshnessState.FAIL)
        night.run_alert_sensor()
        night.run_alert_sensor()
        freshness(FreshnessState.PASS)
        night.run_alert_sensor()
        night.run_alert_sensor()
        kinds = [(a["kind"], a["subject"]) for a in night.alerts()]
        assert kinds == [("failure", "frescura reporte_regulatorio_diario"),
                         ("recovery", "frescura reporte_regulatorio_diario")]


def test_freshness_check_evaluation_follows_the_clock(resources):
    """The partition-aware check looks at the day due *now*: before, during and after a window."""
    lake, outbox, sources = resources["lake"], resources["outbox"], resources["sources"]
    source = load_sources()["quejas_condusef"]
    fecha = "2026-10-20"
    end = source.window_on(fecha)[1]

    def passed(now):
        return next(r.passed for r in evaluate(now, lake, outbox) if r.asset_key.path[-1] == "quejas_condusef")

    previous = (datetime.fromisoformat(fecha) - timedelta(days=1)).date().isoformat()
    gen.write_source(sources, "quejas_condusef", previous, gen.source_bytes("quejas_condusef", previous, scale=0.05), end)
    ingest(source, previous, sources, lake)
    assert passed(end - timedelta(minutes=1))  # the day before is what is due until the window closes
    assert not passed(end)  # `fecha` is due now and missing
    gen.write_source(sources, "quejas_condusef", fecha, gen.source_bytes("quejas_condusef", fecha, scale=0.05), end)
    ingest(source, fecha, sources, lake)
    assert passed(end + timedelta(minutes=1))
