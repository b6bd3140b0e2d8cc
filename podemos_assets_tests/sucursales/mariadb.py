"""A private MariaDB server on loopback (throwaway datadir, free port) and a fault-injecting TCP proxy.

Shared by the tests and benchmarks/branch_extract.py.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pymysql

from podemos_assets.config import REPO_ROOT

MYSQL_DDL = REPO_ROOT / "sql" / "branch" / "mysql.sql"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MariaDB:
    """`mariadbd` as root on 127.0.0.1:<free port>; `stop()` kills it and removes the datadir."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="podemos-mariadb-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> MariaDB:
        datadir = self.dir / "data"
        if not datadir.exists():
            subprocess.run(["mariadb-install-db", "--auth-root-authentication-method=normal", f"--datadir={datadir}",
                            "--user=root", "--skip-test-db"], check=True, capture_output=True)
        self.proc = subprocess.Popen(
            ["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={datadir}", "--user=root", "--bind-address=127.0.0.1",
             f"--port={self.port}", f"--socket={self.dir / 'sock'}", "--skip-grant-tables=0", "--innodb-buffer-pool-size=64M",
             "--skip-log-bin", f"--pid-file={self.dir / 'pid'}", "--innodb-flush-log-at-trx-commit=0"],
            stdout=subprocess.DEVNULL, stderr=open(self.dir / "err.log", "wb"),
        )
        for _ in range(300):
            with contextlib.suppress(pymysql.err.OperationalError):
                self.connect().close()
                return self
            if self.proc.poll() is not None:
                raise RuntimeError((self.dir / "err.log").read_text()[-2000:])
            time.sleep(0.1)
        raise RuntimeError("mariadbd did not start in 30 s")

    def stop(self, cleanup: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)
        self.proc = None
        if cleanup:
            shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self, db: str | None = None, port: int | None = None) -> pymysql.Connection:
        return pymysql.connect(host="127.0.0.1", port=port or self.port, user="root", password="", database=db,
                               autocommit=True, connect_timeout=5)

    def url(self, db: str, port: int | None = None) -> str:
        return f"mysql://root:@127.0.0.1:{port or self.port}/{db}"

    def create_branch(self, db: str, fractional: int = 0) -> None:
        ddl = MYSQL_DDL.read_text().replace("DATETIME(0)", f"DATETIME({fractional})")
        ddl = "\n".join(line.split("--")[0] for line in ddl.splitlines())  # comments may hold ';'
        con = self.connect()
        with con.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {db}")
            cur.execute(f"CREATE DATABASE {db}")
            cur.execute(f"USE {db}")
            for statement in ddl.split(";"):
                if "CREATE" in statement:
                    cur.execute(statement)
        con.close()


class FaultProxy:
    """TCP proxy on loopback that forwards to `target_port` and can cut every connection after N bytes."""

    def __init__(self, target_port: int, port: int | None = None):
        self.target_port, self.port = target_port, port or free_port()
        self.cut_after: int | None = None  # bytes server->client before the cut
        self.cuts = 0
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stop:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, src, dst, downstream: bool):
        """Only the first connection that carries more than `cut_after` bytes is cut: the retry goes through."""
        sent = 0
        try:
            while data := src.recv(65536):
                limit = self.cut_after if downstream and self.cuts == 0 else None
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[: max(0, limit - sent)])
                    self.cuts += 1
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self):
        self._stop = True
        self._server.close()
