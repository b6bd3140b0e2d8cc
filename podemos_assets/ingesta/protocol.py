"""The wire contract between the field app and the ingestion service: typed msgspec structs (types,
bounds, canonical forms), limits, signing, and the reasons given for a refusal.

Shared by the server (which enforces it), the landing-zone reader (which re-checks what it finds) and
the device SDK (which follows it), so they never drift. `contrato_campo.schema.json` beside the SDK is
generated from these structs (`python -m podemos_assets.ingesta.protocol > ...`; a test keeps it equal).

Reasons name the field and the rule, never the value: a refused value may be a CURP, a phone number or
exact GPS, and reasons reach responses, logs and the quarantine's public `motivo` column.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import msgspec
from msgspec import Meta, Raw, Struct

from podemos_assets.config import GO_LIVE
from podemos_assets.contracts import lake as paths

MAX_EVENTS = 500
MAX_BODY_BYTES = 1024 * 1024  # 1 MiB
MAX_PHOTO_BYTES = 8 * 1024 * 1024  # one photo, and the body of any photo request
MAX_PHOTOS_PER_REQUEST = 32  # POST /v1/fotos: photos sent together, one request (and one signature) for all
SIGNATURE_WINDOW_S = 300  # a signed request is valid this long around the server's clock
MAX_CLOCK_OFFSET = timedelta(days=7)  # sent_at (device clock) may be this far from the server's clock
MAX_BACKLOG = timedelta(days=35)  # an event may be queued this long before its batch is sent
FUTURE_TOLERANCE = timedelta(minutes=5)  # device_time after sent_at (same clock) by at most this
GO_LIVE_DAY = date.fromisoformat(GO_LIVE)
MX = ZoneInfo("America/Mexico_City")

HEADER_DEVICE = "x-device-id"
HEADER_TIMESTAMP = "x-timestamp"
HEADER_SIGNATURE = "x-signature"
HEADER_SERVER_TIME = "x-server-time"  # sent on every 401 so a device with a wrong clock can re-sign

EVENT_TYPES = ("pago", "geolocalizacion", "foto", "visita")
PAYMENT_METHODS = ("EFECTIVO", "TRANSFERENCIA", "TARJETA")
VISIT_OUTCOMES = ("PAGO", "PROMESA_PAGO", "AUSENTE", "RECHAZO", "OTRO")
PHOTO_MIMES = ("image/jpeg", "image/png", "image/webp")
# Mexico's bounding box (continental + islands), generous by a few km.
LAT_RANGE = (14.3, 32.8)
LON_RANGE = (-118.5, -86.5)
MAX_AMOUNT = Decimal("1000000.00")

# Canonical forms. msgspec searches patterns with `re.search`, where `$` also matches just before a
# trailing newline ("ABC\n" passed `^[A-Z]+$`): every pattern ends in `$(?!\n)`, valid in JSON Schema too.
_END = r"$(?!\n)"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}" + _END
SHA256_PATTERN = r"^[0-9a-f]{64}" + _END
# "350.00": ASCII digits only (Decimal() also takes " 350.00 ", "1_000.00" and Arabic-Indic digits).
AMOUNT_PATTERN = r"^(0|[1-9][0-9]{0,6})(\.[0-9]{1,2})?" + _END
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*" + _END  # ids: accounts, groups, clients, devices
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*" + _END  # names (regions with accents and spaces): no control characters

Uuid = Annotated[str, Meta(min_length=36, max_length=36, pattern=UUID_PATTERN,
                           description="A UUID in canonical form: lower-case hex, 8-4-4-4-12")]
Sha256 = Annotated[str, Meta(min_length=64, max_length=64, pattern=SHA256_PATTERN)]
Code = Annotated[str, Meta(min_length=1, max_length=64, pattern=CODE_PATTERN)]
Text = Annotated[str, Meta(max_length=64, pattern=TEXT_PATTERN)]
Amount = Annotated[str, Meta(min_length=1, max_length=10, pattern=AMOUNT_PATTERN,
                             description="MXN as an exact decimal string, > 0, at most 2 decimals, <= 1000000.00")]
Time = Annotated[datetime, Meta(tz=True, description="RFC 3339 with a UTC offset, e.g. 2026-11-27T10:15:00-06:00")]


class Pago(Struct, forbid_unknown_fields=True):
    cuenta: Code
    monto: Amount
    metodo: Literal["EFECTIVO", "TRANSFERENCIA", "TARJETA"]


class Geolocalizacion(Struct, forbid_unknown_fields=True):
    lat: Annotated[float, Meta(ge=LAT_RANGE[0], le=LAT_RANGE[1])]
    lon: Annotated[float, Meta(ge=LON_RANGE[0], le=LON_RANGE[1])]
    precision_m: Annotated[float, Meta(ge=0.0, le=10_000.0)]


class Foto(Struct, forbid_unknown_fields=True):
    sha256: Sha256
    bytes: Annotated[int, Meta(ge=1, le=MAX_PHOTO_BYTES)]
    mime: Literal["image/jpeg", "image/png", "image/webp"]
    object_key: Annotated[str, Meta(max_length=128, description="landing/campo/fotos/{sha256}")]


class Visita(Struct, forbid_unknown_fields=True, omit_defaults=True):
    resultado: Literal["PAGO", "PROMESA_PAGO", "AUSENTE", "RECHAZO", "OTRO"]
    grupo: Code | None = None
    cliente: Code | None = None


class _Event(Struct, forbid_unknown_fields=True, tag_field="type"):
    event_id: Uuid
    device_time: Time


class EventoPago(_Event, tag="pago"):
    payload: Pago


class EventoGeolocalizacion(_Event, tag="geolocalizacion"):
    payload: Geolocalizacion


class EventoFoto(_Event, tag="foto"):
    payload: Foto


class EventoVisita(_Event, tag="visita"):
    payload: Visita


Event = EventoPago | EventoGeolocalizacion | EventoFoto | EventoVisita


class _BatchHead(Struct, forbid_unknown_fields=True, kw_only=True):
    batch_id: Uuid
    device_id: Code
    sent_at: Time
    asesor: Text = ""
    sucursal: Text = ""
    region: Text = ""


class BatchEnvelope(_BatchHead, kw_only=True):
    """What the server decodes first: the batch fields typed, each event kept as raw JSON so that a bad
    event gets its own reason while the rest of the batch is processed."""

    events: list[Raw]


class Batch(_BatchHead, kw_only=True):
    """The batch as the contract (and the published JSON Schema) describes it."""

    events: Annotated[list[Event], Meta(max_length=MAX_EVENTS)]


class PhotoUpload(Struct, forbid_unknown_fields=True):
    sha256: Sha256
    data: Annotated[bytes, Meta(min_length=1, description="the photo's bytes, base64 (RFC 4648, with padding)")]


class PhotoBundle(Struct, forbid_unknown_fields=True):
    """POST /v1/fotos: several photos in one signed request. A storm of phones uploads mostly small photos;
    one request per photo paid a signature check, a replay-guard write and the HTTP round trip each."""

    photos: Annotated[list[PhotoUpload], Meta(min_length=1, max_length=MAX_PHOTOS_PER_REQUEST)]


EVENT_DECODER = msgspec.json.Decoder(Event)
PHOTOS_DECODER = msgspec.json.Decoder(PhotoBundle)
ENVELOPE_DECODER = msgspec.json.Decoder(BatchEnvelope)
BATCH_DECODER = msgspec.json.Decoder(Batch)  # the fast path: a well-formed batch in one compiled call
ENCODER = msgspec.json.Encoder()


class EventRejected(ValueError):
    """One event (or batch field) breaks the contract; the message names field and rule, never the value."""


# --- reasons -------------------------------------------------------------------------------------------
_AT = re.compile(r"^(?P<rule>.*) - at `(?P<path>\$[A-Za-z0-9_.\[\]]*)`$", re.DOTALL)
_SAFE_RULE = re.compile(r"^[A-Za-z0-9 `<>=.,_()|-]*$")


def reason(exc: Exception, prefix: str = "") -> str:
    """A msgspec error as a reason: the field's path and the rule broken, with any echoed value removed
    (msgspec quotes the offending value for enums and tags, and the name of an unknown field)."""
    if isinstance(exc, RecursionError):
        return "JSON nested deeper than the contract allows"
    message = str(exc)
    m = _AT.match(message)
    rule, path = (m["rule"], m["path"]) if m else (message, "$")
    if rule.startswith(("Invalid enum value", "Invalid value")):
        rule = "is not one of the values the contract allows"
    elif rule.startswith("Object contains unknown field"):
        rule = "contains a field the contract does not define"
    elif "matching regex" in rule:
        rule = rule.split(" matching regex", 1)[0] + " in the contract's canonical form"
    elif rule.startswith("JSON is malformed"):
        rule = "is not valid JSON"
    elif not _SAFE_RULE.match(rule):
        rule = "breaks the contract"
    path = path.replace("$.", prefix, 1) if path.startswith("$.") else (prefix.rstrip(".") or "body")
    return f"{path}: {rule}"


# --- checks a struct cannot express --------------------------------------------------------------------
def check_batch_times(sent_at: datetime, received: datetime) -> None:
    try:
        off = sent_at - received
    except OverflowError:
        off = MAX_CLOCK_OFFSET * 2
    if abs(off) > MAX_CLOCK_OFFSET:
        raise EventRejected(f"sent_at: must be within {MAX_CLOCK_OFFSET.days} days of the server's clock")


def corrected_time(device_time: datetime, sent_at: datetime, received: datetime) -> datetime:
    """The event's time on the server's clock: device time minus the batch's clock offset (sent_at
    against receipt; within a minute that is network latency, not skew), never after receipt."""
    skew = sent_at - received
    if abs(skew) <= SKEW_TOLERANCE:
        skew = timedelta(0)
    return min(device_time - skew, received)


SKEW_TOLERANCE = timedelta(seconds=60)


_GO_LIVE_START = datetime.combine(GO_LIVE_DAY, datetime.min.time(), MX)


class Window:
    """The bounds of device_time for one batch, computed once so that each event costs a comparison:
    at most MAX_BACKLOG before sent_at, at most FUTURE_TOLERANCE after it, and a corrected time
    (device time minus the batch's clock offset) not before go-live. Call after `check_batch_times`."""

    def __init__(self, sent_at: datetime, received: datetime):
        skew = sent_at - received
        if abs(skew) <= SKEW_TOLERANCE:
            skew = timedelta(0)
        self.lo, self.hi = sent_at - MAX_BACKLOG, sent_at + FUTURE_TOLERANCE
        self.first = _GO_LIVE_START + skew

    def check(self, event: Event) -> None:
        """Raise `EventRejected` for the bounds the struct cannot state (dates, the photo key, monto > 0)."""
        try:
            inside = self.lo <= event.device_time <= self.hi
            live = event.device_time >= self.first
        except OverflowError:  # year 1 at +14:00 cannot even be compared
            raise EventRejected("device_time: outside the accepted window") from None
        if not inside:
            raise EventRejected(f"device_time: must be at most {MAX_BACKLOG.days} days before sent_at and not "
                                f"after it (same device clock)")
        if not live:
            raise EventRejected(f"device_time: the corrected event day is before go-live ({GO_LIVE})")
        if type(event) is EventoPago:
            if not event.payload.monto.strip("0."):  # the pattern already made it a plain decimal
                raise EventRejected("payload.monto: must be greater than 0")
            if Decimal(event.payload.monto) > MAX_AMOUNT:  # the pattern bounds digits, not the value
                raise EventRejected(f"payload.monto: must be at most {MAX_AMOUNT}")
        elif type(event) is EventoFoto:
            if event.payload.object_key != photo_key(event.payload.sha256):
                raise EventRejected("payload.object_key: must be landing/campo/fotos/{sha256} (photos are "
                                    "stored by content)")
        elif type(event) is EventoVisita:
            if event.payload.grupo is None and event.payload.cliente is None:
                raise EventRejected("payload: needs cliente or grupo (who was visited)")


def check_event(event: Event, sent_at: datetime, received: datetime) -> None:
    Window(sent_at, received).check(event)


def decode_event(raw: bytes | Raw) -> Event:
    """Decode one event against the contract; `EventRejected` with the reason otherwise."""
    try:
        return EVENT_DECODER.decode(raw)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise EventRejected(reason(exc)) from None


def validate_event(event: dict | bytes, sent_at: datetime | None = None,
                   received: datetime | None = None) -> str:
    """Check one event as the server does; return its event_id (tests, tools)."""
    raw = event if isinstance(event, bytes) else ENCODER.encode(event)
    ev = decode_event(raw)
    now = received or datetime.now(UTC)
    check_event(ev, sent_at or ev.device_time, now)
    return ev.event_id


def photo_key(sha256: str) -> str:
    """Where a photo lives in the lake: content-addressed, so a re-upload is a no-op."""
    return paths.field_photo(sha256)


_RANDOM = random.SystemRandom()


def new_event_id(at: datetime | None = None, rng: random.Random | None = None) -> str:
    """A time-ordered event id (UUIDv7, RFC 9562): 48 bits of Unix milliseconds, then random bits.

    v7 ids from one device's batch sit next to each other in the idempotency index, so claiming them
    touches a few pages instead of one page per event."""
    ms = int((at.timestamp() if at is not None else time.time()) * 1000)
    bits = (rng or _RANDOM).getrandbits(74)
    value = (ms & (2**48 - 1)) << 80 | 0x7 << 76 | (bits >> 62) << 64 | 0b10 << 62 | bits & (2**62 - 1)
    return str(uuid.UUID(int=value))


def sign(secret: bytes, device_id: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    """HMAC-SHA256 over device, timestamp, method, path and body (hex)."""
    head = f"{device_id}\n{timestamp}\n{method.upper()}\n{path}\n".encode()
    return hmac.new(secret, head + body, hashlib.sha256).hexdigest()


def canonical(obj) -> bytes:
    """Compact JSON (struct fields in declaration order, dict keys sorted): the bytes hashed and landed."""
    return msgspec.json.encode(obj, order="sorted") if isinstance(obj, dict) else ENCODER.encode(obj)


def event_bytes(event: Event) -> bytes:
    return ENCODER.encode(event)


def payload_hash(device_id: str, event_json: bytes) -> str:
    """What 'the same event' means for idempotency: device and the event's canonical bytes (type,
    event_id, device time, payload)."""
    return hashlib.sha256(device_id.encode() + b"\n" + event_json).hexdigest()


def _published(struct, route: str, rules: str) -> dict:
    """A struct's JSON Schema (2020-12) as published beside the SDK: titled by its route, with the rules a
    schema cannot state as its description."""
    schema = msgspec.json.schema(struct)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"{route} (podemos campo)"
    schema["description"] = rules
    return schema


def json_schema() -> dict:
    """The published contract: JSON Schema (2020-12) of a batch, generated from the structs."""
    return _published(Batch, "POST /v1/batches", (
        "Signed with HMAC-SHA256 (headers x-device-id, x-timestamp, x-signature; see docs/campo.md). Beyond "
        f"this schema: sent_at within {MAX_CLOCK_OFFSET.days} days of the server clock; device_time at most "
        f"{MAX_BACKLOG.days} days before sent_at and at most {int(FUTURE_TOLERANCE.total_seconds())} s after; "
        f"the corrected event day not before {GO_LIVE}; monto > 0; a visita names cliente or grupo; "
        f"body at most {MAX_BODY_BYTES} bytes."))


def photos_json_schema() -> dict:
    """The published contract of POST /v1/fotos."""
    return _published(PhotoBundle, "POST /v1/fotos", (
        "Signed as a batch is. Beyond this schema: each photo's data hashes (SHA-256) to its sha256, and the "
        f"body is at most {MAX_PHOTO_BYTES} bytes; a larger photo goes alone as PUT /v1/fotos/{{sha256}} with "
        "the raw bytes as body."))


# The published contracts beside the SDK: file -> the schema the structs generate.
SCHEMAS = {"contrato_campo.schema.json": json_schema, "contrato_fotos.schema.json": photos_json_schema}
SCHEMA_FILE = "contrato_campo.schema.json"


def schema_text(file: str = SCHEMA_FILE) -> str:
    return msgspec.json.format(msgspec.json.encode(SCHEMAS[file](), order="sorted"), indent=2).decode() + "\n"


if __name__ == "__main__":  # regenerate the committed schemas beside the SDK
    import sys
    from pathlib import Path

    if sys.argv[1:] == ["--write"]:
        for name in SCHEMAS:
            Path(__file__).with_name(name).write_text(schema_text(name), encoding="utf-8")
    else:
        sys.stdout.write(schema_text(sys.argv[1] if len(sys.argv) > 1 else SCHEMA_FILE))
