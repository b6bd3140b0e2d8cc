"""The production Dagster instance (deploy/dagster.prod.yaml) against a real PostgreSQL 15 server.

The server is private (initdb in a temp dir, loopback, password auth); compute logs go to S3, which
here is moto on loopback, not AWS. `.ci/run` installs the postgresql package so CI runs this.
"""

import shutil
import time

import dagster as dg
import psycopg2
import pytest
import sqlalchemy
from dagster_postgres.event_log import PostgresEventLogStorage

from podemos_assets.config import REPO_ROOT
from podemos_assets.instance import POOL_LIMITS
from podemos_assets.instance_storage import BatchingPostgresEventLogStorage, PooledPostgresStorage
from podemos_assets_tests.caja_de_sucursales import (
    BOX,
    assert_read_back_as_one_by_one,
    box_days,
    caja_de_sucursales,
    expected,
    stored,
)
from podemos_assets_tests.scale.servers import moto_s3, postgres_available, postgres_server

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_installed():
    # A fail, not a skip: this test is the proof that the production instance works (`.ci/run` installs it).
    if not postgres_available():
        pytest.fail("PostgreSQL 15 is not installed: `apt-get install postgresql` (what .ci/run does).")

PROD_YAML = REPO_ROOT / "deploy" / "dagster.prod.yaml"
LOGS_BUCKET = "podemos-dagster-logs"

branch_days = dg.MultiPartitionsDefinition(
    {"fecha": dg.DailyPartitionsDefinition(start_date="2026-11-01"), "sucursal": dg.StaticPartitionsDefinition(["suc_001", "suc_002"])}
)


# Representative of the branch extraction: the same partitions shape and the same pool.
@dg.asset(partitions_def=branch_days, pool="sucursales")
def extraccion_representativa(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    slots = context.instance.event_log_storage.get_concurrency_info("sucursales")
    return dg.MaterializeResult(
        metadata={"holders": sorted(s.run_id for s in slots.claimed_slots), "slot_limit": slots.slot_count}
    )


@pytest.fixture(scope="module")
def prod_env(tmp_path_factory):
    """DAGSTER_HOME holding deploy/dagster.prod.yaml, with its env pointing at the private servers."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copyfile(PROD_YAML, home / "dagster.yaml")
    with postgres_server() as pg, moto_s3(LOGS_BUCKET):
        mp = pytest.MonkeyPatch()
        for k, v in {**pg.env(), "DAGSTER_LOGS_BUCKET": LOGS_BUCKET, "DAGSTER_HOME": str(home)}.items():
            mp.setenv(k, v)
        try:
            yield home, pg
        finally:
            mp.undo()


def test_runs_events_and_pools_are_stored_in_postgres(prod_env):
    home, pg = prod_env
    keys = ["2026-11-03|suc_001", "2026-11-03|suc_002", "2026-11-04|suc_001"]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for pool, limit in POOL_LIMITS.items():
            instance.event_log_storage.set_concurrency_slots(pool, limit)
        run_ids = []
        for key in keys:
            result = dg.materialize([extraccion_representativa], instance=instance, partition_key=key)
            assert result.success
            run_ids.append(result.run_id)

    # A second instance (new connections, nothing cached) reads everything back from Postgres.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        for run_id in run_ids:
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
        materialized = instance.get_materialized_partitions(extraccion_representativa.key)
        assert materialized == set(keys)
        assert {p: instance.event_log_storage.get_concurrency_info(p).slot_count for p in POOL_LIMITS} == POOL_LIMITS
        # Each step held a slot of the `sucursales` pool while it ran, and released it after.
        records = instance.fetch_materializations(extraccion_representativa.key, limit=10).records
        holders = sorted(r.asset_materialization.metadata["holders"].value for r in records)
        assert holders == sorted([[rid] for rid in run_ids])
        assert instance.event_log_storage.get_concurrency_info("sucursales").claimed_slots == []

    with psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname=pg.db) as con:
        with con.cursor() as cur:
            cur.execute("SELECT count(*) FROM runs WHERE run_id = ANY(%s)", (run_ids,))
            assert cur.fetchone()[0] == len(keys)
            cur.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")
            assert cur.fetchone()[0] == len(keys)
            cur.execute("SELECT concurrency_key, count(*) FROM concurrency_slots GROUP BY 1 ORDER BY 1")
            assert dict(cur.fetchall()) == POOL_LIMITS


def test_compute_logs_are_uploaded_to_the_logs_bucket(prod_env):
    import boto3

    home, _ = prod_env
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.materialize([extraccion_representativa], instance=instance, partition_key="2026-11-05|suc_002")
        assert result.success
    listed = boto3.client("s3").list_objects_v2(Bucket=LOGS_BUCKET, Prefix="dagster/compute-logs/")
    keys = [o["Key"] for o in listed.get("Contents", [])]
    assert any(result.run_id in k and k.endswith(".out") for k in keys), keys


def test_prod_instance_queues_runs_with_limits_retries_and_monitoring(prod_env):
    home, _ = prod_env
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert type(instance.run_launcher).__name__ == "EcsRunLauncher"
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 24
        limits = {(t["key"], t.get("value")): t["limit"] for t in queue.tag_concurrency_limits}
        assert limits == {("dagster/backfill", None): 12, ("podemos/motor", "spark"): 1}
        pools = instance.get_concurrency_config().pool_config
        assert (pools.default_pool_limit, pools.pool_granularity.value) == (1, "op")
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert instance.run_monitoring_enabled and instance.run_monitoring_start_timeout_seconds == 300


LOG_LINES = 150


@dg.asset
def bitacora_larga(context: dg.AssetExecutionContext) -> None:
    for i in range(LOG_LINES):  # each line is one event the storage writes
        context.log.info(f"linea {i}")


def _sessions(pg) -> int:
    """Sessions the server has opened in the database so far. A backend's count reaches the statistics when
    it ends or, for a long-lived one, within a second: wait until two readings agree."""
    last = None
    while True:
        with psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname=pg.db) as con:
            with con.cursor() as cur:
                cur.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
                now = int(cur.fetchone()[0])
        con.close()
        if now - 1 == last:  # the previous reading's own session is the only difference
            return now
        last = now
        time.sleep(1.2)


@pytest.mark.parametrize("storage", ["prod", "stock"])
def test_a_run_keeps_its_connections_instead_of_one_per_event(prod_env, tmp_path, storage):
    """deploy/dagster.prod.yaml's storage holds one connection per part; dagster-postgres's stock storage
    (the same config under `storage: postgres:`) opens one per write. Counted by the server itself."""
    import yaml

    home, pg = prod_env
    if storage == "stock":
        config = yaml.safe_load(PROD_YAML.read_text())
        (tmp_path / "dagster.yaml").write_text(yaml.safe_dump({"storage": {"postgres": config["storage"]["custom"]["config"]}}))
        home = tmp_path
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage_class = {"prod": "PooledPostgresStorage", "stock": "DagsterPostgresStorage"}[storage]
        assert instance.get_ref().storage_data.class_name == storage_class  # what a run worker rebuilds too
        before = _sessions(pg)
        result = dg.materialize([bitacora_larga], instance=instance)
        assert result.success
        events = len(instance.all_logs(result.run_id))
    opened = _sessions(pg) - before - 1
    assert events > LOG_LINES
    if storage == "prod":
        assert opened <= 10, f"{opened} sessions for a run of {events} events"
    else:  # the baseline: what the pooled storage saves
        assert opened >= events, f"{opened} sessions for a run of {events} events"


def test_a_pooled_connection_dropped_by_the_server_is_replaced_before_a_run_writes(prod_env):
    """A failover, restart or idle timeout ends the pooled connections while the process is idle; the next
    run must not fail on them (the storage pings a connection idle for more than a second before use)."""
    home, pg = prod_env
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert dg.materialize([bitacora_larga], instance=instance).success  # the pool now holds its connections
        with psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname=pg.db) as con:
            with con.cursor() as cur:
                cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                assert cur.fetchone()[0] >= 1  # the instance's pooled connections, now dead
        con.close()
        time.sleep(PooledPostgresStorage.PING_AFTER_IDLE_S + 0.2)  # idle: the next checkout pings first
        result = dg.materialize([bitacora_larga], instance=instance)
        assert result.success
        stored = [e for e in instance.all_logs(result.run_id) if e.user_message.startswith("linea ")]
        assert len(stored) == LOG_LINES


def _count_statements(storage) -> list[str]:
    """The statements the event log storage sends from now on (SQLAlchemy's own hook on its engine)."""
    sent: list[str] = []
    sqlalchemy.event.listen(storage._engine, "before_cursor_execute",  # noqa: SLF001 (the engine it writes with)
                            lambda conn, cursor, statement, *args: sent.append(statement))
    return sent


@pytest.mark.parametrize("storage", ["prod", "stock"])
def test_a_box_run_is_stored_in_batches_and_reads_back_as_one_by_one(prod_env, tmp_path, monkeypatch, storage):
    """A run over 60 branch-days: the production storage writes its planned events and its reported
    materializations in batches (a handful of statements, counted on its engine), and what it stores reads
    back exactly as the stock storage's one-by-one writes: every partition planned and materialized once,
    the unreachable ones FAILED (what the catch-up sensor re-requests), the asset's latest materialization
    the last partition's."""
    import yaml

    home, _ = prod_env
    if storage == "stock":
        config = yaml.safe_load(PROD_YAML.read_text())
        (tmp_path / "dagster.yaml").write_text(yaml.safe_dump({"storage": {"postgres": config["storage"]["custom"]["config"]}}))
        home = tmp_path
        monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)  # Dagster's default (the prod storage sets it)
    keys = box_days.get_partition_keys()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        sent = _count_statements(instance.event_log_storage)
        result = dg.materialize([caja_de_sucursales], instance=instance, tags=BOX, raise_on_error=False)
        statements = len(sent)
        assert not result.success
        events = len(instance.all_logs(result.run_id))
        assert_read_back_as_one_by_one(instance, home, result.run_id)
    assert events > 4 * len(keys)
    if storage == "prod":
        assert isinstance(instance.event_log_storage, BatchingPostgresEventLogStorage)
        assert statements < events / 4, f"{statements} statements for {events} events"
    else:  # the baseline: two statements or more per event (the insert, the notify, the asset's row)
        assert statements >= 2 * events, f"{statements} statements for {events} events"


@pytest.mark.parametrize("kind", [dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, dg.DagsterEventType.ASSET_MATERIALIZATION])
def test_a_failed_batch_leaves_nothing_and_is_written_one_by_one(prod_env, monkeypatch, kind):
    """A batch of events is one transaction: when it fails (here the asset-key upsert, once), nothing of it
    stays, and Dagster's fallback (store the events one by one) leaves each event once."""
    home, _ = prod_env
    real = BatchingPostgresEventLogStorage._store_asset_event
    failed = []

    def fail_once(self, conn, event, event_id):
        if event.dagster_event_type == kind and not failed:
            failed.append(event_id)
            raise psycopg2.OperationalError("server closed the connection unexpectedly")
        return real(self, conn, event, event_id)

    monkeypatch.setattr(BatchingPostgresEventLogStorage, "_store_asset_event", fail_once)
    keys = box_days.get_partition_keys()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.materialize([caja_de_sucursales], instance=instance, tags=BOX, raise_on_error=False)
        assert failed, "the batch path was not taken"
        assert stored(instance, result.run_id) == expected(keys)
