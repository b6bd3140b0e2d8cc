"""Per-device authentication: device secrets (environment or a secrets file) and signature checks.

Secrets are held in `DeviceSecrets`, whose repr never shows them; nothing here logs a secret or a
signature. A request is accepted once: its signature is remembered for the validity window.
"""

from __future__ import annotations

import hmac
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

from podemos_assets.campo.protocol import SIGNATURE_WINDOW_S, sign

SECRETS_ENV = "PODEMOS_DEVICE_SECRETS"  # JSON object {device_id: secret}
SECRETS_FILE_ENV = "PODEMOS_DEVICE_SECRETS_FILE"  # path of such a JSON file
DEFAULT_SECRETS_FILE = "secrets/dispositivos.json"  # under PODEMOS_HOME


class AuthError(Exception):
    """The request is not from a known device, or is stale, replayed or badly signed (HTTP 401)."""


class DeviceSecrets:
    """device_id -> shared secret. Loaded from the environment; never printed."""

    def __init__(self, secrets: Mapping[str, str]):
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


def verify(
    secrets: DeviceSecrets,
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    first_use,
    now: float | None = None,
) -> str:
    """Return the authenticated device id or raise `AuthError` (reasons are safe to show the device)."""
    device_id = headers.get("x-device-id", "")
    timestamp = headers.get("x-timestamp", "")
    signature = headers.get("x-signature", "")
    secret = secrets.get(device_id)
    if secret is None:
        raise AuthError(f"unknown device {device_id!r}: register it and provision its secret")
    try:
        ts = float(timestamp)
    except ValueError:
        raise AuthError("x-timestamp must be Unix seconds") from None
    now = time.time() if now is None else now
    if abs(now - ts) > SIGNATURE_WINDOW_S:
        raise AuthError(
            f"x-timestamp is {now - ts:+.0f} s from the server clock (window ±{SIGNATURE_WINDOW_S} s): "
            "re-sign with the time in x-server-time"
        )
    expected = sign(secret, device_id, timestamp, method, path, body)
    if not hmac.compare_digest(expected, signature):
        raise AuthError("bad signature: sign device_id, timestamp, method, path and body with the device secret")
    if not first_use(signature, 2 * SIGNATURE_WINDOW_S):
        raise AuthError("replayed request: this signature was already used; sign each attempt anew")
    return device_id
