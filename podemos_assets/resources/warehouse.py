"""The warehouse: one resource class per engine, picked once by `build_resources` from PODEMOS_WAREHOUSE_URL.

- `DuckDBWarehouse` (`duckdb:///abs/path.duckdb`, the default): an embedded file this process opens.
- `RedshiftWarehouse` (`redshift://user@host:5439/db`, production): reached with redshift_connector; the
  password comes only from REDSHIFT_PASSWORD, read when connecting, never kept in the config or logged.

Asset code is typed with `WarehouseResource`, the interface both implement, and never asks which engine it
has: what differs (SQL fragments, snapshot reads, layout health, the dbt target, whether the file can be
opened in-process) is a method or a class attribute here. DuckDB allows one writing process per file, so
every asset that writes here runs in the `warehouse` concurrency pool (limit 1, see dagster.yaml).
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlparse

import dagster as dg
import duckdb
import pyarrow as pa

from podemos_assets.config import ConfigError
from podemos_assets.resources.warehouse_layout import (
    TABLE_INFO_COLUMNS,
    LayoutHealth,
    duckdb_health,
    redshift_health,
    svv_table_info_sql,
)

WAREHOUSE_POOL = "warehouse"


class WarehouseResource(dg.ConfigurableResource):
    """What asset code may ask of the warehouse, whichever engine `build_resources` picked."""

    embedded: ClassVar[bool]  # a DuckDB file this process opens: `connect()` works, in-process scans are possible
    dbt_target: ClassVar[str]  # the target of sql/profiles.yml that builds the dbt models on this engine

    @classmethod
    @abstractmethod
    def from_url(cls, url: str) -> WarehouseResource:
        """The resource for a PODEMOS_WAREHOUSE_URL of this engine's scheme (ConfigError: a malformed URL)."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether the warehouse is there to be read (the DuckDB file appears with the first merge)."""

    @abstractmethod
    def fetch_all(self, sql: str) -> list[tuple]:
        """Rows of one read-only query."""

    @abstractmethod
    def read_tables(self, *sql: str) -> list[pa.Table]:
        """The results of read-only queries as Arrow tables (columns named as the query names them), all
        read from one snapshot of the warehouse."""

    @abstractmethod
    def connect(self, read_only: bool = False) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A DuckDB connection to the warehouse file, closed on exit: only where `embedded`."""

    @property
    def dbt_path(self) -> str | None:
        """The DuckDB file dbt-duckdb opens (PODEMOS_WAREHOUSE_PATH); None on a server."""
        return None

    # The SQL of this engine, for queries that asset code writes once for both.
    @abstractmethod
    def json_text(self, column: str, key: str) -> str:
        """Expression: the text at top-level `key` of a JSON text column (NULL when absent)."""

    @abstractmethod
    def epoch_micros(self, column: str) -> str:
        """Expression: microseconds since 1970-01-01 of a timestamp column, as a BIGINT."""

    @abstractmethod
    def layout_health(self, table: str, column: str, compaction: str) -> LayoutHealth:
        """How well `table`'s physical layout still serves queries on `column` (its sort column), in this
        engine's own metrics and limits. `compaction` is how the platform rewrites the table in sort order:
        the fix a failing measure names where the engine has no re-sort of its own (DuckDB)."""


class DuckDBWarehouse(WarehouseResource):
    """The embedded warehouse: one DuckDB file (the default, `duckdb:///abs/path.duckdb`)."""

    path: str  # absolute path of the .duckdb file

    embedded: ClassVar[bool] = True
    dbt_target: ClassVar[str] = "dev"

    @classmethod
    def from_url(cls, url: str) -> DuckDBWarehouse:
        parsed = urlparse(url)
        if parsed.netloc or not parsed.path.startswith("/"):
            raise ConfigError(f"PODEMOS_WAREHOUSE_URL={url!r}: a duckdb:// URL needs an absolute path, "
                              "e.g. duckdb:///srv/podemos/warehouse.duckdb.")
        return cls(path=parsed.path)

    def exists(self) -> bool:
        return Path(self.path).exists()

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path, read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    @property
    def dbt_path(self) -> str:
        return self.path

    def fetch_all(self, sql: str) -> list[tuple]:
        with self.connect(read_only=True) as con:
            return con.execute(sql).fetchall()

    def read_tables(self, *sql: str) -> list[pa.Table]:
        with self.connect(read_only=True) as con:
            con.execute("BEGIN TRANSACTION")
            tables = [con.sql(q).to_arrow_table() for q in sql]
            con.execute("COMMIT")
        return tables

    def json_text(self, column: str, key: str) -> str:
        return f"json_extract_string({column}, '$.{key}')"

    def epoch_micros(self, column: str) -> str:
        return f"epoch_us({column})"

    def layout_health(self, table: str, column: str, compaction: str) -> LayoutHealth:
        with self.connect(read_only=True) as con:
            return duckdb_health(con, table, column, compaction)


class RedshiftWarehouse(WarehouseResource):
    """Amazon Redshift in production (`redshift://user@host:5439/database`). The password is read from
    REDSHIFT_PASSWORD at each connection: it is no field of this resource, so it is never in its config,
    in the Dagster UI or in a log line. Nothing here runs without a cluster; tests check the SQL it sends."""

    host: str
    port: int = 5439
    database: str
    user: str

    embedded: ClassVar[bool] = False
    dbt_target: ClassVar[str] = "prod"

    @classmethod
    def from_url(cls, url: str) -> RedshiftWarehouse:
        parsed = urlparse(url)
        if parsed.password is not None:  # the message never repeats the URL: it holds a secret
            raise ConfigError("PODEMOS_WAREHOUSE_URL carries a password: remove it; the Redshift password "
                              "comes only from REDSHIFT_PASSWORD.")
        database = parsed.path.strip("/")
        if not (parsed.hostname and parsed.username and database):
            raise ConfigError(f"PODEMOS_WAREHOUSE_URL={url!r}: a redshift:// URL needs user, host and database, "
                              "e.g. redshift://podemos_etl@cluster.xxxx.us-east-1.redshift.amazonaws.com:5439/podemos.")
        return cls(host=parsed.hostname, port=parsed.port or 5439, database=database, user=parsed.username)

    def exists(self) -> bool:
        return True  # a cluster; a missing table fails its query with "relation ... does not exist"

    def connect(self, read_only: bool = False) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        raise NotImplementedError(
            "RedshiftWarehouse: this operation opens the embedded DuckDB warehouse; on Redshift the tables are "
            "loaded with COPY and the models run through the dbt 'prod' target (see docs/production.md)."
        )

    def _connect(self):
        import redshift_connector  # the prod extra; imported only to connect

        password = os.environ.get("REDSHIFT_PASSWORD")
        if not password:
            raise ConfigError("REDSHIFT_PASSWORD is not set: the Redshift warehouse's password comes only from it "
                              "(a Secrets Manager secret in production, see docs/production.md).")
        return redshift_connector.connect(host=self.host, port=self.port, database=self.database, user=self.user,
                                          password=password)

    def _run(self, statements: tuple[str, ...]) -> list[tuple[list[str], list[tuple]]]:
        """(column names, rows) of each statement, on one connection: one transaction, so one snapshot."""
        con = self._connect()
        try:
            cur = con.cursor()
            out = []
            for sql in statements:
                cur.execute(sql)
                out.append(([d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()]))
            return out
        finally:
            con.close()

    def fetch_all(self, sql: str) -> list[tuple]:
        return self._run((sql,))[0][1]

    def read_tables(self, *sql: str) -> list[pa.Table]:
        return [pa.Table.from_arrays([pa.array([r[i] for r in rows]) for i in range(len(names))], names=names)
                for names, rows in self._run(sql)]

    def json_text(self, column: str, key: str) -> str:
        return f"json_extract_path_text({column}, '{key}')"

    def epoch_micros(self, column: str) -> str:
        return f"datediff(microsecond, '1970-01-01', {column})"

    def layout_health(self, table: str, column: str, compaction: str) -> LayoutHealth:
        rows = self.fetch_all(svv_table_info_sql(table))
        return redshift_health(dict(zip(TABLE_INFO_COLUMNS, rows[0])) if rows else {}, table)
