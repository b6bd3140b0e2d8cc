"""The ASGI app (Starlette) around the handler core, with load shedding: past `max_in_flight`
concurrent requests the service answers 429 with Retry-After instead of queueing without bound."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
import anyio
import anyio.to_thread
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from podemos_assets.campo import protocol as p
from podemos_assets.campo.auth import DeviceSecrets
from podemos_assets.campo.service import CoreResponse, IngestCore, too_large
from podemos_assets.config import Settings
from podemos_assets.resources.idempotency import IdempotencyStore
from podemos_assets.resources.lake import LakeResource

DEFAULT_MAX_IN_FLIGHT = 16  # requests admitted at once; beyond that a quick 429 beats a long queue
DEFAULT_WORKERS = 4  # threads running the core: fsync releases the GIL, but JSON parsing does not, and
# dozens of threads parsing at once starve the event loop (every response then waits for the GIL)


def build_core(settings: Settings, environ=None) -> IngestCore:
    """The core on the configured lake, an idempotency store under PODEMOS_HOME and the device secrets."""
    store = IdempotencyStore(Path(settings.home) / "campo" / "idempotencia.sqlite")
    return IngestCore(LakeResource(url=settings.lake_url), store, DeviceSecrets.from_environment(settings.home, environ))


def _to_response(r: CoreResponse) -> Response:
    return Response(r.json_bytes(), status_code=r.status, headers=r.headers, media_type="application/json")


def create_app(core: IngestCore, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT, retry_after_s: int = 1,
               workers: int = DEFAULT_WORKERS) -> Starlette:
    limiter = anyio.CapacityLimiter(workers)
    in_flight = 0  # one event loop: the check and the increment below cannot interleave

    async def handle(request: Request) -> Response:
        nonlocal in_flight
        limit = p.MAX_PHOTO_BYTES if request.url.path.startswith("/v1/fotos/") else p.MAX_BODY_BYTES
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return _to_response(too_large(int(declared), limit))  # refuse before reading the body
        if in_flight >= max_in_flight:
            return Response(
                b'{"error": "overloaded: retry after the delay in Retry-After"}', status_code=429,
                headers={"Retry-After": str(retry_after_s)}, media_type="application/json",
            )
        in_flight += 1
        try:
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:  # chunked upload without Content-Length
                    return _to_response(too_large(len(body), limit))
            result = await anyio.to_thread.run_sync(core.handle, request.method, request.url.path,
                                                    dict(request.headers), bytes(body), limiter=limiter)
            return _to_response(result)
        except ClientDisconnect:  # the device hung up mid-upload: nothing was processed, it will retry
            return Response(status_code=499)
        finally:
            in_flight -= 1

    routes = [
        Route("/v1/health", handle, methods=["GET"]),
        Route("/v1/batches", handle, methods=["POST"]),
        Route("/v1/fotos/{sha256}", handle, methods=["PUT"]),
    ]
    return Starlette(routes=routes)
