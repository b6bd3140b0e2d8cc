"""AWS Lambda entry point behind API Gateway (REST v1 or HTTP v2 payloads), around the same core.

Deploy with handler `podemos_assets.ingesta.lambda_handler.handler`; API Gateway's own throttling gives
the 429s. The idempotency and replay store is DynamoDB by default here (`PODEMOS_CAMPO_STORE_URL`,
default `dynamodb://campo_eventos/campo_firmas`): each container has its own disk, so an SQLite store
would give each one its own idempotency and replay guard. The lake is S3 (`PODEMOS_LAKE_URL=s3://...`),
where landing objects are created with a conditional PUT (`If-None-Match: *`).
"""

from __future__ import annotations

import base64
import binascii

from podemos_assets.ingesta.service import IngestCore

_core: IngestCore | None = None


def _default_core() -> IngestCore:
    global _core
    if _core is None:  # once per Lambda container, reused across invocations
        from podemos_assets.config import load_settings
        from podemos_assets.ingesta.app import build_core

        _core = build_core(load_settings(), default_store="dynamodb")
    return _core


def handle_event(core: IngestCore, event: dict) -> dict:
    """API Gateway proxy event -> proxy response."""
    method = event.get("httpMethod") or event.get("requestContext", {}).get("http", {}).get("method", "GET")
    path = event.get("rawPath") or event.get("path") or "/"
    body = event.get("body") or ""
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode("utf-8")
    except (binascii.Error, UnicodeEncodeError):
        return {"statusCode": 400, "headers": {"content-type": "application/json"},
                "body": '{"error": "body is not valid base64/UTF-8"}', "isBase64Encoded": False}
    result = core.handle(str(method).upper(), str(path), event.get("headers") or {}, raw)
    return {
        "statusCode": result.status,
        "headers": {"content-type": "application/json", **result.headers},
        "body": result.json_bytes().decode("utf-8"),
        "isBase64Encoded": False,
    }


def handler(event: dict, context=None) -> dict:
    return handle_event(_default_core(), event)
