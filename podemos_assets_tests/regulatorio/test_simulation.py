"""30 simulated nights with sources arriving on time, late, broken-then-corrected or never, at random."""

from __future__ import annotations

import csv
import hashlib
import io
import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import dagster as dg
import pyarrow.compute as pc

from podemos_assets.config import GO_LIVE
from podemos_assets.demo import regulatorio as gen
from podemos_assets.regulatorio.deadline import last_due
from podemos_assets.regulatorio.registry import CUTOFF, DEADLINE, TZ, at, load_sources
from podemos_assets_tests.regulatorio.harness import Night

DAYS = 30
TICKS = [time(h, m) for h, m in ((2, 0), (3, 30), (5, 30), (6, 0), (7, 15), (8, 45))]
LAST_LATE = time(8, 30)  # late files land before the last tick of the night


def plan_arrivals(rng: random.Random, fechas: list[str]) -> dict[tuple[str, str], dict]:
    """Ground truth: when each source-day lands (None = never), and whether a broken copy came first."""
    plan = {}
    for fecha in fechas:
        for name, source in load_sources().items():
            start, end = source.window_on(fecha)
            roll = rng.random()
            if roll < 0.03:
                arrival = None
            elif roll < 0.11:  # late: after the window, before 08:30
                latest = datetime.combine(end.date(), LAST_LATE, TZ)
                arrival = end + (latest - end) * rng.uniform(0.05, 1.0)
            else:
                arrival = start + (end - start) * rng.uniform(0.0, 0.95)
            broken = arrival is not None and source.format in ("csv", "fixed") and rng.random() < 0.03
            plan[(name, fecha)] = {"arrival": arrival, "broken": broken}
    start = load_sources()["corresponsales"].window_on(fechas[5])[0]  # at least one broken-then-corrected file
    plan[("corresponsales", fechas[5])] = {"arrival": start + timedelta(minutes=10), "broken": True}
    return plan


def good_arrival(plan, name, fecha):
    p = plan[(name, fecha)]
    if p["arrival"] is None:
        return None
    return p["arrival"] + timedelta(minutes=100) if p["broken"] else p["arrival"]  # re-sent after a tick saw it


def expected_transitions(plan, moments, fechas) -> dict[str, list[str]]:
    """What the alert log must say per source: its failure/recovery sequence at the simulated ticks."""
    out = {}
    for name, source in load_sources().items():
        state, seq = False, []
        for now in moments:
            fecha = last_due(now, source.window[1])
            if fecha < GO_LIVE:
                failing = False
            else:
                arrived = good_arrival(plan, name, fecha) if fecha in fechas else None
                failing = arrived is None or arrived > now
            if failing != state:
                seq.append("failure" if failing else "recovery")
                state = failing
        out[f"check regulatorio/{name}:llegada_a_tiempo"] = seq
    return out


def csv_total(data: bytes, column: str, where=None) -> Decimal:
    rows = csv.DictReader(io.StringIO(data.decode("utf-8")))
    return sum((Decimal(r[column]) for r in rows if where is None or where(r)), Decimal("0.00"))


def test_thirty_nights_deliver_by_six_reconcile_and_alert_once(settings):
    rng = random.Random(20261001)
    first = date.fromisoformat(GO_LIVE)
    fechas = [(first + timedelta(days=i)).isoformat() for i in range(DAYS)]
    plan = plan_arrivals(rng, fechas)
    with dg.instance_for_test() as instance:
        night = Night(settings, instance)
        for (name, fecha), p in plan.items():
            if p["arrival"] is None:
                continue
            if p["broken"]:
                night.drop(name, fecha, p["arrival"], gen.malformed(gen.source_bytes(name, fecha, night.seed, night.scale)))
            night.drop(name, fecha, good_arrival(plan, name, fecha))
        moments = [datetime.combine(date.fromisoformat(f) + timedelta(days=1), t, TZ) for f in fechas for t in TICKS]
        for now in moments:
            night.tick(now)

        for fecha in fechas:
            manifests = night.manifests(fecha)
            assert manifests, f"no report delivered for {fecha}"
            first_version = manifests[0]
            delivered_at = datetime.fromisoformat(first_version["entregado_en"])
            assert delivered_at <= at(fecha, DEADLINE) and first_version["a_tiempo"], fecha
            missing_then = sorted(n for n, s in load_sources().items() if s.required
                                  and (good_arrival(plan, n, fecha) is None or good_arrival(plan, n, fecha) > delivered_at))
            assert first_version["parcial"] == bool(missing_then), (fecha, missing_then)
            assert first_version["faltantes_requeridas"] == missing_then
            if missing_then:  # partial only at the cut-off, flagged with the exceptions list
                assert delivered_at == at(fecha, CUTOFF)
                assert {e["fuente"] for e in first_version["excepciones"]} >= set(missing_then)
                arrivals = [good_arrival(plan, n, fecha) for n in missing_then]
                if all(a is not None for a in arrivals):  # every partial is followed by a complete version
                    complete = [m for m in manifests[1:] if not m["parcial"]]
                    assert complete, f"{fecha}: partial v1 never completed although {missing_then} arrived"
                    assert datetime.fromisoformat(complete[0]["entregado_en"]) >= max(arrivals)
                else:
                    assert all(m["parcial"] for m in manifests)
            assert [m["version"] for m in manifests] == list(range(1, len(manifests) + 1))
            for m in manifests:  # versions kept intact: every file still hashes to its manifest
                for file, digest in m["archivos_sha256"].items():
                    data = night.outbox.read_bytes(f"reporte_regulatorio/{fecha}/v{m['version']}/{file}")
                    assert hashlib.sha256(data).hexdigest() == digest
                assert all(Decimal(r["diferencia"]) == 0 for r in m["conciliacion"])
            # reconciliation to the cent, against the generator's own tables (not the pipeline's numbers)
            last = manifests[-1]
            base = f"reporte_regulatorio/{fecha}/v{last['version']}/"
            if last["fuentes"]["core_creditos"]["estado"] == "incluida":
                want = pc.sum(gen.expected_table("core_creditos", fecha, night.seed, night.scale)["saldo"]).as_py()
                assert csv_total(night.outbox.read_bytes(base + "cartera.csv"), "saldo") == want
            if last["fuentes"]["spei"]["estado"] == "incluida":
                t = gen.expected_table("spei", fecha, night.seed, night.scale)
                want = pc.sum(t.filter(pc.equal(t["tipo"], "E"))["monto"]).as_py() or Decimal("0.00")
                assert csv_total(night.outbox.read_bytes(base + "desembolsos.csv"), "monto") == want
            if last["fuentes"]["sucursales_pagos"]["estado"] == "incluida":
                t = gen.expected_table("sucursales_pagos", fecha, night.seed, night.scale, branches=4)
                got = csv_total(night.outbox.read_bytes(base + "pagos_recibidos.csv"), "monto",
                                lambda r: r["origen"] == "sucursales_pagos")
                assert got == pc.sum(t["monto"]).as_py()

        alerts = night.alerts()
        sent: dict[str, list[str]] = {}
        for a in alerts:
            sent.setdefault(a["subject"], []).append(a["kind"])
        expected = expected_transitions(plan, moments, set(fechas))
        for subject, seq in expected.items():
            assert sent.get(subject, []) == seq, subject
        assert sum(len(s) for s in expected.values()) > 10  # the random plan really missed windows
        assert not [s for s in sent if "entregado_a_tiempo" in s], "a report missed 06:00"
        assert set(sent) <= set(expected)
        assert night.rejections, "the broken files were refused"
