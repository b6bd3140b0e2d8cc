"""The warehouse: an embedded DuckDB file by default, Amazon Redshift in production.

Asset code asks this resource for a connection and never for the environment. DuckDB allows one
writing process per file, so every asset that writes here runs in the `warehouse` concurrency pool
(limit 1, see dagster.yaml).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import duckdb

WAREHOUSE_POOL = "warehouse"


class WarehouseResource(dg.ConfigurableResource):
    """`duckdb:///abs/path.duckdb` locally; `redshift://…` is reached through dbt-redshift in production."""

    url: str

    @property
    def dialect(self) -> str:
        return urlparse(self.url).scheme

    @property
    def duckdb_path(self) -> Path:
        if self.dialect != "duckdb":
            raise NotImplementedError(
                f"Warehouse {self.dialect!r}: this operation runs on the embedded DuckDB warehouse; on Redshift "
                "the same models run through the dbt 'prod' target (see docs/production.md)."
            )
        return Path(urlparse(self.url).path)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        path = self.duckdb_path
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    def fetch_all(self, sql: str) -> list[tuple]:
        """Rows of a read-only query: DuckDB locally; on Redshift through redshift_connector (installed with
        dbt-redshift), user/host/database from the URL and the password from REDSHIFT_PASSWORD."""
        if self.dialect == "duckdb":
            with self.connect(read_only=True) as con:
                return con.execute(sql).fetchall()
        import redshift_connector

        parsed = urlparse(self.url)
        con = redshift_connector.connect(
            host=parsed.hostname,
            port=parsed.port or 5439,
            database=parsed.path.lstrip("/"),
            user=parsed.username,
            password=os.environ.get("REDSHIFT_PASSWORD", ""),
        )
        try:
            cur = con.cursor()
            cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()]
        finally:
            con.close()
