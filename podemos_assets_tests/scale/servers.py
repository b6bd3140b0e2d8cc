"""Throwaway servers on loopback for the scale tests: a private PostgreSQL 15 and a moto S3 endpoint.

Both bind 127.0.0.1 on a free port and leave nothing behind. moto is an S3 *emulator*: passing here
shows our S3 code speaks the S3 API correctly, not that AWS itself was reached.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
# PostgreSQL refuses to run as root; the Debian package creates this system user.
PG_OS_USER = "postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_available() -> bool:
    return (PG_BIN / "initdb").exists() and shutil.which("runuser") is not None


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    db: str

    def env(self) -> dict[str, str]:
        """The variables deploy/dagster.prod.yaml reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_DB": self.db,
            "DAGSTER_PG_USERNAME": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "PGSSLMODE": "disable",
        }


def _as_pg_user(*args: str) -> None:
    subprocess.run(["runuser", "-u", PG_OS_USER, "--", *args], check=True, capture_output=True, text=True)


@contextmanager
def postgres_server(db: str = "dagster") -> Iterator[Postgres]:
    """initdb + pg_ctl a private cluster (password auth over TCP), create `db`, stop and delete it after."""
    root = Path(tempfile.mkdtemp(prefix="podemos-pg-"))
    data = root / "data"
    password = "test-" + os.urandom(8).hex()
    pwfile = root / "pw"
    pwfile.write_text(password + "\n")
    shutil.chown(root, PG_OS_USER)
    shutil.chown(pwfile, PG_OS_USER)
    port = free_port()
    started = False
    try:
        _as_pg_user(str(PG_BIN / "initdb"), "-D", str(data), "-U", "dagster", f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-sync")
        _as_pg_user(str(PG_BIN / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(data), "-l", str(root / "log"),
                    "-o", f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off")
        started = True
        import psycopg2

        con = psycopg2.connect(host="127.0.0.1", port=port, user="dagster", password=password, dbname="postgres")
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{db}"')
        con.close()
        yield Postgres("127.0.0.1", port, "dagster", password, db)
    finally:
        if started:
            subprocess.run(["runuser", "-u", PG_OS_USER, "--", str(PG_BIN / "pg_ctl"), "stop", "-m", "fast",
                            "-D", str(data)], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _atomic_moto_server(port: int):
    """moto's server, answering one request at a time (connections are still accepted concurrently).

    moto's in-memory backends check a write's condition and then write without a lock (DynamoDB's
    `put_item` in moto/dynamodb/models/table.py): two concurrent conditional PutItems on one key can both
    succeed, which DynamoDB never allows, and the race test saw it under load. Serialized, the emulator
    has the per-request atomicity the real services guarantee; the clients still race each other."""
    import threading

    from moto.server import DomainDispatcherApplication, MotoRequestHandler, ThreadedMotoServer, create_backend_app
    from werkzeug.serving import make_server

    class AtomicMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app, one_at_a_time = DomainDispatcherApplication(create_backend_app), threading.Lock()

            def serialized(environ, start_response):
                with one_at_a_time:  # the whole response, body included, is produced under the lock
                    return list(app(environ, start_response))

            self._server = make_server(self._ip_address, self._port, serialized, True,
                                       request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return AtomicMotoServer(ip_address="127.0.0.1", port=port, verbose=False)


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server (every AWS service it emulates) on loopback; yields its endpoint URL.

    The AWS_* variables point every boto3 / pyarrow client of this process at it, with fake keys.
    """
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
    port = free_port()
    server = _atomic_moto_server(port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "moto-testing",
        "AWS_SECRET_ACCESS_KEY": "moto-testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield endpoint
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def moto_s3(bucket: str) -> Iterator[str]:
    """moto on loopback with an S3 `bucket` created; yields the endpoint URL."""
    import boto3

    with moto_server() as endpoint:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        yield endpoint
