"""The production path against moto in server mode on loopback: the DynamoDB idempotency and replay
store (conditional writes, TTL), S3 landing with conditional create, and the Lambda handler choosing
them from configuration. moto is an emulator: this shows the code speaks the AWS APIs, not AWS itself."""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import uuid
from collections import Counter

import boto3
import pytest

from podemos_assets.campo.transform import build_day, landing_keys, read_landing, touched_days
from podemos_assets.config import load_settings
from podemos_assets.ingesta import lambda_handler
from podemos_assets.ingesta.app import build_core
from podemos_assets.ingesta.auth import AUTH_FAILED
from podemos_assets.resources.dynamo import DynamoIdempotencyStore
from podemos_assets.resources.idempotency import CONFLICT, DUPLICATE, IN_FLIGHT, NEW
from podemos_assets.resources.lake import LakeResource
from podemos_assets_tests.campo.helpers import SECRETS, batch_body, bundle, events, photo, sha, signed
from podemos_assets_tests.scale.servers import moto_s3

pytestmark = pytest.mark.s3
BUCKET = "podemos-campo"


@pytest.fixture(scope="module")
def aws():
    with moto_s3(BUCKET) as endpoint:
        DynamoIdempotencyStore().ensure_tables()
        yield endpoint


def outcomes(claims):
    return [c.outcome for c in claims]


def test_dynamodb_claims_follow_the_same_rules_as_sqlite(aws):
    store = DynamoIdempotencyStore()
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    assert outcomes(store.claim("lote-1", [(a, "h1"), (b, "h2")])) == [NEW, NEW]
    assert outcomes(store.claim("lote-2", [(a, "h1"), (c, "h3")])) == [IN_FLIGHT, NEW]
    store.commit("lote-1", [a, b])
    assert outcomes(store.claim("lote-3", [(b, "h2"), (a, "h1"), (c, "h3")])) == [DUPLICATE, DUPLICATE, IN_FLIGHT]
    assert outcomes(store.claim("lote-4", [(a, "otro"), (c, "otro")])) == [CONFLICT, CONFLICT]
    items = {i["event_id"]["S"]: i for i in store.client.scan(TableName="campo_eventos")["Items"]}
    assert items[a]["committed"]["BOOL"] and not items[c]["committed"]["BOOL"] and items[a]["hash"]["S"] == "h1"


def test_dynamodb_claims_race_to_one_winner(aws):
    """Only the conditional write decides: a read-then-write claim loses this race. (The emulator answers
    one request at a time, as DynamoDB's per-item writes are atomic; moto as shipped is not: servers.py.)"""
    stores = [DynamoIdempotencyStore() for _ in range(4)]  # four Lambda containers
    ids = [str(uuid.uuid4()) for _ in range(30)]
    start = threading.Barrier(4)
    results = {}

    def go(i):
        start.wait()
        results[i] = outcomes(stores[i].claim(f"lote-{i}", [(e, "h") for e in ids]))

    # Threads switch every microsecond instead of every 5 ms: interleavings a loaded machine makes rarely
    # happen on every run (moto as shipped then lets 19 of 150 contested keys be won twice; by hand).
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=go, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(before)
    for n in range(len(ids)):  # exactly one container won each id; the others see it in flight
        assert sorted(results[i][n] for i in range(4)) == [IN_FLIGHT, IN_FLIGHT, IN_FLIGHT, NEW]


def test_dynamodb_replay_guard_with_ttl(aws):
    store = DynamoIdempotencyStore()
    ttl = store.client.describe_time_to_live(TableName="campo_firmas")["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == "expira"
    sig, now = uuid.uuid4().hex * 2, time.time()
    assert store.first_use_of_signature(sig, now + 300, now)
    assert not store.first_use_of_signature(sig, now + 300, now + 299)  # still fresh: refused
    item = store.client.get_item(TableName="campo_firmas", Key={"firma": {"S": sig}})["Item"]
    assert int(item["expira"]["N"]) >= now + 300
    # Past its expiry the item may linger (DynamoDB's TTL deletes lazily): the condition ignores it.
    assert store.first_use_of_signature(sig, now + 1000, now + 400)


def test_s3_landing_is_created_conditionally_and_never_replaced(aws):
    lake = LakeResource(url=f"s3://{BUCKET}/cond")
    key = f"landing/campo/recibido=2026-12-01/{uuid.uuid4().hex}.ndjson"
    assert lake.create_bytes(key, b"first\n")
    assert not lake.create_bytes(key, b"second\n")
    assert lake.read_bytes(key) == b"first\n"


def api_gateway(body: bytes, headers: dict) -> dict:
    return {"version": "2.0", "rawPath": "/v1/batches", "headers": headers, "isBase64Encoded": True,
            "body": base64.b64encode(body).decode(), "requestContext": {"http": {"method": "POST"}}}


def test_the_lambda_handler_runs_on_dynamodb_and_s3_from_configuration(aws, tmp_path, monkeypatch):
    prefix = f"lambda-{uuid.uuid4().hex[:8]}"
    env = {"PODEMOS_HOME": str(tmp_path / "home"), "PODEMOS_LAKE_URL": f"s3://{BUCKET}/{prefix}",
           "PODEMOS_DEVICE_SECRETS": json.dumps(SECRETS)}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("PODEMOS_CAMPO_STORE_URL", raising=False)
    monkeypatch.setattr(lambda_handler, "_core", None)
    evs = events(5)
    body = batch_body(evs)
    out = lambda_handler.handler(api_gateway(body, signed(body)))
    assert out["statusCode"] == 200, out
    assert [x["status"] for x in json.loads(out["body"])["results"]] == ["accepted"] * 5
    core = lambda_handler._core
    assert isinstance(core.store, DynamoIdempotencyStore)  # not an SQLite file in the container
    assert not (tmp_path / "home" / "campo").exists()

    # Another container (its own core) shares the replay guard and the idempotency store.
    other = build_core(load_settings(), default_store="dynamodb")
    headers = signed(body)
    resend = lambda_handler.handle_event(other, api_gateway(body, headers))  # the phone lost the first ack
    assert resend["statusCode"] == 200
    assert [x["status"] for x in json.loads(resend["body"])["results"]] == ["duplicate"] * 5
    again = lambda_handler.handle_event(core, api_gateway(body, headers))  # that signature, on another container
    assert again["statusCode"] == 401 and json.loads(again["body"]) == {"error": AUTH_FAILED}

    s3 = boto3.client("s3")
    objects = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/landing/")["Contents"]]
    assert len(objects) == 1 and objects[0].startswith(f"{prefix}/landing/campo/recibido=")
    lake = LakeResource(url=env["PODEMOS_LAKE_URL"])
    records = read_landing(lake, landing_keys(lake))
    stored = Counter()
    for day in touched_days(records):
        stored.update(build_day(records, day).tables["eventos"]["event_id"].to_pylist())
    assert stored == Counter({e["event_id"]: 1 for e in evs})
    items = {i["event_id"]["S"]: i["committed"]["BOOL"]
             for i in core.store.client.scan(TableName="campo_eventos")["Items"]}
    assert all(items[e["event_id"]] for e in evs)


def test_photos_sent_together_through_the_lambda_handler_are_created_in_s3_once(aws, tmp_path, monkeypatch):
    prefix = f"fotos-{uuid.uuid4().hex[:8]}"
    for k, v in {"PODEMOS_HOME": str(tmp_path / "home"), "PODEMOS_LAKE_URL": f"s3://{BUCKET}/{prefix}",
                 "PODEMOS_DEVICE_SECRETS": json.dumps(SECRETS)}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("PODEMOS_CAMPO_STORE_URL", raising=False)
    core = build_core(load_settings(), default_store="dynamodb")
    photos = [photo(i, size=5_000) for i in range(3)]

    def send(*items):
        body = bundle(*items)
        event = {**api_gateway(body, signed(body, path="/v1/fotos")), "rawPath": "/v1/fotos"}
        out = lambda_handler.handle_event(core, event)
        return out["statusCode"], [x["status"] for x in json.loads(out["body"])["results"]]

    assert send(*photos[:2]) == (200, ["stored", "stored"])
    assert send(*photos) == (200, ["existing", "existing", "stored"])  # a retry after a lost answer
    s3 = boto3.client("s3")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/")["Contents"])
    assert keys == sorted(f"{prefix}/landing/campo/fotos/{sha(x)}" for x in photos)
    for x in photos:
        assert s3.get_object(Bucket=BUCKET, Key=f"{prefix}/landing/campo/fotos/{sha(x)}")["Body"].read() == x
