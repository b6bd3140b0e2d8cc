"""The ingestion endpoint over real HTTP on loopback: every status the devices can get, and why."""

from __future__ import annotations

import base64
import hashlib
import json
import threading

import httpx
import pytest

from podemos_assets.campo.transform import landing_keys, read_landing
from podemos_assets.ingesta import protocol as p
from podemos_assets.ingesta.app import create_app
from podemos_assets.ingesta.auth import AUTH_FAILED, DeviceSecrets, new_device_secret
from podemos_assets.ingesta.lambda_handler import handle_event
from podemos_assets.ingesta.server import serving
from podemos_assets_tests.campo.helpers import SECRETS, batch_body, events, signed


def post(http, body, **kw):
    return http.post("/v1/batches", content=body, headers=signed(body, **kw))


def test_batch_is_acknowledged_only_once_landed(http, core):
    evs = events(5)
    r = post(http, batch_body(evs))
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["accepted"] * 5
    keys = landing_keys(core.lake)
    # Named by the server, never by the client's batch_id (which once became a file name).
    assert len(keys) == 1 and keys[0].startswith("landing/campo/recibido=") and r.json()["batch_id"] not in keys[0]
    landed = read_landing(core.lake, keys)
    assert sorted(x["event_id"] for x in landed) == sorted(e["event_id"] for e in evs)
    assert {x["batch_id"] for x in landed} == {r.json()["batch_id"]}
    assert core.store.counts() == {"eventos": 5, "confirmados": 5}


def test_same_event_twice_is_duplicate_and_landed_once(http, core):
    evs = events(3)
    assert post(http, batch_body(evs)).status_code == 200
    r = post(http, batch_body(evs))  # the device lost the first acknowledgement
    assert r.status_code == 200
    assert [x["status"] for x in r.json()["results"]] == ["duplicate"] * 3
    assert len(read_landing(core.lake, landing_keys(core.lake))) == 3


def test_same_id_different_payload_is_a_conflict_never_merged(http, core):
    [ev] = events(1)
    assert post(http, batch_body([ev])).status_code == 200
    changed = {**ev, "payload": {**ev["payload"], "monto": "1.00"}}
    r = post(http, batch_body([changed]))
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "conflict"
    statuses = sorted(x["status"] for x in read_landing(core.lake, landing_keys(core.lake)))
    assert statuses == ["accepted", "conflict"]


def test_malformed_events_get_reasons_and_valid_ones_are_accepted(http, core):
    good = events(2)
    bad_amount = {**events(1, seed=1)[0]}
    bad_amount["payload"] = {**bad_amount["payload"], "monto": 12.5}
    outside = events(1, kind="geolocalizacion", seed=2)[0]
    outside["payload"] = {**outside["payload"], "lat": 40.7, "lon": -74.0}
    r = post(http, batch_body([good[0], bad_amount, {"type": "pago"}, outside, good[1]]))
    assert r.status_code == 400
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["accepted", "rejected", "rejected", "rejected", "accepted"]
    assert results[1]["reason"] == "payload.monto: Expected `str`, got `float`"
    assert "event_id" in results[2]["reason"]
    assert "payload.lat" in results[3]["reason"]
    landed = read_landing(core.lake, landing_keys(core.lake))
    assert sum(x["status"] == "accepted" for x in landed) == 2 and sum(x["status"] == "rejected" for x in landed) == 3


def test_too_many_events_is_413_naming_the_limit(http):
    r = post(http, batch_body(events(p.MAX_EVENTS + 1)))
    assert r.status_code == 413 and "limit is 500 events" in r.json()["error"]


def test_too_many_bytes_is_413_naming_the_limit(http):
    body = batch_body(events(1), padding="x" * p.MAX_BODY_BYTES)
    r = post(http, body)
    assert r.status_code == 413 and "1048576 bytes (1 MiB)" in r.json()["error"]


def test_unknown_device_bad_signature_and_stale_clock_are_one_and_the_same_401(http, core):
    """One text for every authentication failure: an unknown device is not told apart (enumeration)."""
    unknown = post(http, batch_body(events(1), device="dev-x"), device="dev-x")
    body = batch_body(events(1))
    bad = post(http, body, secret="f" * 64)
    stale = post(http, body, ts=1_000_000.0)
    assert {unknown.status_code, bad.status_code, stale.status_code} == {401}
    assert unknown.json() == bad.json() == stale.json() == {"error": AUTH_FAILED}
    assert all(p.HEADER_SERVER_TIME in r.headers for r in (unknown, bad, stale))  # so a phone can re-sign
    assert landing_keys(core.lake) == []


def test_replayed_signed_request_is_refused(http, core):
    body = batch_body(events(2))
    headers = signed(body)
    assert http.post("/v1/batches", content=body, headers=headers).status_code == 200
    r = http.post("/v1/batches", content=body, headers=headers)
    assert r.status_code == 401 and r.json()["error"] == AUTH_FAILED
    assert len(read_landing(core.lake, landing_keys(core.lake))) == 2


def test_photo_is_stored_by_sha256_and_a_wrong_sha256_is_refused(http, core):
    photo = b"\xff\xd8\xff" + bytes(range(256)) * 4
    sha = hashlib.sha256(photo).hexdigest()
    wrong = hashlib.sha256(b"other").hexdigest()
    path = f"/v1/fotos/{wrong}"
    r = http.put(path, content=photo, headers=signed(photo, path=path, method="PUT"))
    assert r.status_code == 400 and "sha256 mismatch" in r.json()["error"]
    assert not core.lake.exists(p.photo_key(wrong))
    path = f"/v1/fotos/{sha}"
    r = http.put(path, content=photo, headers=signed(photo, path=path, method="PUT"))
    assert r.status_code == 201 and core.lake.read_bytes(p.photo_key(sha)) == photo
    r = http.put(path, content=photo, headers=signed(photo, path=path, method="PUT"))
    assert r.status_code == 200  # content-addressed: a second upload changes nothing


def test_overload_is_429_with_retry_after(core):
    release = threading.Event()
    entered = threading.Event()

    class SlowCore:
        def handle(self, *args):
            entered.set()
            release.wait(10)
            return core.handle(*args)

    with serving(create_app(SlowCore(), max_in_flight=1, retry_after_s=3)) as url:
        body = batch_body(events(1))
        first = threading.Thread(target=lambda: httpx.post(f"{url}/v1/batches", content=body, headers=signed(body)))
        first.start()
        assert entered.wait(10)
        second = batch_body(events(1, seed=5))
        r = httpx.post(f"{url}/v1/batches", content=second, headers=signed(second))
        release.set()
        first.join()
    assert r.status_code == 429 and r.headers["retry-after"] == "3" and "capacity" in r.json()["error"]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_lambda_wrapper_serves_an_api_gateway_event(core, version):
    body = batch_body(events(2))
    headers = signed(body)
    if version == "v1":
        event = {"httpMethod": "POST", "path": "/v1/batches", "headers": headers,
                 "body": base64.b64encode(body).decode(), "isBase64Encoded": True}
    else:
        event = {"version": "2.0", "rawPath": "/v1/batches", "headers": headers, "body": body.decode(),
                 "isBase64Encoded": False, "requestContext": {"http": {"method": "POST"}}}
    out = handle_event(core, event)
    assert out["statusCode"] == 200
    assert [x["status"] for x in json.loads(out["body"])["results"]] == ["accepted", "accepted"]
    assert len(landing_keys(core.lake)) == 1


def test_device_secrets_come_from_the_environment_and_are_never_shown(tmp_path):
    secrets = DeviceSecrets.from_environment(tmp_path, {"PODEMOS_DEVICE_SECRETS": json.dumps(SECRETS)})
    assert secrets.get("dev-a") == SECRETS["dev-a"].encode()
    assert SECRETS["dev-a"] not in repr(secrets) and SECRETS["dev-a"] not in str(secrets)
    f = tmp_path / "s.json"
    strong = new_device_secret()
    f.write_text(json.dumps({"dev-z": strong}))
    assert DeviceSecrets.from_environment(tmp_path, {"PODEMOS_DEVICE_SECRETS_FILE": str(f)}).get("dev-z") == strong.encode()
