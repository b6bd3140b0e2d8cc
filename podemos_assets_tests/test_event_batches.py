"""The embedded default's Dagster storage (the repo's dagster.yaml: SQLite, writing a batch of asset events
at once) stores what Dagster's own SQLite storage stores, in a handful of writes instead of two per event.
(Production's Postgres storage has the same tests in scale/test_postgres_instance.py.)"""

import shutil

import dagster as dg
import pytest
from dagster._core.storage.event_log import SqliteEventLogStorage

from podemos_assets.config import REPO_ROOT
from podemos_assets.instance_storage_sqlite import BatchingSqliteEventLogStorage
from podemos_assets_tests.caja_de_sucursales import (
    BOX,
    CAJA,
    UNREACHABLE,
    assert_read_back_as_one_by_one,
    box_days,
    caja_de_sucursales,
    expected,
    stored,
)


@pytest.fixture
def home(tmp_path, monkeypatch, request):
    """A DAGSTER_HOME with the repo's dagster.yaml ("batching") or Dagster's default storage ("stock")."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    if request.param == "batching":
        shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    else:  # Dagster's default instance and storage, batching off
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _count_connections(monkeypatch) -> list[str]:
    """Every connection the SQLite event log opens from now on (each is a transaction: a commit)."""
    opened: list[str] = []
    real = SqliteEventLogStorage._connect

    def counted(self, shard):
        opened.append(shard)
        return real(self, shard)

    monkeypatch.setattr(SqliteEventLogStorage, "_connect", counted)
    return opened


@pytest.mark.parametrize("home", ["batching", "stock"], indirect=True)
def test_a_box_run_is_stored_in_batches_and_reads_back_as_one_by_one(home, monkeypatch, request):
    """A run over 60 branch-days, two failing: the repo's storage writes its planned events and reported
    materializations a batch at a time, and what it stores reads back exactly as Dagster's own storage's
    event-by-event writes: every partition planned and materialized once in the run's log and in the asset
    index, the unreachable ones FAILED (what the catch-up re-requests and the UI shows), the asset's
    latest materialization the last partition's."""
    batching = request.node.callspec.params["home"] == "batching"
    keys = box_days.get_partition_keys()
    written = sorted(set(keys) - UNREACHABLE)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        # what the run workers a daemon launches rebuild too
        assert instance.get_ref().storage_data.class_name == ("BatchingSqliteStorage" if batching else "DagsterSqliteStorage")
        opened = _count_connections(monkeypatch)
        result = dg.materialize([caja_de_sucursales], instance=instance, tags=BOX, raise_on_error=False)
        writes = len(opened)
        assert not result.success
        events = len(instance.all_logs(result.run_id))
        assert_read_back_as_one_by_one(instance, home, result.run_id)
    assert events > 4 * len(keys)
    if batching:
        assert writes < events / 4, f"{writes} connections for {events} events"
    else:  # the baseline: a connection to the run's database and one to the index per asset event
        asset_events = len(CAJA) * (len(keys) + len(written))  # planned + materialized
        assert writes >= 2 * asset_events, f"{writes} connections for {events} events"


@pytest.mark.parametrize("home", ["batching"], indirect=True)
@pytest.mark.parametrize("kind", [dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, dg.DagsterEventType.ASSET_MATERIALIZATION])
def test_a_failed_batch_leaves_nothing_and_is_written_one_by_one(home, monkeypatch, kind):
    """When a batch's index transaction fails (here its asset-row update, once), the rows already written
    to the run's database are taken back, and Dagster's fallback (the events one by one) leaves each event
    once in the run's log and in the asset index."""
    real = BatchingSqliteEventLogStorage._store_asset_event
    failed = []

    def fail_once(self, conn, event, event_id):
        if event.dagster_event_type == kind and not failed:
            failed.append(event_id)
            raise OSError("disk I/O error")
        return real(self, conn, event, event_id)

    monkeypatch.setattr(BatchingSqliteEventLogStorage, "_store_asset_event", fail_once)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.materialize([caja_de_sucursales], instance=instance, tags=BOX, raise_on_error=False)
        assert failed, "the batch path was not taken"
        assert stored(instance, result.run_id) == expected(box_days.get_partition_keys())
