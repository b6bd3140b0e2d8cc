"""A `kill -9` of `podemos backfill` in mid-run: the real daemon's run monitor ends the run and frees its slot.

Everything is real: the `podemos backfill` process, the repo's dagster.yaml (only the monitor's poll and
the slot grace shortened), `dagster-daemon run`, and a branch whose MySQL server accepts the connection
and never answers (a hung link), so the run is deterministically inside its step, holding its
`sucursales` slot, when it is killed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from podemos_assets.config import DEFAULT_BRANCH_REGISTRY, REPO_ROOT
from podemos_assets.instance import POOL_LIMITS

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
DAY = "2026-11-02"
POLL = 3  # the monitor's poll_interval_seconds for this test; the backfill's lease is 3 polls (9 s)


def _wait(what: str, predicate, timeout: float, procs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        for p, log in procs:
            assert p.poll() is None, f"{p.args[1]} exited with {p.returncode} waiting for {what}:\n{log.read_text()}"
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def hung_mysql():
    """A TCP server that accepts connections and never sends the MySQL greeting."""
    server = socket.create_server(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def env(tmp_path, hung_mysql):
    home = tmp_path / "podemos"
    (home / "sucursales").mkdir(parents=True)
    # suc_001: an embedded branch that answers (empty tables); suc_002: the hung MySQL branch.
    con = sqlite3.connect(home / "sucursales" / "suc_001.sqlite")
    con.executescript((REPO_ROOT / "sql" / "branch" / "sqlite.sql").read_text())
    con.close()
    rows = DEFAULT_BRANCH_REGISTRY.read_text(encoding="utf-8").splitlines()
    rows = [r if not r.startswith("suc_002,") else
            ",".join(r.split(",")[:4] + [f"mysql://podemos@127.0.0.1:{hung_mysql}/suc_002", ""]) for r in rows]
    registry = tmp_path / "sucursales.csv"
    registry.write_text("\n".join(rows) + "\n", encoding="utf-8")

    dagster_home = home / "dagster_home"
    dagster_home.mkdir()
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    assert config["run_monitoring"]["enabled"] and config["run_monitoring"]["free_slots_after_run_end_seconds"]
    config["run_monitoring"].update(poll_interval_seconds=POLL, free_slots_after_run_end_seconds=1)
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))
    # What `podemos instance-setup` sets, but one `sucursales` slot: one leaked slot then stops all branch
    # extraction (as sixteen do in production), so the next backfill runs only if the leak was repaired.
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for pool, limit in {**POOL_LIMITS, "sucursales": 1}.items():
            instance.event_log_storage.set_concurrency_slots(pool, limit)

    # The monitor does not use the code location: an empty one keeps the daemon light on two cores.
    (tmp_path / "vacio.py").write_text("import dagster as dg\n\ndefs = dg.Definitions()\n")
    (tmp_path / "workspace.yaml").write_text(f"load_from:\n  - python_file: {tmp_path / 'vacio.py'}\n")
    environ = {**os.environ, "PODEMOS_HOME": str(home), "DAGSTER_HOME": str(dagster_home),
               "PODEMOS_BRANCH_REGISTRY": str(registry), "PODEMOS_AUTOMATION": "pausada"}
    return environ, dagster_home, tmp_path


def _backfill(environ, suc: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "podemos"), "backfill", "--sucursal", suc, "--desde", DAY, "--hasta", DAY],
                            env=environ, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=REPO_ROOT)


def test_killed_backfill_is_failed_by_the_monitor_and_its_slot_freed(env):
    environ, dagster_home, tmp = env
    daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", str(tmp / "workspace.yaml")],
                              env=environ, stdout=(tmp / "daemon.log").open("w"), stderr=subprocess.STDOUT,
                              cwd=tmp, start_new_session=True)
    try:
        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            pool = lambda: instance.event_log_storage.get_concurrency_info("sucursales")  # noqa: E731
            cli = _backfill(environ, "suc_002", tmp / "backfill1.log")
            try:
                _wait("the backfill's step to claim a sucursales slot", lambda: pool().claimed_slots, 150,
                      [(cli, tmp / "backfill1.log")])
                (run,) = instance.get_runs(filters=dg.RunsFilter(tags={"podemos/motivo": "backfill-cli"}))
                assert run.status == dg.DagsterRunStatus.STARTED
                time.sleep(2 * POLL)  # the hung read goes on; a live process keeps its lease
                assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
                os.kill(cli.pid, signal.SIGKILL)
                cli.wait(10)
            finally:
                if cli.poll() is None:
                    cli.kill()
            killed_at = time.monotonic()
            assert [s.run_id for s in pool().claimed_slots] == [run.run_id]  # the kill leaked it, as today

            ended = _wait("the monitor to end the killed run",
                          lambda: instance.get_run_by_id(run.run_id).is_finished, 90,
                          [(daemon, tmp / "daemon.log")])
            assert ended and instance.get_run_by_id(run.run_id).status in (
                dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
            _wait("the monitor to free the slot", lambda: not pool().claimed_slots, 60,
                  [(daemon, tmp / "daemon.log")])
            print(f"run ended and slot freed {time.monotonic() - killed_at:.0f} s after the kill")
            # Ended by the lease (Dagster's max-runtime rule), not by anything else.
            canceling = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_CANCELING).records
            assert any("exceeding maximum runtime" in r.event_log_entry.message for r in canceling)

            # A new backfill claims the pool's only slot and succeeds.
            ok = _backfill(environ, "suc_001", tmp / "backfill2.log")
            assert ok.wait(240) == 0, (tmp / "backfill2.log").read_text()
            (second,) = [r for r in instance.get_runs(filters=dg.RunsFilter(tags={"podemos/motivo": "backfill-cli"}))
                         if r.run_id != run.run_id]
            assert second.status == dg.DagsterRunStatus.SUCCESS
            assert not pool().claimed_slots
            claims = instance.get_records_for_run(second.run_id, of_type=dg.DagsterEventType.STEP_START).records
            assert claims, "the second backfill ran its extraction step"
            mat = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(["sucursales", "transacciones"]),
                                      asset_partitions=[f"{DAY}|suc_001"]), limit=1).records
            assert mat and mat[0].run_id == second.run_id
            out = (tmp / "backfill2.log").read_text()
            assert "backfill: 1 of 1 branch(es) extracted" in out.splitlines()[-1]
            assert "DEBUG" not in out and "STEP_START" not in out, out  # Dagster's events only with --verbose
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
        shutil.rmtree(tmp / "podemos" / "dagster_home" / "storage", ignore_errors=True)


def _kill_mid_run(environ, instance, tmp: Path):
    """Start a backfill of the hung branch, wait until its step holds a slot, kill -9 it; return its run."""
    pool = lambda: instance.event_log_storage.get_concurrency_info("sucursales")  # noqa: E731
    cli = _backfill(environ, "suc_002", tmp / "backfill1.log")
    try:
        _wait("the backfill's step to claim a sucursales slot", lambda: pool().claimed_slots, 150,
              [(cli, tmp / "backfill1.log")])
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait(10)
    finally:
        if cli.poll() is None:
            cli.kill()
    (run,) = instance.get_runs(filters=dg.RunsFilter(tags={"podemos/motivo": "backfill-cli"}))
    return run


def test_without_a_daemon_the_next_backfill_ends_the_killed_run_and_frees_its_slot(env):
    environ, dagster_home, tmp = env
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        pool = lambda: instance.event_log_storage.get_concurrency_info("sucursales")  # noqa: E731
        run = _kill_mid_run(environ, instance, tmp)
        time.sleep(3 * POLL + 1)  # nobody watches: the run stays STARTED with its slot, its lease lapses
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
        assert [s.run_id for s in pool().claimed_slots] == [run.run_id]

        done = subprocess.run([str(BIN / "podemos"), "backfill", "--sucursal", "suc_001", "--desde", DAY,
                               "--hasta", DAY, "--verbose"], env=environ, capture_output=True, text=True,
                              cwd=REPO_ROOT, timeout=240)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        lines = done.stdout.splitlines()
        assert f"backfill: run {run.run_id} of a killed backfill failed (its lease lapsed)" in lines
        assert f"backfill: freed the pool slot(s) of finished run {run.run_id}: sucursales x1" in lines
        assert "STEP_START" in done.stdout + done.stderr  # --verbose: Dagster's event log too
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        assert not pool().claimed_slots
        (second,) = [r for r in instance.get_runs(filters=dg.RunsFilter(tags={"podemos/motivo": "backfill-cli"}))
                     if r.run_id != run.run_id]
        assert second.status == dg.DagsterRunStatus.SUCCESS
