"""What years of history cost the daemon and the UI, and the partitioning that keeps it flat (issue 16).

For each Dagster storage (SQLite, the embedded default's `PodemosInstance`; PostgreSQL 15, production's, as
deploy/dagster.prod.yaml configures it, on a private server on loopback) and each partitioning shape:
  - `ventana`: the platform's (PODEMOS_VENTANA_MESES=6: the daily partitions of the last 6 closed months
    and the current one, closed months as `sucursales/meses_cerrados`);
  - `desde_go_live`: the previous one (PODEMOS_VENTANA_MESES=0: one daily partition per branch-day since
    go-live, 219,000 per asset after three years);
it measures on an EMPTY instance (the baseline, same run) and on one filled by synthetic_history.py with
`--years` of `--branches` branches (go-live = the first day of that history):
  - definitions load (fresh interpreter);
  - one tick of `sucursales_automatizacion` (the night already done: settling + catch-up, which reads the
    partition status of the last 30 days of every branch);
  - the declarative automation tick over the whole graph, first (no cursor) and next (with its cursor);
  - through GraphQL on a real `dagster-webserver`: the partition health of `sucursales/transacciones` (the
    query the UI's Partitions tab makes; cold = first after the webserver starts, then warm) and
    launching a per-branch backfill of a month of the six tables (`launchPartitionBackfill`, as the UI);
  - a night's run of 20 branch-days with the branch assets' keys, partitions and checks (the stand-in
    extraction of benchmarks/stand_in_sucursales.py, which reads no branch: Dagster's cost per partition,
    which should not grow with history), the median of 5;
  - the backfill daemon executing such a branch-month backfill (3 of them, one after another: medians) on
    the stand-in code location: its iterations (the daemon's own functions, back to back), the runs it
    launches (each its own process, through the code server) and their cost per partition, until done.
Goals (issue 16): every tick <= 10 s, the partitions query <= 3 s, per-partition run cost no higher than
on the empty instance.

Run: .venv/bin/python benchmarks/instance_history.py [--years 3] [--branches 200] [--storage sqlite,postgres]
     [--reuse-sqlite DIR]  (a DAGSTER_HOME already filled by synthetic_history.py with the same --years)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from podemos_assets.config import DEFAULT_BRANCH_REGISTRY, window_start  # noqa: E402  (a light import: no Dagster)

SHAPES = {"ventana": "6", "desde_go_live": "0"}
GOALS = {"tick": 10.0, "graphql": 3.0}
BOX = 20  # branch-days in the measured night run
RUNS = 5  # night runs measured per instance (median)
BACKFILLS = 3  # branch-month backfills executed per instance (median)
BACKFILL_TABLES = ("grupos", "clientes", "miembros", "cuentas", "calendario_pagos", "transacciones")

# The UI's Partitions tab (dagster-ui `usePartitionHealthData`): statuses per range of the two dimensions.
PARTITION_HEALTH = """query PartitionHealthQuery($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) { __typename ... on AssetNode { id
    partitionKeysByDimension { name type partitionKeys }
    assetPartitionStatuses { __typename
      ... on MultiPartitionStatuses { primaryDimensionName ranges { primaryDimStartKey primaryDimEndKey
        secondaryDim { __typename ... on DefaultPartitionStatuses { materializedPartitions failedPartitions
          materializingPartitions } ... on TimePartitionStatuses { ranges { status startKey endKey } } } } }
      ... on TimePartitionStatuses { ranges { status startKey endKey } } } } } }"""
LAUNCH_BACKFILL = """mutation Backfill($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
CANCEL_BACKFILL = """mutation Cancel($id: String!) { cancelPartitionBackfill(backfillId: $id) { __typename } }"""

# Runs in a fresh interpreter per (instance, shape): PODEMOS_VENTANA_MESES is read at import.
PROBE = r'''
import json, sys, time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
import dagster as dg
from podemos_assets.definitions import defs
load = time.perf_counter() - t0
from datetime import datetime, timedelta, UTC
from zoneinfo import ZoneInfo
from podemos_assets.resources.branches import BranchesResource
from podemos_assets.resources.clock import ClockResource
from podemos_assets.sucursales.automation import sucursales_automatizacion, zones, latest_night
from podemos_assets.sucursales.partitions import BRANCH_DAY_PARTITIONS, BRANCHES, FIRST_DAY, PARTITION_TZ, range_tags
from podemos_assets.sucursales.schemas import HUELLAS, KEYS

out = {"load": load, "partitions": BRANCH_DAY_PARTITIONS.get_num_partitions()}
now = datetime.now(UTC)
with dg.DagsterInstance.get() as instance:
    # The steady state of the daemon: tonight's nights done, every earlier reconciliation result read.
    latest = instance.fetch_materializations(HUELLAS, limit=1).records
    cursor = json.dumps({"noches": {z: latest_night(z, now).isoformat() for z in zones()},
                         "huellas_id": latest[0].storage_id if latest else None})
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor,
                                  resources={"branches": BranchesResource(), "clock": ClockResource()})
    # The sensor reads the status of exactly the partitions it asks about (automation.partition_statuses),
    # so its first tick after the window moved costs what the next one does.
    for tick in ("sensor_tick_first", "sensor_tick_next"):
        t0 = time.perf_counter()
        result = sucursales_automatizacion(ctx)
        out[tick] = time.perf_counter() - t0
    out["sensor_requests"] = len(result.run_requests or [])
    # The previous path, same run: Dagster's partition status cache for the same 30 days of every branch. Its
    # first read of a partitions definition (after every move of the window) rebuilds it from the whole history.
    today = now.astimezone(ZoneInfo(PARTITION_TZ)).date()
    keys = [f"{today - timedelta(days=n)}|{suc}" for suc in BRANCHES for n in range(1, 31)
            if today - timedelta(days=n) >= FIRST_DAY]
    for read in ("status_cache_first", "status_cache_next"):
        t0 = time.perf_counter()
        instance.get_status_by_partition(KEYS["transacciones"], keys, BRANCH_DAY_PARTITIONS)
        out[read] = time.perf_counter() - t0
    t0 = time.perf_counter()
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    out["automation_first"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    out["automation_next"] = time.perf_counter() - t0

    sys.path.insert(0, "benchmarks")
    from stand_in_sucursales import extraccion_sucursales as stand_in

    # A night's run of BOX branch-days, RUNS times (one day each, the latest days): the median, as one run
    # alone is at the mercy of this shared machine (~20 ms per partition between runs).
    yesterday = now.astimezone(ZoneInfo(PARTITION_TZ)).date() - timedelta(days=1)
    ids = list(BRANCHES)[: int(sys.argv[1])]
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    samples = []
    for n in range(int(sys.argv[2])):
        day = yesterday - timedelta(days=n)
        t0 = time.perf_counter()
        dg.materialize([stand_in], instance=instance, tags=range_tags(day, day, ids[0], ids[-1]), run_config=quiet)
        samples.append((time.perf_counter() - t0) / len(ids))
    out["run_per_partition"] = sorted(samples)[len(samples) // 2]
    out["run_per_partition_samples"] = samples
print("RESULT " + json.dumps(out))
'''


# The backfill daemon executing the UI's branch-month backfill, in a fresh interpreter: the daemon's own
# iteration functions (`execute_backfill_iteration`, the run queue's `run_iteration`) on a workspace whose
# code location is the stand-in extraction (benchmarks/stand_in_sucursales.py), called back to back instead of
# every 30 s (the backfill daemon's fixed interval would hide what an iteration costs). Runs are launched as
# the daemon launches them: queued, dequeued, started by the default launcher through the code server, each
# in its own process.
BACKFILL_PROBE = r'''
import json, logging, sys, time, warnings
warnings.simplefilter("ignore")
import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.storage.dagster_run import FINISHED_STATUSES
from dagster._core.utils import make_new_backfill_id
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import PythonFileTarget
from dagster._daemon.backfill import execute_backfill_iteration
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

partitions, tables = json.loads(sys.argv[1]), json.loads(sys.argv[2])
logger = logging.getLogger("backfill")
out = {}
target = PythonFileTarget(python_file="benchmarks/stand_in_sucursales.py", attribute="defs",
                          working_directory=".", location_name="stand_in")
with dg.DagsterInstance.get() as instance, WorkspaceProcessContext(instance, target) as context, \
        QueuedRunCoordinatorDaemon(interval_seconds=1) as dequeuer:
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(), asset_graph=context.create_request_context().asset_graph,
        partition_names=partitions, asset_selection=[dg.AssetKey(["sucursales", t]) for t in tables],
        backfill_timestamp=time.time(), tags={}, dynamic_partitions_store=instance, all_partitions=False,
        title=None, description=None, run_config=None)
    instance.add_backfill(backfill)
    t0 = time.perf_counter()
    iterations = []
    while instance.get_backfill(backfill.backfill_id).status == BulkActionStatus.REQUESTED:
        if time.perf_counter() - t0 > 1800:
            raise SystemExit("the backfill did not finish in 30 minutes")
        t1 = time.perf_counter()
        list(execute_backfill_iteration(context, logger))
        iterations.append(time.perf_counter() - t1)
        list(dequeuer.run_iteration(context))
        time.sleep(0.5)
    out["backfill_total"] = time.perf_counter() - t0
    out["backfill_status"] = instance.get_backfill(backfill.backfill_id).status.value
    out["backfill_iterations"] = len(iterations)
    out["backfill_iteration_max"] = max(iterations)
    out["backfill_iteration_sum"] = sum(iterations)
    records = instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
    out["backfill_runs"] = len(records)
    out["backfill_runs_ok"] = sum(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
    # RUN_START to RUN_SUCCESS: the run's work, after its process has loaded the code location.
    out["backfill_run_per_partition"] = sum(r.end_time - r.start_time for r in records
                                            if r.start_time and r.end_time) / len(partitions)
print("RESULT " + json.dumps(out))
'''


def backfill_month(first: date, branch: str = "suc_007") -> list[str]:
    """The UI's "Materialize selected" over a branch's last 30 days (from the first daily partition on)."""
    last = date.today() - timedelta(days=2)
    return [f"{last - timedelta(days=n)}|{branch}" for n in range(30) if last - timedelta(days=n) >= first]


def backfills(env: dict[str, str], first: date) -> dict:
    """BACKFILLS branch-month backfills, one after another: the median of each figure."""
    done = [backfill_probe(env, first, f"suc_{8 + n:03d}") for n in range(BACKFILLS)]
    out = {k: statistics.median(d[k] for d in done) for k in done[0] if k != "backfill_status"}
    out["backfill_status"] = ",".join(sorted({d["backfill_status"] for d in done}))
    out["backfill_run_per_partition_samples"] = [d["backfill_run_per_partition"] for d in done]
    return out


def backfill_probe(env: dict[str, str], first: date, branch: str) -> dict:
    done = subprocess.run([sys.executable, "-c", BACKFILL_PROBE, json.dumps(backfill_month(first, branch)),
                           json.dumps(BACKFILL_TABLES)], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=3600)
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"the backfill probe failed ({env.get('PODEMOS_VENTANA_MESES')=}):\n{done.stderr[-4000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def probe(env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, str(BOX), str(RUNS)], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=3600)
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"the probe failed ({env.get('PODEMOS_VENTANA_MESES')=}):\n{done.stderr[-4000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def graphql(env: dict[str, str], log: Path, first: date) -> dict:
    import httpx

    from podemos_assets_tests.ui.webserver import dagster_webserver

    out = {}
    with dagster_webserver(env, log, timeout=600) as url:
        def ask(query: str, variables: dict) -> tuple[float, dict]:
            t0 = time.perf_counter()
            reply = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=600).json()
            if "errors" in reply:
                raise SystemExit(f"GraphQL error: {reply['errors']}")
            return time.perf_counter() - t0, reply["data"]

        key = {"assetKey": {"path": ["sucursales", "transacciones"]}}
        out["graphql_cold"], data = ask(PARTITION_HEALTH, key)
        statuses = data["assetNodeOrError"]["assetPartitionStatuses"]
        out["graphql_ranges"] = len(statuses.get("ranges") or [])
        out["graphql_warm"], _ = ask(PARTITION_HEALTH, key)
        # The six tables over a branch-month: the UI's "Materialize selected" over partitions, a backfill.
        params = {"partitionNames": backfill_month(first),
                  "assetSelection": [{"path": ["sucursales", t]} for t in BACKFILL_TABLES]}
        out["backfill_launch"], data = ask(LAUNCH_BACKFILL, {"params": params})
        launched = data["launchPartitionBackfill"]
        if launched["__typename"] != "LaunchBackfillSuccess":
            raise SystemExit(f"backfill launch failed: {launched}")
        ask(CANCEL_BACKFILL, {"id": launched["backfillId"]})
    return out


def measure(label: str, home: Path, go_live: date, scratch: Path) -> dict[str, dict]:
    """Every figure for each shape on one DAGSTER_HOME (its dagster.yaml picks the storage)."""
    results = {}
    for shape, months in SHAPES.items():
        env = {**os.environ, "DAGSTER_HOME": str(home), "PODEMOS_HOME": str(scratch / "podemos_home"),
               "PODEMOS_GO_LIVE": go_live.isoformat(), "PODEMOS_VENTANA_MESES": months,
               "PODEMOS_AUTOMATION": "pausada", "PYTHONWARNINGS": "ignore"}
        print(f"  {label} / {shape}: probing...", flush=True)
        figures = probe(env)
        # The backfill targets the first month of this shape's daily partitions.
        first = window_start(date.today(), int(months), go_live.isoformat())
        figures.update(graphql(env, scratch / f"webserver-{label}-{shape}.log", first))
        figures.update(backfills(env, first))
        results[shape] = figures
        print(f"  {label} / {shape}: " + ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                                                  for k, v in figures.items() if not isinstance(v, list)),
              flush=True)
    return results


def write_yaml(home: Path, pg=None) -> None:
    home.mkdir(parents=True, exist_ok=True)
    if pg is None:
        # The embedded default's instance, as the repo's dagster.yaml names it (its SQLite storage batches
        # a run's events and keeps its connections: podemos_assets/instance_storage_sqlite.py).
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\ninstance_class:\n"
                                           "  module: podemos_assets.instance_storage_sqlite\n"
                                           "  class: PodemosInstance\n")
        return
    # deploy/dagster.prod.yaml's storage block, its class and config (its S3 compute logs and run launcher
    # play no part here).
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nstorage:\n  custom:\n    module: podemos_assets.instance_storage\n"
        "    class: PooledPostgresStorage\n    config:\n      postgres_db:\n"
        f"        username: {pg.user}\n        password: {pg.password}\n        hostname: {pg.host}\n"
        f"        db_name: {pg.db}\n        port: {pg.port}\n        scheme: postgresql+psycopg2\n"
        "        params:\n          sslmode: disable\n")


def write_registry(podemos_home: Path, branches: int) -> None:
    """A registry of exactly `branches` in the scratch PODEMOS_HOME (a home's registry wins over the packaged
    one in every process the benchmark starts): the packaged 200, then copies of them as suc_201, ..."""
    with DEFAULT_BRANCH_REGISTRY.open(newline="", encoding="utf-8") as f:
        packaged = list(csv.DictReader(f))
    rows = []
    for i in range(branches):
        row = dict(packaged[i % len(packaged)])
        if i >= len(packaged):
            old, new = row["id"], f"suc_{i + 1:03d}"
            row.update(id=new, nombre=f"{row['nombre']} {i // len(packaged) + 1}", url=row["url"].replace(old, new))
        rows.append(row)
    path = podemos_home / "sucursales" / "sucursales.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(packaged[0]))
        writer.writeheader()
        writer.writerows(rows)


def fill(home: Path, years: float, branches: int, scratch: Path) -> float:
    t0 = time.perf_counter()
    env = {**os.environ, "DAGSTER_HOME": str(home), "PODEMOS_HOME": str(scratch / "podemos_home"),
           "PYTHONWARNINGS": "ignore"}
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "synthetic_history.py"), "--dagster-home", str(home),
                    "--years", str(years), "--branches", str(branches)], env=env, cwd=REPO, check=True)
    return time.perf_counter() - t0


def report(storage: str, empty: dict, full: dict) -> None:
    print(f"\n== {storage}: empty instance (baseline, same run) vs filled ==")
    rows = [("branch-day partitions per asset", "partitions", None, "{:,.0f}"),
            ("definitions load, s", "load", None, "{:.2f}"),
            ("sucursales_automatizacion tick, first, s", "sensor_tick_first", GOALS["tick"], "{:.2f}"),
            ("sucursales_automatizacion tick, next, s", "sensor_tick_next", GOALS["tick"], "{:.2f}"),
            ("before: status cache read, first, s", "status_cache_first", GOALS["tick"], "{:.2f}"),
            ("before: status cache read, next, s", "status_cache_next", GOALS["tick"], "{:.2f}"),
            ("automation tick, first, s", "automation_first", GOALS["tick"], "{:.2f}"),
            ("automation tick, next, s", "automation_next", GOALS["tick"], "{:.2f}"),
            ("GraphQL partition health, cold, s", "graphql_cold", GOALS["graphql"], "{:.2f}"),
            ("GraphQL partition health, warm, s", "graphql_warm", GOALS["graphql"], "{:.2f}"),
            ("GraphQL backfill of a branch-month, s", "backfill_launch", GOALS["graphql"], "{:.2f}"),
            ("night run, per partition, s (median)", "run_per_partition", None, "{:.3f}"),
            ("backfill daemon: branch-month done, s", "backfill_total", None, "{:.1f}"),
            ("backfill daemon: iterations", "backfill_iterations", None, "{:.0f}"),
            ("backfill daemon: slowest iteration, s", "backfill_iteration_max", GOALS["tick"], "{:.2f}"),
            ("backfill daemon: runs (succeeded)", "backfill_runs_ok", None, "{:.0f}"),
            ("backfill run, per partition, s (median)", "backfill_run_per_partition", None, "{:.3f}")]
    print(f"{'figure':48} " + " ".join(f"{s + ' ' + w:>24}" for s in SHAPES for w in ("empty", "filled")))
    for name, key, goal, fmt in rows:
        cells = []
        for shape in SHAPES:
            for where in (empty, full):
                value = where[shape][key]
                mark = "" if goal is None else (" ok" if value <= goal else " MISS")
                cells.append(f"{fmt.format(value) + mark:>24}")
        print(f"{name:48} " + " ".join(cells))
    for shape in SHAPES:
        for what, key in (("night run", "run_per_partition"), ("backfill run", "backfill_run_per_partition")):
            ratio = full[shape][key] / empty[shape][key]
            print(f"{shape}: {what}, per-partition cost filled / empty = {ratio:.2f} (goal <= 1.0)")
        for where, figures in (("empty", empty), ("filled", full)):
            for what, key in (("night runs", "run_per_partition_samples"),
                              ("backfill runs", "backfill_run_per_partition_samples")):
                samples = ", ".join(f"{x:.3f}" for x in figures[shape][key])
                print(f"  {shape}, {where}: {what} per partition {samples} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--years", type=float, default=3)
    parser.add_argument("--branches", type=int, default=200)
    parser.add_argument("--storage", default="sqlite,postgres")
    parser.add_argument("--reuse-sqlite", type=Path, help="a DAGSTER_HOME synthetic_history.py already filled")
    args = parser.parse_args()
    # `kill` (SIGTERM) unwinds like Ctrl-C, so the with-blocks remove its PostgreSQL servers and temporary homes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    last = date.today() - timedelta(days=1)
    go_live = last - timedelta(days=round(365 * args.years) - 1)
    print(f"history: {go_live}..{last}, {args.branches} branches")
    with tempfile.TemporaryDirectory(prefix="podemos-history-") as tmp, ExitStack() as stack:
        scratch = Path(tmp)
        write_registry(scratch / "podemos_home", args.branches)
        for storage in args.storage.split(","):
            pg = None
            if storage == "postgres":
                from podemos_assets_tests.scale.servers import postgres_available, postgres_server

                if not postgres_available():
                    print("postgres: not installed (apt-get install postgresql): skipped")
                    continue
                pg_empty = stack.enter_context(postgres_server("vacia"))
                pg = stack.enter_context(postgres_server("historia"))
            empty_home, full_home = scratch / f"{storage}-empty", scratch / f"{storage}-full"
            write_yaml(empty_home, pg_empty if pg else None)
            empty = measure(f"{storage} empty", empty_home, go_live, scratch)
            if storage == "sqlite" and args.reuse_sqlite:
                full_home = args.reuse_sqlite
                print(f"  sqlite: reusing the history in {full_home}")
            else:
                write_yaml(full_home, pg)
                print(f"  {storage}: filling {args.years} years x {args.branches} branches...", flush=True)
                seconds = fill(full_home, args.years, args.branches, scratch)
                print(f"  {storage}: filled in {seconds:.0f} s", flush=True)
            full = measure(f"{storage} filled", full_home, go_live, scratch)
            report(storage, empty, full)
            shutil.rmtree(empty_home, ignore_errors=True)


if __name__ == "__main__":
    main()
