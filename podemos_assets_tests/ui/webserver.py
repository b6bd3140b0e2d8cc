"""Start the real `dagster-webserver` on the repo's workspace.yaml and a loopback port; stop it for sure."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from podemos_assets.config import REPO_ROOT

WEBSERVER = Path(sys.executable).with_name("dagster-webserver")
# The code location is loaded when the workspace answers; GraphQL tells us whether it loaded cleanly.
LOCATIONS_QUERY = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_loaded(base_url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    """Poll GraphQL until every code location has LOADED; fail early with the log if the server died
    or a location failed to load."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dagster-webserver exited {proc.returncode}:\n{log.read_text()[-6000:]}")
        try:
            resp = httpx.post(f"{base_url}/graphql", json={"query": LOCATIONS_QUERY}, timeout=5)
            entries = resp.json()["data"]["workspaceOrError"].get("locationEntries") or []
            last = str(entries)
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                errors = [e for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
                assert not errors, f"code location failed to load in the webserver: {errors}"
                return
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            last = repr(exc)
        time.sleep(0.5)
    raise AssertionError(f"dagster-webserver not ready after {timeout:.0f} s ({last}):\n{log.read_text()[-4000:]}")


@contextmanager
def dagster_webserver(env: dict[str, str], log: Path, timeout: float = 240, cwd: Path = REPO_ROOT):
    """Yield the base URL of a webserver on `env`'s DAGSTER_HOME; kill it and its code server after. `cwd`
    holds the workspace.yaml, whose `working_directory: .` puts that checkout first on the code server's path."""
    port = free_port()
    with log.open("w") as out:
        # Own process group, so teardown ends the webserver and the code-server child it spawned.
        proc = subprocess.Popen(
            [str(WEBSERVER), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_loaded(base_url, proc, log, timeout)
        yield base_url
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group we started (webserver + code server), SIGKILL what is left."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return  # the whole group is gone
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        time.sleep(0.5)  # the code server exits right after its parent


DAEMON = Path(sys.executable).with_name("dagster-daemon")


@contextmanager
def dagster_daemon(env: dict[str, str], log: Path):
    """The real `dagster-daemon run` on `env`'s DAGSTER_HOME (sensors, schedules, automation, run
    monitoring, the run queue), as production runs it beside the webserver; killed with its children after."""
    with log.open("w") as out:
        proc = subprocess.Popen([str(DAEMON), "run", "-w", "workspace.yaml"], cwd=REPO_ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop_group(proc)
