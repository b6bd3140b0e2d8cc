"""The wire contract: every client-controlled field has a type, a bound and a canonical form; a bad
event gets its own reason while the rest of its batch is stored; no input reaches a 5xx."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podemos_assets.campo.transform import landing_keys, read_landing
from podemos_assets.ingesta import protocol as p
from podemos_assets_tests.campo.helpers import batch_body, events, make_core, signed

SCHEMA = Path(p.__file__).with_name(p.SCHEMA_FILE)


@pytest.mark.parametrize("name", sorted(p.SCHEMAS))
def test_the_published_json_schemas_are_the_ones_the_structs_generate(name):
    assert Path(p.__file__).with_name(name).read_text(encoding="utf-8") == p.schema_text(name), (
        "regenerate them: PODEMOS_GO_LIVE=2026-10-01 python -m podemos_assets.ingesta.protocol --write")


def test_the_published_schemas_state_the_limits():
    schema = json.loads(SCHEMA.read_text())
    assert schema["$defs"]["Batch"]["properties"]["events"]["maxItems"] == p.MAX_EVENTS
    assert schema["$defs"]["Batch"]["additionalProperties"] is False
    photos = json.loads(Path(p.__file__).with_name("contrato_fotos.schema.json").read_text())
    assert photos["$defs"]["PhotoBundle"]["properties"]["photos"]["maxItems"] == p.MAX_PHOTOS_PER_REQUEST
    assert photos["$defs"]["PhotoUpload"]["properties"]["data"]["contentEncoding"] == "base64"
    assert photos["$defs"]["PhotoUpload"]["additionalProperties"] is False


def send(core, body: bytes, **kw):
    return core.handle("POST", "/v1/batches", signed(body, **kw), body)


def stored(core) -> list[dict]:
    return read_landing(core.lake, landing_keys(core.lake))


NOW = datetime.now(UTC).replace(microsecond=0)


def _pago(**payload):
    [ev] = events(1, when=NOW - timedelta(minutes=3), seed=11)
    ev["payload"] = {**ev["payload"], **payload}
    return ev


def _with(**fields):
    [ev] = events(1, when=NOW - timedelta(minutes=3), seed=12)
    return {**ev, **fields}


BAD_EVENTS = {
    "monto float": (_pago(monto=350.0), "payload.monto: Expected `str`, got `float`"),
    "monto with spaces": (_pago(monto=" 350.00 "), "payload.monto: Expected `str` in the contract's canonical form"),
    "monto with underscore": (_pago(monto="1_000.00"), "payload.monto: Expected `str` in the contract's canonical form"),
    "monto in Arabic-Indic digits": (_pago(monto="٣٥٠.٠٠"), "payload.monto: Expected `str` in the contract's canonical form"),
    "monto three decimals": (_pago(monto="1.005"), "payload.monto: Expected `str` in the contract's canonical form"),
    "monto zero": (_pago(monto="0.00"), "payload.monto: must be greater than 0"),
    "monto over the maximum": (_pago(monto="10000000.00"), "payload.monto: Expected `str` of length <= 10"),
    "monto one cent over the ceiling": (_pago(monto="1000000.01"), "payload.monto: must be at most 1000000.00"),
    "cuenta too long": (_pago(cuenta="1" * 65), "payload.cuenta: Expected `str` of length <= 64"),
    # msgspec reads an integer past 64 bits as a number it can only hold as a float: refused, never stored.
    "cuenta an integer over 64 bits": (_pago(cuenta=2**70), "payload.cuenta: Expected `str`, got `float`"),
    "unknown payload field": (_pago(extra=1), "payload: contains a field the contract does not define"),
    "metodo not allowed": (_pago(metodo="CHEQUE"), "payload.metodo: is not one of the values the contract allows"),
    "upper-case event_id": (_with(event_id=str(uuid.uuid4()).upper()), "event_id: Expected `str` in the contract's canonical form"),
    "braced event_id": (_with(event_id="{" + str(uuid.uuid4()) + "}"), "event_id: Expected `str` of length <= 36"),
    "event_id with newline": (_with(event_id=str(uuid.uuid4())[:35] + "\n"), "event_id: Expected `str` in the contract's canonical form"),
    "unknown type": (_with(type="transferencia"), "type: is not one of the values the contract allows"),
    "device_time without offset": (_with(device_time="2026-11-27T10:00:00"), "device_time: Expected `datetime` with a timezone component"),
    "device_time year 1": (_with(device_time="0001-01-01T00:00:00+14:00"), "device_time: must be at most 35 days before sent_at and not after it (same device clock)"),
    "device_time year 9999": (_with(device_time="9999-12-31T23:59:59-12:00"), "device_time: must be at most 35 days before sent_at and not after it (same device clock)"),
    "device_time before go-live": (_with(device_time="2026-09-30T12:00:00-06:00"), "device_time: must be at most 35 days before sent_at and not after it (same device clock)"),
    "not an object": ([1, 2], "body: Expected `object`, got `array`"),
    "nested 300 deep": (_pago(cuenta=json.loads("[" * 300 + "]" * 300)), "payload.cuenta: Expected `str`, got `array`"),
}


@pytest.mark.parametrize("name", sorted(BAD_EVENTS))
def test_a_bad_event_gets_its_reason_and_the_rest_of_the_batch_is_stored(core, name):
    bad, reason = BAD_EVENTS[name]
    good = events(2, when=NOW - timedelta(minutes=2), seed=5)
    r = send(core, batch_body([good[0], bad, good[1]]))
    assert r.status == 400, r.body
    assert [x["status"] for x in r.body["results"]] == ["accepted", "rejected", "accepted"]
    assert r.body["results"][1]["reason"] == reason
    landed = stored(core)
    assert sorted(x["event_id"] for x in landed if x["status"] == "accepted") == sorted(e["event_id"] for e in good)
    [rejected] = [x for x in landed if x["status"] == "rejected"]
    assert rejected["reason"] == reason and json.loads(rejected["raw"]) == bad  # kept exactly as sent


def test_monto_at_the_ceiling_is_accepted_and_stored_exactly(core):
    at_ceiling = _pago(monto="1000000.00")
    r = send(core, batch_body([at_ceiling]))
    assert r.status == 200 and r.body["results"][0]["status"] == "accepted", r.body
    [landed] = [x for x in stored(core) if x["event_id"] == at_ceiling["event_id"]]
    assert landed["status"] == "accepted"


def test_go_live_is_enforced_on_the_corrected_day(core):
    """An event whose corrected day is before go-live lands in no partition: refused with its reason."""
    go_live = datetime.fromisoformat(p.GO_LIVE + "T12:00:00-06:00")
    ev = _with(device_time=(go_live - timedelta(days=1)).isoformat())
    r = send(core, batch_body([ev], sent_at=go_live + timedelta(days=1)), ts=None)
    # Received now, sent "go-live + 1 day": the clock offset is far beyond a week, so the batch itself
    # is refused; a device whose clock is right sees the per-event reason instead.
    assert r.status == 400 and r.body["error"].startswith("batch refused: sent_at")
    assert stored(core) == []


_ID = "5c61a32e-f3cc-4fe3-94b4-bfffb1f2d305"  # fixed: pytest-xdist workers must collect the same test ids


@pytest.mark.parametrize("batch_id", [
    _ID.upper(), "urn:uuid:" + _ID, "{" + _ID + "}", _ID + "\n", "../../etc/passwd", 12345,
])
def test_batch_id_must_be_a_plain_lower_case_uuid(core, batch_id):
    body = json.dumps({**json.loads(batch_body(events(2))), "batch_id": batch_id}).encode()
    r = send(core, body)
    assert r.status == 400 and r.body["error"].startswith("batch refused: batch_id:")
    assert landing_keys(core.lake) == [] and stored(core) == []


@pytest.mark.parametrize("field, value, rule", [
    ("asesor", 17, "Expected `str`, got `int`"),
    ("sucursal", ["suc_001"], "Expected `str`, got `array`"),
    ("region", {"x": 1}, "Expected `str`, got `object`"),
    ("region", "x" * 65, "Expected `str` of length <= 64"),
    ("region", "Chia\npas", "Expected `str` in the contract's canonical form"),
    ("sent_at", "0001-01-01T00:00:00+00:00", "must be within 7 days of the server's clock"),
    ("sent_at", "9999-12-31T23:59:59+00:00", "must be within 7 days of the server's clock"),
    ("sent_at", 1764700000, "Expected `datetime`, got `int`"),
    ("device_id", "dev-b", "must equal the x-device-id header"),
])
def test_batch_fields_are_typed_and_bounded(core, field, value, rule):
    body = json.dumps({**json.loads(batch_body(events(2))), field: value}).encode()
    r = send(core, body)
    assert r.status == 400 and r.body["error"] == f"batch refused: {field}: {rule}"
    assert stored(core) == []


def test_json_nested_beyond_what_the_decoder_can_skip_is_a_400_not_a_500(core):
    deep = b'{"batch_id":"' + str(uuid.uuid4()).encode() + b'","events":[' + b"[" * 50_000 + b"]" * 50_000 + b"]}"
    r = send(core, deep)
    assert r.status == 400 and "nested deeper" in r.body["error"]


def test_upper_and_lower_case_spellings_are_not_two_events(core):
    [ev] = events(1, when=NOW - timedelta(minutes=1))
    assert send(core, batch_body([ev])).body["results"][0]["status"] == "accepted"
    r = send(core, batch_body([{**ev, "event_id": ev["event_id"].upper()}]))
    assert r.body["results"][0]["status"] == "rejected"  # never "accepted" then only quarantined
    assert [x["event_id"] for x in stored(core) if x["status"] == "accepted"] == [ev["event_id"]]


def test_integers_over_64_bits_never_become_floats(core):
    foto = events(1, kind="foto", when=NOW - timedelta(minutes=1))[0]
    foto["payload"]["bytes"] = 2**64 + 1
    r = send(core, batch_body([foto]))
    assert r.body["results"][0] == {"event_id": foto["event_id"], "status": "rejected",
                                    "reason": f"payload.bytes: Expected `int` <= {p.MAX_PHOTO_BYTES}"}


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=st.dictionaries(st.sampled_from(["batch_id", "device_id", "sent_at", "events", "asesor", "x"]), _json,
                                max_size=3),
       event=st.dictionaries(st.sampled_from(["event_id", "type", "device_time", "payload", "y"]), _json, max_size=3),
       junk=st.binary(max_size=64))
def test_fuzzed_bodies_never_get_a_5xx(tmp_path_factory, mutation, event, junk):
    core = make_core(tmp_path_factory.mktemp("fuzz"))
    [ev] = events(1)
    base = json.loads(batch_body([{**ev, **event}, ev]))
    for body in (json.dumps({**base, **mutation}).encode(), junk, json.dumps(mutation).encode()):
        r = send(core, body)
        assert r.status < 500, r.body
        if r.status == 200:
            assert all(x["status"] in ("accepted", "duplicate") for x in r.body["results"])
