"""Monitoring figures of the field ingestion: percentiles, per-day metrics, silent devices and regions."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime

import pyarrow as pa

from podemos_assets.campo.schemas import MetricasCampo
from podemos_assets.contracts import arrow_schema


def percentiles(values: list[float], qs=(0.5, 0.95, 0.99)) -> dict[str, float | None]:
    """Nearest-rank percentiles (deterministic, no interpolation), rounded to the millisecond."""
    ordered = sorted(values)
    out = {}
    for q in qs:
        name = f"p{int(q * 100)}"
        out[name] = round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 3) if ordered else None
    return out


def day_metrics(day: date, eventos: pa.Table, cuarentena: pa.Table) -> pa.Table:
    """One row for the day in total, one per region and one per device."""

    ev = eventos.to_pylist()
    region_of_device = {e["device_id"]: e["region"] for e in ev}
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    quarantine: dict[tuple[str, str], int] = defaultdict(int)
    for e in ev:
        for g in (("total", "todos"), ("region", e["region"] or "sin_region"), ("dispositivo", e["device_id"])):
            groups[g].append(e)
    for q in cuarentena.to_pylist():
        region = region_of_device.get(q["device_id"]) or "sin_region"
        device = q["device_id"] or "desconocido"  # a landing line too broken to name its device
        for g in (("total", "todos"), ("region", region), ("dispositivo", device)):
            quarantine[g] += 1
            groups.setdefault(g, [])
    rows = []
    for (dimension, clave) in sorted(groups, key=lambda g: (["total", "region", "dispositivo"].index(g[0]), g[1])):
        members = groups[(dimension, clave)]
        n, nq = len(members), quarantine[(dimension, clave)]
        lat = percentiles([(e["hora_recepcion"] - e["hora_evento"]).total_seconds() for e in members])
        rows.append({
            "fecha_evento": day, "dimension": dimension, "clave": clave, "eventos": n, "cuarentena": nq,
            "tasa_cuarentena": round(nq / (n + nq), 6) if n + nq else 0.0,
            "latencia_p50_s": lat["p50"], "latencia_p95_s": lat["p95"], "latencia_p99_s": lat["p99"],
            "ultima_recepcion": max((e["hora_recepcion"] for e in members), default=None),
        })
    return pa.Table.from_pylist(rows, schema=arrow_schema(MetricasCampo))


def silent(last_seen: dict[str, datetime], now: datetime, threshold_h: float) -> dict[str, float]:
    """Keys whose last event is older than the threshold, with their silence in hours."""
    hours = {k: (now - t).total_seconds() / 3600 for k, t in last_seen.items()}
    return {k: round(h, 1) for k, h in sorted(hours.items()) if h > threshold_h}
