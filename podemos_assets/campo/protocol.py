"""The wire protocol between the field app and the ingestion service: limits, signing, event validation.

Shared by the server (which enforces it) and the device SDK (which follows it), so the two never drift.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import time
import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

MAX_EVENTS = 500
MAX_BODY_BYTES = 1024 * 1024  # 1 MiB
MAX_PHOTO_BYTES = 8 * 1024 * 1024
SIGNATURE_WINDOW_S = 300  # a signed request is valid this long around the server's clock

HEADER_DEVICE = "x-device-id"
HEADER_TIMESTAMP = "x-timestamp"
HEADER_SIGNATURE = "x-signature"
HEADER_SERVER_TIME = "x-server-time"  # sent on 401 so a device with a wrong clock can re-sign

EVENT_TYPES = ("pago", "geolocalizacion", "foto", "visita")
PAYMENT_METHODS = ("EFECTIVO", "TRANSFERENCIA", "TARJETA")
VISIT_OUTCOMES = ("PAGO", "PROMESA_PAGO", "AUSENTE", "RECHAZO", "OTRO")
PHOTO_MIMES = ("image/jpeg", "image/png", "image/webp")
# Mexico's bounding box (continental + islands), generous by a few km.
LAT_RANGE = (14.3, 32.8)
LON_RANGE = (-118.5, -86.5)
MAX_AMOUNT = Decimal("1000000.00")

_SHA256 = re.compile(r"[0-9a-f]{64}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


class EventRejected(ValueError):
    """One event of a batch is malformed; the message is the reason sent back to the device."""


def photo_key(sha256: str) -> str:
    """Where a photo lives in the lake: content-addressed, so a re-upload is a no-op."""
    return f"landing/campo/fotos/{sha256}"


_RANDOM = random.SystemRandom()


def new_event_id(at: datetime | None = None, rng: random.Random | None = None) -> str:
    """A time-ordered event id (UUIDv7, RFC 9562): 48 bits of Unix milliseconds, then random bits.

    Any UUID is accepted, but v7 ids from one device's batch sit next to each other in the
    idempotency index, so claiming them touches a few pages instead of one page per event (random v4
    ids made the store the slowest step of an acknowledgement, and slower as it grew)."""
    ms = int((at.timestamp() if at is not None else time.time()) * 1000)
    bits = (rng or _RANDOM).getrandbits(74)
    value = (ms & (2**48 - 1)) << 80 | 0x7 << 76 | (bits >> 62) << 64 | 0b10 << 62 | bits & (2**62 - 1)
    return str(uuid.UUID(int=value))


def sign(secret: bytes, device_id: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    """HMAC-SHA256 over device, timestamp, method, path and body (hex)."""
    head = f"{device_id}\n{timestamp}\n{method.upper()}\n{path}\n".encode()
    return hmac.new(secret, head + body, hashlib.sha256).hexdigest()


def canonical(obj: Any) -> bytes:
    """JSON with sorted keys, no whitespace, UTF-8: the bytes that are signed, hashed and landed.

    orjson, not the standard library: the service encodes every event twice (hash, landing line) and
    the stdlib encoder was the largest single cost of an acknowledgement."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def payload_hash(device_id: str, event: dict) -> str:
    """What 'the same event' means for idempotency: device, type, device time and payload."""
    return hashlib.sha256(
        canonical([device_id, event.get("type"), event.get("device_time"), event.get("payload")])
    ).hexdigest()


def parse_time(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise EventRejected(f"{field} must be an ISO-8601 string with a UTC offset")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise EventRejected(f"{field}={value!r} is not ISO-8601") from None
    if t.tzinfo is None:
        raise EventRejected(f"{field}={value!r} has no UTC offset (send e.g. 2026-11-27T10:15:00-06:00)")
    return t


def _text(payload: dict, key: str) -> str:
    value = payload.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise EventRejected(f"payload.{key} is required (non-empty text)")
    return value


def _number(payload: dict, key: str, lo: float, hi: float) -> float:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise EventRejected(f"payload.{key}={value!r} must be a number in [{lo}, {hi}]")
    return float(value)


def _check_pago(p: dict) -> None:
    _text(p, "cuenta")
    raw = p.get("monto")
    if not isinstance(raw, str):
        raise EventRejected("payload.monto must be a decimal string such as \"350.00\" (never a float)")
    try:
        monto = Decimal(raw)
    except InvalidOperation:
        raise EventRejected(f"payload.monto={raw!r} is not a decimal number") from None
    if not monto.is_finite() or monto <= 0 or monto > MAX_AMOUNT or monto.as_tuple().exponent < -2:
        raise EventRejected(f"payload.monto={raw!r} must be > 0, at most {MAX_AMOUNT}, with at most 2 decimals")
    if p.get("metodo") not in PAYMENT_METHODS:
        raise EventRejected(f"payload.metodo={p.get('metodo')!r} must be one of {list(PAYMENT_METHODS)}")


def _check_geolocalizacion(p: dict) -> None:
    _number(p, "lat", *LAT_RANGE)
    _number(p, "lon", *LON_RANGE)
    _number(p, "precision_m", 0.0, 10_000.0)


def _check_foto(p: dict) -> None:
    sha = p.get("sha256")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise EventRejected("payload.sha256 must be 64 lowercase hex characters")
    size = p.get("bytes")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_PHOTO_BYTES:
        raise EventRejected(f"payload.bytes={size!r} must be an integer in (0, {MAX_PHOTO_BYTES}]")
    if p.get("mime") not in PHOTO_MIMES:
        raise EventRejected(f"payload.mime={p.get('mime')!r} must be one of {list(PHOTO_MIMES)}")
    if p.get("object_key") != photo_key(sha):
        raise EventRejected(f"payload.object_key must be {photo_key(sha)!r} (photos are stored by sha256)")


def _check_visita(p: dict) -> None:
    if not any(isinstance(p.get(k), (str, int)) and str(p.get(k)).strip() for k in ("cliente", "grupo")):
        raise EventRejected("payload needs cliente or grupo (who was visited)")
    if p.get("resultado") not in VISIT_OUTCOMES:
        raise EventRejected(f"payload.resultado={p.get('resultado')!r} must be one of {list(VISIT_OUTCOMES)}")


_CHECKS = {
    "pago": _check_pago,
    "geolocalizacion": _check_geolocalizacion,
    "foto": _check_foto,
    "visita": _check_visita,
}


def validate_event(event: Any) -> str:
    """Raise `EventRejected` with the reason if the event is malformed; return its event_id."""
    if not isinstance(event, dict):
        raise EventRejected("an event must be a JSON object")
    event_id = event.get("event_id")
    if not isinstance(event_id, str) or not _UUID.fullmatch(event_id):
        raise EventRejected(f"event_id={event_id!r} must be a UUID string (8-4-4-4-12 hex digits)")
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        raise EventRejected(f"type={kind!r} must be one of {list(EVENT_TYPES)}")
    parse_time(event.get("device_time"), "device_time")
    payload = event.get("payload")
    if not isinstance(payload, dict):
        raise EventRejected("payload must be a JSON object")
    _CHECKS[kind](payload)
    return event_id
