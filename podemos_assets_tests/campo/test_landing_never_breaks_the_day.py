"""The curated build never fails on landed data: whatever sits in the landing zone (here written
directly, bypassing the endpoint, as an older server, a bug or a person could) that cannot become a row
becomes a quarantine row with a reason naming the field and the rule, and the day builds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from podemos_assets.campo import eventos_campo, metricas_campo
from podemos_assets.contracts import lake as paths
from podemos_assets_tests.campo.helpers import batch_body, events, make_core, signed

MX = ZoneInfo("America/Mexico_City")


def test_every_bad_landing_line_is_quarantined_with_its_reason_and_the_day_builds(tmp_path):
    core = make_core(tmp_path)
    now = datetime.now(UTC)
    good = events(3, when=now - timedelta(minutes=10))
    body = batch_body(good)
    assert core.handle("POST", "/v1/batches", signed(body), body).status == 200
    day = now.astimezone(MX).date().isoformat()
    [key] = core.lake.list(f"landing/campo/recibido={day}/")
    template = json.loads(core.lake.read_bytes(key).splitlines()[0])
    ev = template["event"]

    def line(**changes):
        rec = {**template, **changes}
        return json.dumps(rec).encode()

    def with_event(**changes):
        return line(event={**ev, **changes})

    def with_payload(**changes):
        return line(event={**ev, "payload": {**ev["payload"], **changes}})

    planted = {
        "asesor: Expected `str`, got `int`": line(asesor=17),
        "sucursal: Expected `str`, got `array`": line(sucursal=["suc_001"]),
        "region: Expected `str`, got `object`": line(region={"nombre": "Chiapas"}),
        "device_time: must be at most 35 days before sent_at and not after it": with_event(
            device_time="0001-01-01T00:00:00+14:00"),
        "device_time: must be at most 35 days before sent_at": with_event(device_time="9999-12-31T23:59:59-12:00"),
        "sent_at: must be within 7 days of the server's clock": line(sent_at="0001-01-01T00:00:00+14:00"),
        "event.payload.monto: Expected `str` in the contract's canonical form": with_payload(monto=" 350.00 "),
        "event.payload.monto: Expected `str`, got `float`": with_payload(monto=350.0),
        "event.event_id: Expected `str` in the contract's canonical form": with_event(event_id=ev["event_id"].upper()),
        "event_id: must equal event.event_id": line(event_id="0" * 8 + ev["event_id"][8:]),
        "event.payload.cuenta: Expected `str`, got `array`": with_payload(cuenta=json.loads("[" * 300 + "]" * 300)),
        # Typed all the way down, the reader stops at the first level that is not what the contract says.
        "event: Expected `object | null`, got `array`": b'{"event": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        "is not valid JSON": b'{"status": "accepted", "batch_id": ',
        "body: Expected `object`, got `array`": b"[1, 2, 3]",
        "status: is not one of the values the contract allows": line(status="aceptado"),
        "event: required when status is accepted": line(event=None),
        "contains a field the contract does not define": line(curp="XXXX000000HDFXXX00"),
        "received_at: Expected `datetime` with a timezone component": line(received_at="2026-11-27T10:00:00"),
        "device_time: the corrected event day is before go-live": with_event(
            device_time=(datetime.fromisoformat(template["sent_at"]) - timedelta(days=30)).isoformat()
        ) if (now - timedelta(days=30)).astimezone(MX).date().isoformat() < "2026-10-01" else None,
    }
    planted = {k: v for k, v in planted.items() if v is not None}
    core.lake.write_bytes(f"landing/campo/recibido={day}/plantado.ndjson",
                          b"\n".join(planted.values()) + b"\n\xff\xfe not utf-8 \n")

    result = dg.materialize([eventos_campo, metricas_campo], partition_key=day, resources={"lake": core.lake},
                            raise_on_error=True)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())  # the stored files keep their schema

    ids = sorted(core.lake.read_parquet(paths.field_table_day("eventos", day))["event_id"].to_pylist())
    assert ids == sorted(e["event_id"] for e in good)  # the good events are there, once
    q = core.lake.read_parquet(paths.field_quarantine_day(day)).to_pylist()
    reasons = [r["motivo"] for r in q if r["estado"] == "invalid"]
    for expected in planted:
        assert sum(expected in r for r in reasons) >= 1, (expected, reasons)
    assert len(reasons) == len(planted) + 1  # + the line that is not UTF-8
    assert all(r["motivo"].startswith("landing file plantado.ndjson line ") for r in q if r["estado"] == "invalid")
