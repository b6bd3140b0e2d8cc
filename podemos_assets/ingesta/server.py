"""Run the ingestion app with uvicorn: in the foreground (`podemos ingest serve`) or in a background
thread on a free loopback port (demo, tests, benchmark)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# backlog: a reconnect storm opens hundreds of connections at once; keep-alive long enough that a
# device's batches reuse one connection.
UVICORN_OPTIONS = dict(log_level="warning", access_log=False, timeout_keep_alive=30, backlog=4096)


def _config(app, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, **UVICORN_OPTIONS)


def serve_forever(app, host: str, port: int) -> None:
    uvicorn.Server(_config(app, host, port)).run()


@contextlib.contextmanager
def serving(app, host: str = "127.0.0.1", port: int | None = None) -> Iterator[str]:
    """Serve `app` in a daemon thread; yields the base URL and stops the server on exit."""
    port = port or free_port(host)
    server = uvicorn.Server(_config(app, host, port))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the ingestion server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextlib.contextmanager
def serving_subprocess(env: dict[str, str], host: str = "127.0.0.1", port: int | None = None,
                       max_in_flight: int | None = None, args: list[str] = (),
                       pythonpath: str | None = None, module: str = "podemos_assets.ingesta.cli") -> Iterator[str]:
    """`podemos ingest serve` in a child process (its own interpreter: no GIL shared with the caller);
    `args` are extra flags (e.g. `--server granian`); `pythonpath` runs another checkout's package, whose
    `module` serves it (older checkouts had the service in `podemos_assets.campo.cli`)."""
    import os
    import subprocess
    import sys

    import httpx

    port = port or free_port(host)
    cmd = [sys.executable, "-m", module, "serve", "--host", host, "--port", str(port)]
    if max_in_flight:
        cmd += ["--max-in-flight", str(max_in_flight)]
    cmd += list(args)
    child_env = {**os.environ, **env}
    if pythonpath:  # another checkout of the package (the benchmark's "before" figure)
        child_env["PYTHONPATH"] = pythonpath
    proc = subprocess.Popen(cmd, env=child_env, stdout=subprocess.DEVNULL, cwd=pythonpath)
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + 180  # importing dagster on a busy machine takes a while
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"`podemos ingest serve` exited with {proc.returncode}")
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the ingestion server did not answer on {url}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
