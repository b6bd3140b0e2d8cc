"""Per-device authentication: device secrets (environment or a secrets file) and signature checks.

Secrets are held in `DeviceSecrets`, whose repr never shows them; nothing here logs a secret or a
signature. A request is accepted once: its signature is remembered for the validity window.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets as _random
import time
from collections.abc import Mapping
from pathlib import Path

from podemos_assets.ingesta.protocol import SIGNATURE_WINDOW_S, sign

SECRETS_ENV = "PODEMOS_DEVICE_SECRETS"  # JSON object {device_id: secret}
SECRETS_FILE_ENV = "PODEMOS_DEVICE_SECRETS_FILE"  # path of such a JSON file
DEFAULT_SECRETS_FILE = "secrets/dispositivos.json"  # under PODEMOS_HOME


class AuthError(Exception):
    """The request is not from a known device, or is stale, replayed or badly signed (HTTP 401)."""


class WeakSecret(ValueError):
    """A device was provisioned with a secret shorter than 32 random bytes (names the devices, never a secret)."""


MIN_SECRET_BYTES = 32


def secret_is_strong(secret: object) -> bool:
    """At least 32 bytes of key material, written as hex (64+ characters) or base64url (43+)."""
    if not isinstance(secret, str):
        return False
    if re.fullmatch(r"[0-9a-fA-F]+", secret):
        return len(secret) >= 2 * MIN_SECRET_BYTES and len(set(secret.lower())) >= 8
    return bool(re.fullmatch(r"[A-Za-z0-9_=-]+", secret)) and len(secret) >= 43 and len(set(secret)) >= 16


def new_device_secret() -> str:
    """A fresh device secret: 32 random bytes, hex."""
    return _random.token_hex(MIN_SECRET_BYTES)


class DeviceSecrets:
    """device_id -> shared secret. Loaded from the environment; never printed. Refuses weak secrets."""

    def __init__(self, secrets: Mapping[str, str]):
        weak = sorted(k for k, v in secrets.items() if not secret_is_strong(v))
        if weak:
            raise WeakSecret(f"{len(weak)} device(s) have a secret shorter than {MIN_SECRET_BYTES} random bytes "
                             f"(64 hex or 43 base64url characters): {weak[:20]}; provision new ones "
                             "(auth.new_device_secret)")
        self._secrets = {k: v.encode() for k, v in secrets.items()}

    def __repr__(self) -> str:
        return f"DeviceSecrets({len(self._secrets)} devices)"

    def __len__(self) -> int:
        return len(self._secrets)

    def get(self, device_id: str) -> bytes | None:
        return self._secrets.get(device_id)

    @classmethod
    def from_environment(cls, home: Path, environ: Mapping[str, str] | None = None) -> DeviceSecrets:
        """`PODEMOS_DEVICE_SECRETS` (JSON), else the file at `PODEMOS_DEVICE_SECRETS_FILE`, else
        `$PODEMOS_HOME/secrets/dispositivos.json` (written by `podemos generate` for the demo)."""
        env = os.environ if environ is None else environ
        if env.get(SECRETS_ENV):
            return cls(json.loads(env[SECRETS_ENV]))
        path = Path(env.get(SECRETS_FILE_ENV) or Path(home) / DEFAULT_SECRETS_FILE)
        if not path.is_file():
            raise AuthError(
                f"No device secrets: set {SECRETS_ENV} (JSON) or {SECRETS_FILE_ENV}, or create {path} "
                "(`podemos generate` writes one for the demo devices)."
            )
        return cls(json.loads(path.read_text(encoding="utf-8")))


def write_secrets_file(path: Path, secrets: Mapping[str, str]) -> Path:
    """Write a secrets file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(dict(secrets), f, sort_keys=True, indent=1)
    return path


_DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_TIMESTAMP = re.compile(r"[0-9]{1,11}(\.[0-9]{1,6})?")  # finite Unix seconds: no nan, inf, exponent, sign
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
AUTH_FAILED = ("authentication failed: sign x-device-id, x-timestamp (Unix seconds within "
               f"{SIGNATURE_WINDOW_S} s of x-server-time), method, path and body with the device secret, "
               "once per attempt")


def verify(
    secrets: DeviceSecrets,
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    first_use,
    now: float | None = None,
) -> str:
    """Return the authenticated device id or raise `AuthError`.

    Every failure gives the same text (an unknown device is not told apart from a bad signature, which
    would let anyone enumerate devices). Header values are checked for their exact form before any
    comparison: `hmac.compare_digest` raises on non-ASCII text, and `float()` takes "nan" and "inf".
    The signature is remembered until its timestamp stops being fresh, so no replay can outlive it."""
    device_id = headers.get("x-device-id", "")
    timestamp = headers.get("x-timestamp", "")
    signature = headers.get("x-signature", "")
    if not (_DEVICE_ID.fullmatch(device_id) and _TIMESTAMP.fullmatch(timestamp) and _SIGNATURE.fullmatch(signature)):
        raise AuthError(AUTH_FAILED)
    now = time.time() if now is None else now
    ts = float(timestamp)
    secret = secrets.get(device_id)
    # The signature is computed even for an unknown device: the same work, the same answer.
    expected = sign(secret or b"\0" * 32, device_id, timestamp, method, path, body)
    if not (hmac.compare_digest(expected, signature) and secret is not None and abs(now - ts) <= SIGNATURE_WINDOW_S):
        raise AuthError(AUTH_FAILED)
    if not first_use(signature, ts + SIGNATURE_WINDOW_S + 1, now):
        raise AuthError(AUTH_FAILED)
    return device_id
