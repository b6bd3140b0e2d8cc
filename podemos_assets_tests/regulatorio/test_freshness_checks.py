"""The per-day arrival check of the regulatory sources (`freshness_checks`) judges a day once its window has
closed, under a simulated clock. (Alerting on its results: podemos_assets_tests/test_alertas.py.)"""

from __future__ import annotations

from datetime import datetime, timedelta

from podemos_assets.demo import regulatorio as gen
from podemos_assets.regulatorio.checks import evaluate
from podemos_assets.regulatorio.extracts import ingest
from podemos_assets.regulatorio.registry import load_sources


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
