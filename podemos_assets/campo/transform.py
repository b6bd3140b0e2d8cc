"""Landing zone -> curated field-event tables for one event day: times, dedup, per-type rows, quarantine.

Pure functions over the landing records (plus lake reads), shared by the asset, the sensor (which
partitions a batch touches) and the tests. Output rows are sorted, so a re-run writes the same bytes.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec
import pandas as pd
import pandera.errors
import pyarrow as pa
import pyarrow.compute as pc

from podemos_assets.campo.schemas import TABLES, TYPE_TABLE, CuarentenaCampo
from podemos_assets.contracts import arrow_schema
from podemos_assets.contracts import lake as paths
from podemos_assets.ingesta import protocol as p
from podemos_assets.ingesta.landing import RECORD_DECODER
from podemos_assets.resources.lake import LakeResource

MX = ZoneInfo("America/Mexico_City")
SKEW_TOLERANCE_S = 60.0  # a clock within a minute of the server's is trusted (network latency is not skew)
LATE_RECEIPT_DAYS = 1  # an event of day D may be received from D-1 (a clock ahead of true time) onwards


_LANDING_KEY = re.compile(re.escape(paths.FIELD_LANDING) + r"recibido=(\d{4}-\d{2}-\d{2})/[A-Za-z0-9._-]+\.ndjson")




def received_day(key: str) -> date:
    """The `recibido=YYYY-MM-DD` day of a landing key."""
    part = posixpath.basename(posixpath.dirname(key))
    return date.fromisoformat(part.split("=", 1)[1])


def landing_keys(lake: LakeResource, since: date | None = None) -> list[str]:
    keys = []
    for k in lake.list(paths.FIELD_LANDING):
        m = _LANDING_KEY.fullmatch(k)
        if not m:
            continue  # photos, and names the server never writes
        try:
            day = date.fromisoformat(m.group(1))
        except ValueError:
            continue
        if since is None or day >= since:
            keys.append(k)
    return keys


def read_landing(lake: LakeResource, keys: list[str]) -> list[dict]:
    """Every line of the files as a record; a line that cannot become a row becomes an `invalid`
    record (quarantined on its receipt day with the reason) instead of failing the build."""
    records = []
    for key in keys:
        day = received_day(key)
        for n, line in enumerate(lake.read_bytes(key).split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                records.append(parse_record(line))
            except p.EventRejected as exc:
                records.append(_unreadable(key, n, line, str(exc), day))
    return records


def parse_record(line: bytes) -> dict:
    """One landing line, re-checked against the wire contract (landing may hold anything: a planted
    file, a line written by an older server), as the dict build_day works on."""
    try:
        rec = RECORD_DECODER.decode(line)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise p.EventRejected(p.reason(exc, prefix="")) from None
    p.check_batch_times(rec.sent_at, rec.received_at)
    try:
        received, sent = rec.received_at, rec.sent_at
        skew = (sent - received).total_seconds()
    except OverflowError:
        raise p.EventRejected("sent_at: outside the accepted window") from None
    skew = round(skew, 3) if abs(skew) > SKEW_TOLERANCE_S else 0.0
    out = {"status": rec.status, "batch_id": rec.batch_id, "device_id": rec.device_id,
           "asesor": rec.asesor or None, "sucursal": rec.sucursal or None, "region": rec.region or None,
           "event_id": rec.event_id, "reason": rec.reason, "raw": rec.raw, "_received": received, "_skew": skew,
           "_device": None, "_corrected": None}
    if rec.status == "rejected":
        out["_day"] = received.astimezone(MX).date()
        return out
    ev = rec.event
    if ev is None:
        raise p.EventRejected(f"event: required when status is {rec.status}")
    if rec.event_id != ev.event_id:
        raise p.EventRejected("event_id: must equal event.event_id")
    p.check_event(ev, sent, received)
    ev_bytes = p.event_bytes(ev)
    corrected = p.corrected_time(ev.device_time, sent, received)
    out.update(type=_TAG[type(ev)], device_time=ev.device_time,
               payload=msgspec.to_builtins(ev.payload), payload_sha256=p.payload_hash(rec.device_id, ev_bytes),
               contenido=ev_bytes.decode(), _device=ev.device_time, _corrected=corrected,
               _day=corrected.astimezone(MX).date())
    return out


_TAG = {p.EventoPago: "pago", p.EventoGeolocalizacion: "geolocalizacion", p.EventoFoto: "foto",
        p.EventoVisita: "visita"}


def _unreadable(key: str, n: int, line: bytes, why: str, day: date) -> dict:
    return {"status": "invalid", "batch_id": None, "device_id": None, "event_id": None,
            "reason": f"landing file {posixpath.basename(key)} line {n}: {why}",
            "raw": line.decode("utf-8", "replace"), "_received": datetime.combine(day, time(12), MX),
            "_skew": 0.0, "_device": None, "_corrected": None, "_day": day}


def touched_days(records: list[dict]) -> set[date]:
    return {r["_day"] for r in records}


@dataclass
class DayResult:
    tables: dict[str, pa.Table]
    quarantine: pa.Table
    stats: dict = field(default_factory=dict)


def _base_row(r: dict) -> dict:
    return {
        "event_id": r["event_id"], "device_id": r["device_id"], "asesor": r.get("asesor") or None,
        "sucursal": r.get("sucursal") or None, "region": r.get("region") or None,
        "hora_dispositivo": r["_device"], "hora_recepcion": r["_received"], "desfase_reloj_s": r["_skew"],
        "hora_evento": r["_corrected"], "fecha_evento": r["_day"], "lote_id": r["batch_id"],
    }


def _typed_row(r: dict) -> dict:
    pl = r["payload"]
    if r["type"] == "pago":
        return {"cuenta": str(pl["cuenta"]), "monto": Decimal(pl["monto"]), "metodo": pl["metodo"]}
    if r["type"] == "geolocalizacion":  # exact GPS is PII: only the coarsened value is curated
        return {"lat_aprox": round(float(pl["lat"]), 2), "lon_aprox": round(float(pl["lon"]), 2),
                "precision_m": float(pl["precision_m"])}
    if r["type"] == "foto":
        return {k: pl[k] for k in ("sha256", "bytes", "mime", "object_key")}
    return {"grupo": str(pl["grupo"]) if pl.get("grupo") is not None else None,
            "cliente": str(pl["cliente"]) if pl.get("cliente") is not None else None, "resultado": pl["resultado"]}


def _quarantine_row(r: dict, estado: str, motivo: str) -> dict:
    content = r.get("raw") if r.get("raw") is not None else r.get("contenido", "")
    return {"event_id": r.get("event_id"), "device_id": r["device_id"], "lote_id": r["batch_id"], "estado": estado,
            "motivo": motivo, "hora_recepcion": r["_received"], "fecha_evento": r["_day"], "contenido": content}


def _first(records: list[dict]) -> dict:
    return min(records, key=lambda r: (r["_received"], r["batch_id"]))


def build_day(records: list[dict], day: date) -> DayResult:
    """The curated rows and quarantine of event day `day` from all landing records that may touch it."""
    by_id: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        if r["status"] == "accepted":
            by_id[r["event_id"]].append(r)
    kept: list[dict] = []
    quarantined: list[dict] = []
    redeliveries = 0
    for group in by_id.values():
        first = _first(group)
        if first["_day"] == day:
            kept.append(first)
        for other in group:
            if other is first or other["_day"] != day:
                continue
            if other["payload_sha256"] == first["payload_sha256"]:
                redeliveries += 1  # the same event landed twice (concurrent retries): stored once
            else:
                quarantined.append(_quarantine_row(other, "conflict", "same event_id accepted twice with "
                                                   "different payloads; the first is kept, this one is not merged"))
    for r in records:
        if r["_day"] != day:
            continue
        if r["status"] == "conflict":
            quarantined.append(_quarantine_row(r, "conflict", f"event_id {r['event_id']} was already received "
                                               "with a different payload; fix the app and send a new event_id"))
        elif r["status"] == "rejected":
            quarantined.append(_quarantine_row(r, "rejected", r.get("reason") or "rejected at ingestion"))
        elif r["status"] == "invalid":  # in the landing zone but not a row: kept here, the day still builds
            quarantined.append(_quarantine_row(r, "invalid", r["reason"]))

    tables: dict[str, pa.Table] = {}
    rows_by_table: dict[str, list[dict]] = defaultdict(list)
    for r in sorted(kept, key=lambda r: (r["_corrected"], r["event_id"])):
        base = _base_row(r)
        rows_by_table["eventos"].append({**base, "tipo": r["type"]})
        rows_by_table[TYPE_TABLE[r["type"]]].append({**base, **_typed_row(r)})
    invalid_ids: set[str] = set()
    for name, model in TABLES.items():
        table = pa.Table.from_pylist(rows_by_table[name], schema=arrow_schema(model))
        table, bad = validate(model, table)
        for event_id, reason in bad:
            invalid_ids.add(event_id)
            src = next(r for r in kept if r["event_id"] == event_id)
            quarantined.append(_quarantine_row(src, "invalid", f"{name}: {reason}"))
        tables[name] = table
    if invalid_ids:  # an event invalid in its typed table leaves the event index too: one place only
        ev = tables["eventos"]
        tables["eventos"] = ev.filter(pc.invert(pc.is_in(ev["event_id"], pa.array(sorted(invalid_ids)))))
    seen, unique_q = set(), []
    for q in sorted(quarantined, key=lambda q: (q["hora_recepcion"], q["lote_id"] or "", q["event_id"] or "", q["motivo"])):
        key = (q["estado"], q["event_id"], q["contenido"])
        if key not in seen:  # the same refused event re-sent after a lost ack is one quarantine row
            seen.add(key)
            unique_q.append(q)
    quarantine = pa.Table.from_pylist(unique_q, schema=arrow_schema(CuarentenaCampo))
    stats = {"landing_records": len(records), "events": tables["eventos"].num_rows,
             "quarantined": quarantine.num_rows, "redeliveries_collapsed": redeliveries}
    return DayResult(tables, quarantine, stats)


def validate(model, table: pa.Table) -> tuple[pa.Table, list[tuple[str, str]]]:
    """Validate with pandera; rows failing a check are split off with the check as the reason."""
    if table.num_rows == 0:
        return table, []
    df = table.to_pandas(types_mapper=pd.ArrowDtype)
    try:
        model.validate(df, lazy=True)
        return table, []
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        rows = cases[cases["index"].notna()]
        bad: dict[int, str] = {}
        if len(rows) != len(cases):  # a column-level failure: no row can be trusted, none is dropped
            c = cases[cases["index"].isna()].iloc[0]
            bad = {i: f"{c['column']} failed {c['check']}" for i in range(table.num_rows)}
        for _, c in rows.iterrows():  # the check, never the value (it may be PII)
            bad.setdefault(int(c["index"]), f"{c['column']} failed {c['check']}")
        mask = pa.array([i not in bad for i in range(table.num_rows)])
        return table.filter(mask), [(df["event_id"].iloc[i], reason) for i, reason in sorted(bad.items())]
