"""The embedded default's Dagster storage: Dagster's SQLite storage in the instance's directory, the same
files, writing a batch of asset events at once (event_batches.py) and keeping its connections open between
uses. The repo's dagster.yaml names `PodemosInstance` below, whose default storage it is. Production's is
instance_storage.py (Postgres).

Why keep connections: Dagster's SQLite storages build a new engine for every read and write and close it
after. Closing the last connection to a WAL database checkpoints it, and a new engine compiles every
statement again; measured here (benchmarks/sqlite_instance.py), 8.5-9.7 ms to store one event and 4.5-6.2 ms
for one read of a run's events, against ~2 ms and ~1-1.6 ms with a kept connection. Every sensor tick and
every run of the embedded default reads and writes through them. Durability is unchanged: each use is still
one transaction, committed (and synced) as before; only the connection outlives it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import dagster as dg
import sqlalchemy as db
import yaml
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData

from podemos_assets.event_batches import enable_event_batching, insert_events, split_batch, store_asset_events

KEPT_RUN_DATABASES = 16  # a run's events go to its own file: the engines of the latest runs stay open


class KeptEngines:
    """One SQLAlchemy engine per SQLite file, each keeping one connection open between uses (more are
    opened, and closed after use, when threads use a file at once). Past `keep` files the least recently
    used is closed."""

    def __init__(self, keep: int, connect_args: dict | None = None):
        self._keep, self._connect_args = keep, connect_args or {}
        self._engines: OrderedDict[str, db.Engine] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conn_string: str) -> db.Engine:
        with self._lock:
            engine = self._engines.pop(conn_string, None) or db.create_engine(
                conn_string, pool_size=1, max_overflow=-1, connect_args=self._connect_args)
            self._engines[conn_string] = engine
            while len(self._engines) > self._keep:
                self._engines.popitem(last=False)[1].dispose()  # a connection in use closes when returned
            return engine

    @contextmanager
    def transaction(self, conn_string: str) -> Iterator[db.Connection]:
        """What Dagster's SQLite `connect()` yields: a connection in a transaction, committed on exit."""
        with self.get(conn_string).connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        with self._lock:
            while self._engines:
                self._engines.popitem()[1].dispose()


class KeptSqliteRunStorage(SqliteRunStorage):
    """Dagster's SQLite run storage, its connection kept open (module docstring)."""

    def __init__(self, conn_string: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(conn_string, inst_data)
        self._engines = KeptEngines(1)

    def connect(self):
        return self._engines.transaction(self._conn_string)

    def dispose(self) -> None:
        self._engines.dispose()
        super().dispose()


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log (a database per run, plus the cross-run index), writing a batch of one
    run's asset events as one INSERT in the run's database and one transaction in the index, instead of two
    connections and two commits per event (~16 ms each on this machine's disk: 19.5 s of planned events
    before a run of 200 branch-days starts). If the index's transaction fails, the run's rows just written
    are deleted before the error reaches Dagster, which then writes the batch event by event: no event is
    stored twice. Its connections are kept open: the index's, and those of the latest runs' databases."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines = KeptEngines(1 + KEPT_RUN_DATABASES, {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        super().__init__(base_dir, inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[db.Connection]:
        # Dagster's `_connect` with a kept engine in place of a new one per call.
        with self._db_lock:
            engine = self._engines.get(self.conn_string_for_shard(shard))
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def wipe(self) -> None:
        self._engines.dispose()  # wipe deletes the runs' files: no connection may outlive them
        super().wipe()

    def dispose(self) -> None:
        self._engines.dispose()
        super().dispose()

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        batched, others = split_batch(events)
        if len(batched) < 2 or len({e.run_id for e in batched}) != 1:
            return super().store_event_batch(events)
        if others:
            super().store_event_batch(others)
        run_id = batched[0].run_id
        with self.run_connection(run_id) as conn:  # each connection of this storage is one transaction
            written = insert_events(self, conn, batched)
        try:
            with self.index_transaction() as conn:
                store_asset_events(self, conn, batched)
        except Exception:
            with self.run_connection(run_id) as conn:
                conn.execute(SqlEventLogStorageTable.delete().where(SqlEventLogStorageTable.c.id.in_(written)))
            raise


class BatchingSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (the config and files of `storage: sqlite:`) with the parts above."""

    def __init__(self, base_dir: str, inst_data=None):
        # DagsterSqliteStorage.__init__ with our three parts (it names its part classes inline)
        self.base_dir = base_dir
        self._run_storage = KeptSqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = BatchingSqliteEventLogStorage(_event_logs_directory(base_dir))
        # Dagster's schedule storage (ticks, cursors) as is: the instance never disposes it, so a connection it
        # kept would stay open as long as the process; a tick is recorded about once a minute per sensor.
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        DagsterStorage.__init__(self)
        enable_event_batching()

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> BatchingSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)


class PodemosInstance(dg.DagsterInstance):
    """Dagster's instance, whose default storage (no `storage:` section) is `BatchingSqliteStorage` in the
    instance's own directory, where Dagster's is `DagsterSqliteStorage` there.

    Why an instance class (dagster.yaml `instance_class:`, Dagster's extension point) and not `storage:
    custom:`: a storage section needs its base_dir written out, and `{env: DAGSTER_HOME}` or a relative path
    would point every instance opened by directory (`DagsterInstance.from_config(dir)`: the tests, the
    benchmarks, `podemos` reading another home) at another home's event log; the default is given the
    directory."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}

    @classmethod
    def config_defaults(cls, base_dir: str) -> Mapping[str, ConfigurableClassData | None]:
        return {**InstanceRef.config_defaults(base_dir),
                "storage": ConfigurableClassData(__name__, BatchingSqliteStorage.__name__,
                                                 yaml.dump({"base_dir": base_dir}, default_flow_style=False))}
