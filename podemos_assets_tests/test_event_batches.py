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


def _count_connections(monkeypatch, storage: SqliteEventLogStorage) -> list[str]:
    """Every connection the SQLite event log opens from now on (each is a transaction: a commit)."""
    opened: list[str] = []
    real = type(storage)._connect  # ours overrides Dagster's (it keeps the connections open)

    def counted(self, shard):
        opened.append(shard)
        return real(self, shard)

    monkeypatch.setattr(type(storage), "_connect", counted)
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
        opened = _count_connections(monkeypatch, instance.event_log_storage)
        result = dg.materialize([caja_de_sucursales], instance=instance, tags=BOX, raise_on_error=False)
        writes = len(opened)
        assert not result.success
        events = len(instance.all_logs(result.run_id))
        assert_read_back_as_one_by_one(instance, home, result.run_id)
    assert events > 4 * len(keys)
    if batching:
        assert 0 < writes < events / 4, f"{writes} connections for {events} events"
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


WRITE_FROM_ANOTHER_PROCESS = """
import sys, dagster as dg
from podemos_assets_tests.caja_de_sucursales import BOX, caja_de_sucursales
with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
    print(dg.materialize([caja_de_sucursales], instance=instance, tags=BOX, raise_on_error=False).run_id)
"""


@pytest.mark.parametrize("home", ["batching"], indirect=True)
def test_kept_connections_see_what_another_process_commits_and_stay_bounded(home):
    """The storage keeps its SQLite connections open between uses (a new engine per use cost 4-7x as much).
    What a run worker or the daemon commits in another process is read at once through them, as through
    Dagster's fresh ones; a run's database it writes after the reader opened is created and read; the
    engines kept are bounded, and closing the instance closes every file."""
    import os
    import subprocess
    import sys

    from podemos_assets.instance_storage_sqlite import KEPT_RUN_DATABASES

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert not instance.get_runs()  # the reader's connections are open now
        assert not instance.fetch_materializations(CAJA[1], limit=1).records
        run_id = subprocess.run([sys.executable, "-c", WRITE_FROM_ANOTHER_PROCESS, str(home)], cwd=REPO_ROOT,
                                capture_output=True, text=True, check=True, timeout=300).stdout.split()[-1]
        assert [r.run_id for r in instance.get_runs()] == [run_id]
        assert stored(instance, run_id) == expected(box_days.get_partition_keys())
        latest = instance.fetch_materializations(CAJA[1], limit=1).records
        assert latest and latest[0].run_id == run_id

        storage = instance.event_log_storage
        for n in range(KEPT_RUN_DATABASES + 5):  # more runs' databases than are kept open
            storage.get_logs_for_run(f"{n:08d}-not-a-run")
        assert len(storage._engines._engines) == 1 + KEPT_RUN_DATABASES  # noqa: SLF001 (the index and the latest runs)
        assert stored(instance, run_id) == expected(box_days.get_partition_keys())  # an evicted one reopens

        storage.wipe()  # deletes the runs' databases: nothing kept may point at a deleted file
        assert not instance.all_logs(run_id)

    open_files = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
                  if os.path.exists(f"/proc/self/fd/{fd}")]
    assert not [f for f in open_files if f.startswith(str(home))], "files left open after the instance closed"
