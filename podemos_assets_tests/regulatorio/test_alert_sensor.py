"""The platform alert sensor under a simulated clock: each failure once per day, its recovery once, cursor-held."""

from __future__ import annotations

import time as systime
from datetime import UTC, datetime, timedelta

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
    with dg.instance_for_test() as instance:
        night = Night(settings, instance, scale=0.02)
        key = dg.AssetKey("reporte_regulatorio_diario")

        def freshness(state):  # what the freshness daemon records
            instance._report_runless_asset_event(FreshnessStateChange(  # noqa: SLF001
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


def test_freshness_check_evaluation_follows_the_clock(resources):
    """The per-day check judges a day once its window has closed: before, during and after a window."""
    lake, outbox, sources = resources["lake"], resources["outbox"], resources["sources"]
    source = load_sources()["quejas_condusef"]
    fecha = "2026-10-20"
    end = source.window_on(fecha)[1]
    previous = (datetime.fromisoformat(fecha) - timedelta(days=1)).date().isoformat()

    def verdicts(now):
        result = next(r for r in evaluate(now, lake, outbox) if r.asset_key.path[-1] == "quejas_condusef")
        return {d: v["estado"] for d, v in result.metadata["por_dia"].value.items()}

    gen.write_source(sources, "quejas_condusef", previous, gen.source_bytes("quejas_condusef", previous, scale=0.05), end)
    ingest(source, previous, sources, lake)
    assert fecha not in verdicts(end - timedelta(minutes=1)) and verdicts(end - timedelta(minutes=1))[previous] == "ok"
    assert verdicts(end)[fecha] == "falla"  # `fecha` is due now and missing
    assert verdicts(end)[previous] == "ok"
    gen.write_source(sources, "quejas_condusef", fecha, gen.source_bytes("quejas_condusef", fecha, scale=0.05), end)
    ingest(source, fecha, sources, lake)
    assert verdicts(end + timedelta(minutes=1))[fecha] == "ok"
