"""No PII in any reason, response or log: every error path is fed the demo's kind of personal data
(a CURP, a phone number, exact GPS) and its whole output is scanned for it."""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from podemos_assets.campo import eventos_campo
from podemos_assets.campo.transform import landing_keys, read_landing
from podemos_assets.contracts import lake as paths
from podemos_assets.demo.branches import make_curp
from podemos_assets.ingesta.lambda_handler import handle_event
from podemos_assets_tests.campo.helpers import batch_body, events, make_core, signed

CURP = make_curp("MARIA", "GOMEZ", "LOPEZ", date(1988, 4, 2), "Chiapas", random.Random(1))
PHONE = "9611234567"
GPS = "16.7535541"
PII = (CURP, PHONE, GPS)


def _ev(seed: int, kind: str = "pago", **changes):
    [ev] = events(1, kind=kind, seed=seed, when=datetime.now(UTC) - timedelta(minutes=2))
    payload = {**ev["payload"], **changes.pop("payload", {})}
    return {**ev, **changes, "payload": payload}


def bad_events() -> list:
    return [
        _ev(1, payload={"metodo": CURP}),  # enum: msgspec quotes the value
        _ev(2, type=CURP),  # tag: quoted too
        _ev(3, event_id=CURP),
        _ev(4, payload={PHONE: 1}),  # an unknown field named by a phone number
        _ev(5, payload={"monto": PHONE}),
        _ev(6, payload={"cuenta": CURP + "\n"}),
        _ev(7, kind="geolocalizacion", payload={"lat": float(GPS) + 30}),
        _ev(8, kind="geolocalizacion", payload={"lat": GPS}),  # exact GPS as a string
        _ev(9, device_time=PHONE),
        _ev(10, kind="visita", payload={"resultado": CURP, "cliente": PHONE}),
        {"event_id": CURP, "nested": [[[PHONE]]]},
        CURP,
    ]


def test_every_error_path_is_free_of_pii(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    core = make_core(tmp_path)
    outputs: list[str] = []

    def call(body: bytes, headers=None, **kw):
        r = core.handle("POST", "/v1/batches", headers or signed(body, **kw), body)
        outputs.append(json.dumps(r.body, ensure_ascii=False) + json.dumps(r.headers))
        return r

    r = call(batch_body(bad_events()))
    assert r.status == 400 and r.body["counts"]["rejected"] == len(bad_events())
    base = json.loads(batch_body(events(1)))
    for field, value in [("region", CURP * 4), ("asesor", 9611234567), ("batch_id", PHONE), ("sent_at", PHONE),
                         ("device_id", CURP), (CURP, PHONE)]:
        assert call(json.dumps({**base, field: value}).encode()).status in (400, 401)
    assert call(b'{"curp": "' + CURP.encode() + b'", oops').status == 400  # not JSON
    assert call(json.dumps(base).encode(), device=CURP).status == 401  # an unknown "device" named by a CURP
    body = json.dumps(base).encode()
    assert call(body, headers={**signed(body), "x-timestamp": PHONE}).status == 401
    assert call(body, headers={**signed(body), "x-signature": CURP}).status == 401
    lam = handle_event(core, {"httpMethod": "POST", "path": "/v1/batches", "headers": signed(body),
                              "body": CURP, "isBase64Encoded": True})
    outputs.append(json.dumps(lam))

    # Landing lines planted with PII in places the reader must refuse.
    day = datetime.now(UTC).astimezone().date().isoformat()
    mx_day = read_landing(core.lake, landing_keys(core.lake))[0]["_day"].isoformat()
    core.lake.write_bytes(f"landing/campo/recibido={mx_day}/plantado.ndjson", b"\n".join([
        json.dumps({"status": "accepted", "curp": CURP}).encode(),
        json.dumps({**json.loads(core.lake.read_bytes(landing_keys(core.lake)[0]).splitlines()[0]),
                    "region": PHONE * 10}).encode(),
        b"not json " + CURP.encode(),
    ]) + b"\n")
    landed = read_landing(core.lake, landing_keys(core.lake))
    outputs += [r.get("reason") or "" for r in landed]
    dg.materialize([eventos_campo], partition_key=mx_day, resources={"lake": core.lake}, raise_on_error=True)
    q = core.lake.read_parquet(paths.field_quarantine_day(mx_day)).to_pylist()
    assert len(q) >= len(bad_events()) + 3 and day
    outputs += [row["motivo"] for row in q]
    outputs += [rec.getMessage() for rec in caplog.records]

    text = "\n".join(outputs)
    for value in PII:
        assert value not in text, f"{value} leaked: " + next(o for o in outputs if value in o)[:300]
    # The quarantine's PII column still holds the events as received, for the compliance team.
    assert any(CURP in row["contenido"] for row in q)
