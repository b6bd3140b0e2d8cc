"""The ASGI app (Starlette) around the handler core, with fair admission.

A request first reads its whole body under a deadline (a slow or idle client holds no slot while it
dawdles, and is answered 408), then takes one of `max_in_flight` slots (past that: 429 with
Retry-After, load shedding, not an unbounded queue), then the core authenticates it before any
decoding and applies the per-device limit. The slots are sized to what the server can drain within
a couple of seconds, not to the worker threads: a slot is cheap (a body in memory waiting its turn).
"""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from podemos_assets.config import Settings
from podemos_assets.ingesta import protocol as p
from podemos_assets.ingesta.auth import DeviceSecrets
from podemos_assets.ingesta.service import CoreResponse, IngestCore, overloaded, too_large
from podemos_assets.resources.idempotency import open_store
from podemos_assets.resources.lake import LakeResource

DEFAULT_MAX_IN_FLIGHT = 512  # bodies admitted at once (<= 512 MiB worst case, ~10 KiB typical); each
# waits for a worker for at most a few hundred ms at full load; beyond that a quick 429 beats a long queue
BODY_TIMEOUT_S = 10.0  # the whole body must arrive within this (a 1 MiB batch on 2G takes ~5 s)
DEFAULT_WORKERS = 4  # threads running the core: fsync releases the GIL, but JSON parsing does not, and
# dozens of threads parsing at once starve the event loop (every response then waits for the GIL)


def store_url(settings: Settings, default: str = "sqlite") -> str:
    """PODEMOS_CAMPO_STORE_URL, else SQLite under PODEMOS_HOME (`default="dynamodb"`: the AWS tables)."""
    if settings.campo_store_url:
        return settings.campo_store_url
    if default == "dynamodb":
        return "dynamodb://campo_eventos/campo_firmas"
    return f"sqlite://{Path(settings.home) / 'campo' / 'idempotencia.sqlite'}"


def build_core(settings: Settings, environ=None, default_store: str = "sqlite", group_commit: bool = True) -> IngestCore:
    """The core on the configured lake, the configured idempotency store and the device secrets."""
    return IngestCore(LakeResource(url=settings.lake_url), open_store(store_url(settings, default_store)),
                      DeviceSecrets.from_environment(settings.home, environ), group_commit=group_commit)


SERVE_OPTIONS_ENV = "PODEMOS_CAMPO_SERVE_OPTIONS"  # set by `podemos ingest serve --server granian`


def app_from_environment() -> Starlette:
    """The app factory granian imports in its worker (`podemos ingest serve --server granian`)."""
    import json
    import os

    from podemos_assets.config import load_settings

    options = json.loads(os.environ.get(SERVE_OPTIONS_ENV) or "{}")
    core = build_core(load_settings(), group_commit=options.get("group_commit", True))
    return create_app(core, max_in_flight=options.get("max_in_flight", DEFAULT_MAX_IN_FLIGHT))


def _to_response(r: CoreResponse) -> Response:
    return Response(r.json_bytes(), status_code=r.status, headers=r.headers, media_type="application/json")


def create_app(core: IngestCore, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT, retry_after_s: int = 1,
               workers: int = DEFAULT_WORKERS, body_timeout_s: float = BODY_TIMEOUT_S) -> Starlette:
    limiter = anyio.CapacityLimiter(workers)
    in_flight = 0  # one event loop: the check and the increment below cannot interleave

    async def handle(request: Request) -> Response:
        nonlocal in_flight
        limit = p.MAX_PHOTO_BYTES if request.url.path.startswith("/v1/fotos") else p.MAX_BODY_BYTES
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return _to_response(too_large(int(declared), limit))  # refuse before reading the body
        body = bytearray()
        try:
            with anyio.fail_after(body_timeout_s):  # before any slot: a slow client only costs itself
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > limit:  # chunked upload without Content-Length
                        return _to_response(too_large(len(body), limit))
        except TimeoutError:
            return Response(b'{"error": "request body not received in time"}', status_code=408,
                            media_type="application/json", headers={"Connection": "close"})
        except ClientDisconnect:  # the device hung up mid-upload: nothing was processed, it will retry
            return Response(status_code=499)
        if in_flight >= max_in_flight:
            return _to_response(overloaded("the server is at capacity", retry_after_s))
        in_flight += 1
        try:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}
            result = await anyio.to_thread.run_sync(core.handle, request.method, request.url.path,
                                                    headers, bytes(body), limiter=limiter)
            return _to_response(result)
        finally:
            in_flight -= 1

    routes = [
        Route("/v1/health", handle, methods=["GET"]),
        Route("/v1/batches", handle, methods=["POST"]),
        Route("/v1/fotos", handle, methods=["POST"]),
        Route("/v1/fotos/{sha256}", handle, methods=["PUT"]),
    ]
    return Starlette(routes=routes)
