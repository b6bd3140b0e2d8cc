"""The SDK over real HTTP on loopback: which answers it retries and which are final."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from podemos_assets.ingesta.sdk import DeviceClient, Outbox, SyncError


def serve(answers: list[int]):
    """A server that answers the given statuses in order (then 201 forever), recording each request's body."""
    seen: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self):  # noqa: N802 - http.server's naming
            seen.append(self.rfile.read(int(self.headers.get("content-length", 0))))
            status = answers.pop(0) if answers else 201
            body = b'{"error": "cuerpo incompleto"}' if status != 201 else b'{"estado": "guardada"}'
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


async def _put(port: int, tmp_path, max_attempts: int = 5):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        client = DeviceClient("dev_001", b"s" * 32, Outbox(tmp_path / "outbox.sqlite", durable=False), http,
                              base_delay_s=0.001, max_attempts=max_attempts)
        response = await client._exchange("PUT", "/v1/fotos/abc", lambda: b"foto")
        return response, client.report


def test_a_408_is_retried_and_the_photo_then_stored(tmp_path):
    server, seen = serve([408, 408])
    try:
        response, report = asyncio.run(_put(server.server_port, tmp_path))
    finally:
        server.shutdown()
    assert response.status_code == 201
    assert report.retries == 2 and seen == [b"foto"] * 3  # the same body each time, until the server took it


def test_a_400_is_final(tmp_path):
    server, seen = serve([400])
    try:
        response, report = asyncio.run(_put(server.server_port, tmp_path))
    finally:
        server.shutdown()
    assert response.status_code == 400 and report.retries == 0 and len(seen) == 1


def test_408_forever_ends_in_a_sync_error_naming_the_device(tmp_path):
    server, seen = serve([408] * 10)
    try:
        with pytest.raises(SyncError, match="dev_001: PUT /v1/fotos/abc still failing after 3 attempts"):
            asyncio.run(_put(server.server_port, tmp_path, max_attempts=3))
    finally:
        server.shutdown()
    assert len(seen) == 3


def test_photos_answered_by_something_that_is_not_the_service_end_in_a_sync_error_naming_them(tmp_path):
    """A proxy in front of the service answers a 400 page in HTML: the SDK names the photos, marks none
    uploaded and keeps them queued (no JSON decode error escapes)."""

    class Proxy(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("content-length", 0)))
            body = b"<html><body>400 Bad Request</body></html>"
            self.send_response(400)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    outbox = Outbox(tmp_path / "outbox.sqlite", durable=False)
    outbox.enqueue_many([({"event_id": f"e{i}"}, b"foto %d" % i) for i in range(3)])

    async def upload():
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.server_port}") as http:
            await DeviceClient("dev_001", b"s" * 32, outbox, http).upload_photos()

    try:
        with pytest.raises(SyncError, match=r"dev_001: 3 photo\(s\) refused \(400\)"):
            asyncio.run(upload())
    finally:
        server.shutdown()
    assert len(outbox.pending_photos()) == 3
