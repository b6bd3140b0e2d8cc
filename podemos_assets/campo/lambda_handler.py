"""AWS Lambda entry point behind API Gateway (REST v1 or HTTP v2 payloads), around the same core.

Deploy with handler `podemos_assets.campo.lambda_handler.handler`; API Gateway's own throttling gives
the 429s. In production the lake is S3 (`PODEMOS_LAKE_URL=s3://...`) and the idempotency store is
DynamoDB (docs/campo.md); the embedded SQLite store is for local use.
"""

from __future__ import annotations

import base64

from podemos_assets.campo.service import IngestCore

_core: IngestCore | None = None


def _default_core() -> IngestCore:
    global _core
    if _core is None:  # once per Lambda container, reused across invocations
        from podemos_assets.campo.app import build_core
        from podemos_assets.config import load_settings

        _core = build_core(load_settings())
    return _core


def handle_event(core: IngestCore, event: dict) -> dict:
    """API Gateway proxy event -> proxy response."""
    method = event.get("httpMethod") or event.get("requestContext", {}).get("http", {}).get("method", "GET")
    path = event.get("rawPath") or event.get("path") or "/"
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    result = core.handle(method.upper(), path, event.get("headers") or {}, raw)
    return {
        "statusCode": result.status,
        "headers": {"content-type": "application/json", **result.headers},
        "body": result.json_bytes().decode("utf-8"),
        "isBase64Encoded": False,
    }


def handler(event: dict, context=None) -> dict:
    return handle_event(_default_core(), event)
