"""The embedded default's Dagster storage: Dagster's SQLite storage in the instance's directory, the same
files, writing a batch of asset events at once (event_batches.py). The repo's dagster.yaml names
`PodemosInstance` below, whose default storage it is. Production's is instance_storage.py (Postgres).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dagster as dg
import yaml
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData

from podemos_assets.event_batches import enable_event_batching, insert_events, split_batch, store_asset_events


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log (a database per run, plus the cross-run index), writing a batch of one
    run's asset events as one INSERT in the run's database and one transaction in the index, instead of two
    connections and two commits per event (~16 ms each on this machine's disk: 19.5 s of planned events
    before a run of 200 branch-days starts). If the index's transaction fails, the run's rows just written
    are deleted before the error reaches Dagster, which then writes the batch event by event: no event is
    stored twice."""

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
    """Dagster's SQLite storage (the config and files of `storage: sqlite:`) with the event log above."""

    def __init__(self, base_dir: str, inst_data=None):
        super().__init__(base_dir, inst_data)
        # replaces the event log Dagster just built (its constructor names its part classes inline)
        self._event_log_storage = BatchingSqliteEventLogStorage(self._event_log_storage._base_dir)  # noqa: SLF001
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
