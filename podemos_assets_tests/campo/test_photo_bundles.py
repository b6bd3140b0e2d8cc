"""POST /v1/fotos: several photos in one signed request, over real HTTP on loopback, and the SDK that sends
them. Each photo is checked and stored on its own, as PUT /v1/fotos/{sha256} stores one."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
import threading

import httpx
import pytest

from podemos_assets.ingesta import protocol as p
from podemos_assets.ingesta.app import create_app
from podemos_assets.ingesta.auth import AUTH_FAILED
from podemos_assets.ingesta.sdk import PHOTO_BUNDLE_BYTES, DeviceClient, Outbox, SyncError
from podemos_assets.ingesta.server import serving
from podemos_assets_tests.campo.helpers import SECRETS, bundle, photo, sha, signed
from podemos_assets_tests.campo.test_pii_in_errors import CURP, PII


def post(http, body: bytes, headers=None) -> httpx.Response:
    return http.post("/v1/fotos", content=body, headers=headers or signed(body, path="/v1/fotos"))


def stored_photos(core) -> dict[str, bytes]:
    folder = core.lake._full("landing/campo/fotos")
    if not os.path.isdir(folder):
        return {}
    return {name: open(os.path.join(folder, name), "rb").read() for name in os.listdir(folder)}


def test_photos_sent_together_are_each_stored_once_under_their_sha256(http, core):
    a, b, c = photo(1), photo(2), photo(3, size=40_000)
    assert post(http, bundle(a)).status_code == 200  # a is already there
    r = post(http, bundle(a, b, c, b))
    assert r.status_code == 200, r.text
    assert [(x["sha256"], x["status"]) for x in r.json()["results"]] == [
        (sha(a), "existing"), (sha(b), "stored"), (sha(c), "stored"), (sha(b), "existing")]
    assert {x["object_key"] for x in r.json()["results"]} == {p.photo_key(sha(x)) for x in (a, b, c)}
    assert stored_photos(core) == {sha(a): a, sha(b): b, sha(c): c}  # the exact bytes, no temp files left
    for name in stored_photos(core):
        mode = os.stat(core.lake._full(p.photo_key(name))).st_mode
        assert stat.S_IMODE(mode) == 0o600
    # the same photos again, in a new request: nothing changes
    again = post(http, bundle(c, b))
    assert [x["status"] for x in again.json()["results"]] == ["existing", "existing"]
    assert stored_photos(core) == {sha(a): a, sha(b): b, sha(c): c}


def test_a_photo_whose_bytes_do_not_match_its_sha256_is_rejected_and_the_others_are_stored(http, core):
    good, damaged = photo(1), photo(2)
    body = json.loads(bundle(good, damaged))
    body["photos"][1]["data"] = base64.b64encode(damaged[:-1]).decode()  # cut short on the phone
    r = post(http, json.dumps(body).encode())
    assert r.status_code == 400
    results = r.json()["results"]
    assert results[0]["status"] == "stored" and results[1]["status"] == "rejected"
    assert results[1]["reason"].startswith("photos[1].data: hashes to ") and "upload it again" in results[1]["reason"]
    assert "1 photo(s) rejected" in r.json()["error"]
    assert stored_photos(core) == {sha(good): good}


@pytest.mark.parametrize("body, says", [
    (b"not json", "body: is not valid JSON"),
    (json.dumps({"photos": []}).encode(), "photos: Expected `array` of length >= 1"),
    (bundle(*[photo(i) for i in range(p.MAX_PHOTOS_PER_REQUEST + 1)]),
     f"photos: Expected `array` of length <= {p.MAX_PHOTOS_PER_REQUEST}"),
    (json.dumps({"photos": [{"sha256": sha(b"x"), "data": "not base64!"}]}).encode(), "photos[0].data: Invalid base64"),
    (json.dumps({"photos": [{"sha256": sha(b"x").upper(), "data": "eA=="}]}).encode(),
     "photos[0].sha256: Expected `str`"),
    (json.dumps({"photos": [{"sha256": sha(b"x"), "data": "eA==", CURP: 1}]}).encode(),
     "photos[0]: contains a field the contract does not define"),
    (bundle(photo(1), extra=CURP), "body: contains a field the contract does not define"),
    # the typed decoder stops at the first value of the wrong type: depth never reaches a recursion limit
    (b'{"photos": ' + b"[" * 5000 + b"]" * 5000 + b"}", "photos[0]: Expected `object`, got `array`"),
    (json.dumps({"photos": [{"sha256": CURP, "data": "eA=="}]}).encode(), "photos[0].sha256"),
], ids=["not-json", "empty", "too-many", "bad-base64", "upper-case-sha", "unknown-field", "unknown-top-field",
        "deep", "pii-in-sha"])
def test_a_malformed_request_stores_nothing_and_names_the_field(http, core, body, says):
    r = post(http, body)
    assert r.status_code == 400, r.text
    assert says in r.json()["error"] and "nothing was stored" in r.json()["error"]
    assert not any(value in r.text for value in PII)
    assert stored_photos(core) == {}


def test_a_request_over_the_photo_limit_is_413_before_its_body_is_read(http, core):
    big = photo(1, size=p.MAX_PHOTO_BYTES)  # base64 alone is 4/3 of the limit
    r = post(http, bundle(big))
    assert r.status_code == 413 and str(p.MAX_PHOTO_BYTES) in r.json()["error"]
    assert stored_photos(core) == {}


def test_a_replayed_request_is_refused_and_an_unsigned_one_stores_nothing(http, core):
    body = bundle(photo(1))
    headers = signed(body, path="/v1/fotos")
    assert post(http, body, headers).status_code == 200
    replay = post(http, body, headers)
    assert replay.status_code == 401 and replay.json() == {"error": AUTH_FAILED}
    other = bundle(photo(2))
    forged = post(http, other, {**signed(other, path="/v1/fotos"), "x-signature": "0" * 64})
    assert forged.status_code == 401 and forged.json() == {"error": AUTH_FAILED}
    signed_for_put = post(http, other, signed(other, path=f"/v1/fotos/{sha(photo(2))}", method="PUT"))
    assert signed_for_put.status_code == 401  # the signature covers method and path
    assert set(stored_photos(core)) == {sha(photo(1))}


def test_two_requests_racing_with_the_same_photos_store_each_photo_once_with_its_bytes(core):
    photos = [photo(i, size=20_000) for i in range(8)]
    answers = []
    with serving(create_app(core)) as url:
        def send(device: str) -> None:
            body = bundle(*photos)
            with httpx.Client(base_url=url, timeout=30) as client:
                r = client.post("/v1/fotos", content=body, headers=signed(body, device=device, path="/v1/fotos"))
                answers.append((r.status_code, [x["status"] for x in r.json()["results"]]))

        threads = [threading.Thread(target=send, args=(d,)) for d in ("dev-a", "dev-b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [a[0] for a in answers] == [200, 200]
    # each photo was created by exactly one of the two requests; the other found it there
    for i in range(len(photos)):
        assert sorted(a[1][i] for a in answers) == ["existing", "stored"]
    assert stored_photos(core) == {sha(x): x for x in photos}


def _outbox_with(tmp_path, photos: list[bytes]) -> Outbox:
    outbox = Outbox(tmp_path / "outbox.sqlite", durable=False)
    for x in photos:
        outbox.conn.execute("INSERT INTO fotos(sha256, data) VALUES (?, ?)", (sha(x), x))
    return outbox


def test_the_sdk_sends_pending_photos_together_and_a_large_one_alone(tmp_path, core):
    small = [photo(i) for i in range(p.MAX_PHOTOS_PER_REQUEST + 8)]
    large = photo(999, size=PHOTO_BUNDLE_BYTES + 64)
    outbox = _outbox_with(tmp_path, [*small, large])
    client = DeviceClient("dev-a", SECRETS["dev-a"].encode(), outbox, None, photos_per_request=100)
    requests = client.photo_requests()  # asked for more than the contract allows: the contract's limit
    assert sorted((m, path, len(shas)) for m, path, _, shas in requests) == sorted([
        ("POST", "/v1/fotos", p.MAX_PHOTOS_PER_REQUEST), ("POST", "/v1/fotos", 8),
        ("PUT", f"/v1/fotos/{sha(large)}", 1)])
    assert all(len(body) <= p.MAX_PHOTO_BYTES for _, _, body, _ in requests)

    async def upload(url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            client.http = http
            await client.upload_photos()

    with serving(create_app(core)) as url:
        asyncio.run(upload(url))
    assert stored_photos(core) == {sha(x): x for x in [*small, large]}
    assert outbox.pending_photos() == []  # each one marked uploaded
    assert client.report.attempts == 3  # three requests, not 41
    assert [len(shas) for _, _, _, shas in DeviceClient("dev-a", b"", _outbox_with(tmp_path / "b", small),
                                                        None).photo_requests()] == [8, 8, 8, 8, 8]  # the default


def test_the_sdk_marks_the_stored_photos_and_names_a_corrupt_one(tmp_path, core):
    good, corrupt = photo(1), photo(2)
    outbox = _outbox_with(tmp_path, [good])
    outbox.conn.execute("INSERT INTO fotos(sha256, data) VALUES (?, ?)", (sha(corrupt), corrupt[:-3]))

    async def upload(url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await DeviceClient("dev-a", SECRETS["dev-a"].encode(), outbox, http).upload_photos()

    with serving(create_app(core)) as url, pytest.raises(SyncError, match=f"dev-a: 1 photo.* {sha(corrupt)}: photos"):
        asyncio.run(upload(url))
    assert stored_photos(core) == {sha(good): good}
    assert [s for s, _ in outbox.pending_photos()] == [sha(corrupt)]  # the good one is not sent again
