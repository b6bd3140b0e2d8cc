"""The production Dagster instance's storage class, named by deploy/dagster.prod.yaml (`storage: custom:`):
pooled connections, and events written a batch at a time (docs/sucursales.md, "Measured").

Needs the `prod` extra (dagster-postgres); the embedded default (../dagster.yaml, SQLite) does not use it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import sqlalchemy
from dagster._core.events.log import EventLogEntry
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config

from podemos_assets.event_batches import enable_event_batching, split_batch, store_asset_events


class PooledPostgresStorage(DagsterPostgresStorage):
    """dagster-postgres's storage (the same config as `storage: postgres:`), keeping one open connection
    per part (runs, event log, schedules) instead of opening a new one for every statement.

    Why: dagster-postgres uses SQLAlchemy's NullPool so that no process accumulates connections, so a run
    opens a session for each event it writes: 4,964 for the 200-branch day, each paying TCP, TLS, password
    auth and a server backend (6-12 ms on loopback here; more to RDS). A run process writes thousands of
    events one after another, so it keeps one connection per part, as Dagster's webserver does
    (`optimize_for_webserver`, which sets the same `_engine` attribute this does). A thread that finds the
    connection busy opens an extra one and closes it after use, as before. A connection idle for more than
    a second is pinged before use (one round trip), so one dropped by an RDS failover, a restart or an idle
    timeout is replaced before a statement uses it, and a run does not fail on an event write for it. Not
    every checkout: a run checks out ~2 connections per event, and a ping each would cost a round trip
    each (0.1 ms on loopback here, ~0.5 ms to RDS: seconds per night run).
    """

    POOL_RECYCLE_S = 3600  # reconnect hourly: RDS proxies and NAT gateways drop idle connections
    MAX_OVERFLOW = 10  # extra connections for threads that find the pooled one busy (sensor workers: 4)
    PING_AFTER_IDLE_S = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # replaces the event log dagster-postgres just built (35 ms, once per process), rather than copying
        # its constructor, which names its part classes inline
        self._event_log_storage = BatchingPostgresEventLogStorage(
            self.postgres_url, self.should_autocreate_tables,
            token_provider=self.event_log_storage._token_provider)  # noqa: SLF001
        enable_event_batching()
        for part in (self.run_storage, self.event_log_storage, self.schedule_storage):
            part._engine = create_pg_engine(  # noqa: SLF001 (the attribute each part reads its engine from)
                part.postgres_url, part._token_provider,  # noqa: SLF001 (IAM auth, when configured)
                isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=self.MAX_OVERFLOW,
                pool_recycle=self.POOL_RECYCLE_S)
            _ping_when_idle(part._engine, self.PING_AFTER_IDLE_S)  # noqa: SLF001

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledPostgresStorage:
        return cls(inst_data=inst_data, postgres_url=pg_url_from_config(config_value),
                   should_autocreate_tables=config_value.get("should_autocreate_tables", True),
                   token_provider=get_token_provider_from_config(config_value))


def _ping_when_idle(engine: sqlalchemy.engine.Engine, idle_s: float) -> None:
    """SQLAlchemy's pessimistic disconnect handling (`pool_pre_ping`), for connections idle > `idle_s` only.
    Raising DisconnectionError on checkout makes the pool discard that connection and hand out a new one."""

    @sqlalchemy.event.listens_for(engine, "connect")
    @sqlalchemy.event.listens_for(engine, "checkin")
    def _used(dbapi_connection, record) -> None:
        record.info["used_at"] = time.monotonic()

    @sqlalchemy.event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, proxy) -> None:
        if time.monotonic() - record.info.get("used_at", 0.0) <= idle_s:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:  # psycopg2 raises OperationalError or InterfaceError on a dead connection
            raise sqlalchemy.exc.DisconnectionError(f"pooled connection lost ({type(exc).__name__}); reconnecting") from exc


class BatchingPostgresEventLogStorage(PostgresEventLogStorage):
    """dagster-postgres's event log, writing a batch of asset events in one transaction.

    Why: creating a run writes one ASSET_MATERIALIZATION_PLANNED event per partition and asset (1,200 for
    the 200-branch day), and dagster-postgres writes a batch of them one by one: per event an INSERT, a
    NOTIFY (unused since 1.x; kept upstream for version skew) and an asset-key upsert, each its own commit.
    Here a batch of planned materializations, materializations or observations is one multi-row INSERT, its
    indexed tags, and one upsert per asset and event type (with the values of the last such event, which is
    what the one-by-one upserts leave), in one transaction: a failed batch leaves nothing, so Dagster's
    fallback (the events one by one) cannot store an event twice. (dagster-postgres's own batch path, for the
    materializations of one asset, commits the INSERT before the rest.) Other events are dagster-postgres's.
    """

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        batched, others = split_batch(events)
        if len(batched) < 2:
            return super().store_event_batch(events)
        if others:
            super().store_event_batch(others)
        with self.index_transaction() as conn:
            store_asset_events(self, conn, batched)
