"""Authentication edge values: finite timestamps only, header bytes checked before any comparison,
strong device secrets, one 401 text, and replay refusal for as long as a signature is fresh."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pytest

from podemos_assets.campo.transform import landing_keys, read_landing
from podemos_assets.ingesta import protocol as p
from podemos_assets.ingesta.app import create_app
from podemos_assets.ingesta.auth import AUTH_FAILED, DeviceSecrets, WeakSecret, new_device_secret
from podemos_assets.ingesta.server import serving
from podemos_assets.ingesta.service import IngestCore
from podemos_assets_tests.campo.helpers import SECRETS, batch_body, events, make_core, signed


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


def with_header(body: bytes, **override) -> dict[str, str]:
    h = signed(body)
    h.update({k.replace("_", "-"): v for k, v in override.items()})
    return h


@pytest.mark.parametrize("timestamp", ["nan", "NaN", "inf", "-inf", "1e9", "-5", "+1764700000", " 1764700000",
                                       "1764700000\n", "0x10", "", "1" * 40, "١٧٦٤٧٠٠٠٠٠"])
def test_a_timestamp_must_be_finite_plain_unix_seconds(core, timestamp):
    body = batch_body(events(1))
    # Signed with the odd timestamp itself, so only the timestamp rule can refuse it.
    headers = signed(body)
    headers["x-timestamp"] = timestamp
    headers["x-signature"] = p.sign(SECRETS["dev-a"].encode(), "dev-a", timestamp, "POST", "/v1/batches", body)
    r = core.handle("POST", "/v1/batches", headers, body)
    assert r.status == 401 and r.body == {"error": AUTH_FAILED}
    assert landing_keys(core.lake) == []


def test_nan_once_replayed_forever_is_now_refused_at_once(core):
    body = batch_body(events(1))
    headers = signed(body)
    headers["x-timestamp"] = "nan"
    headers["x-signature"] = p.sign(SECRETS["dev-a"].encode(), "dev-a", "nan", "POST", "/v1/batches", body)
    for _ in range(3):
        assert core.handle("POST", "/v1/batches", headers, body).status == 401
    assert read_landing(core.lake, landing_keys(core.lake)) == []


@pytest.mark.parametrize("name, value", [
    ("x-signature", "é" * 64), ("x-signature", "A" * 64), ("x-signature", "0" * 63), ("x-signature", ""),
    ("x-device-id", "dév-a"), ("x-device-id", "dev-a\n"), ("x-device-id", "d" * 65), ("x-device-id", ""),
])
def test_header_bytes_are_checked_before_any_comparison(core, name, value):
    body = batch_body(events(1))
    r = core.handle("POST", "/v1/batches", {**signed(body), name: value}, body)
    assert r.status == 401 and r.body == {"error": AUTH_FAILED}


def test_non_ascii_signature_bytes_over_http_are_a_401_not_a_500(core):
    with serving(create_app(core)) as url:
        body = batch_body(events(1))
        h = signed(body)
        u = urlparse(url)
        head = (f"POST /v1/batches HTTP/1.1\r\nHost: {u.netloc}\r\nx-device-id: dev-a\r\n"
                f"x-timestamp: {h['x-timestamp']}\r\nContent-Length: {len(body)}\r\n").encode()
        raw = head + b"x-signature: " + "ñ".encode() * 32 + b"\r\nConnection: close\r\n\r\n" + body
        with socket.create_connection((u.hostname, u.port), timeout=10) as s:
            s.sendall(raw)
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 401")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"error": AUTH_FAILED}


@pytest.mark.parametrize("secret", ["", "short", "secreto-a", "0" * 64, "ab" * 32, "x" * 100, 12345, None])
def test_devices_with_weak_secrets_are_refused_at_load(secret):
    with pytest.raises(WeakSecret) as err:
        DeviceSecrets({"dev-ok": new_device_secret(), "dev-weak": secret})
    assert "dev-weak" in str(err.value) and "dev-ok" not in str(err.value)
    assert not isinstance(secret, str) or len(secret) < 8 or secret not in str(err.value)  # never the secret


def test_new_device_secrets_are_strong_and_distinct():
    a, b = new_device_secret(), new_device_secret()
    assert a != b and len(bytes.fromhex(a)) == 32
    assert DeviceSecrets({"d1": a, "d2": b}).get("d1") == a.encode()


def test_a_replay_is_refused_for_as_long_as_the_signature_is_fresh(tmp_path):
    """Signed at T, the request is fresh on the server clock from T-300 to T+300. The old guard forgot a
    signature 600 s after its first use, which left a replay window when the device clock ran ahead."""
    base = make_core(tmp_path)
    T = 1_800_000_000.0
    clock = Clock(T - p.SIGNATURE_WINDOW_S)
    core = IngestCore(base.lake, base.store, base.secrets, clock=clock)
    sent = datetime.fromtimestamp(T - p.SIGNATURE_WINDOW_S, UTC)  # the device clock is 300 s behind
    evs = events(2, when=sent - timedelta(minutes=10))
    body = batch_body(evs, sent_at=sent)
    headers = signed(body, ts=T)
    first = core.handle("POST", "/v1/batches", headers, body)
    assert first.status == 200, first.body
    for at in (T - 299, T, T + 299, T + p.SIGNATURE_WINDOW_S):
        clock.t = at
        r = core.handle("POST", "/v1/batches", headers, body)
        assert r.status == 401 and r.body == {"error": AUTH_FAILED}, at
    clock.t = T + p.SIGNATURE_WINDOW_S + 5  # stale now: refused by the freshness rule
    assert core.handle("POST", "/v1/batches", headers, body).status == 401
    assert len(landing_keys(core.lake)) == 1
