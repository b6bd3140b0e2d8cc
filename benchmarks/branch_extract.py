"""Branch extraction speed, from one run on a private MariaDB (DESIGN.md §5, issues 3 and 16).

(1) rows/s extracting one branch-day of N `transacciones` into Parquet vs `mariadb --batch` to a file;
(2) wall time of the 200-branch day, orchestration included, in one run (a box of 200 partitions): a day
    with no changes (goal <= 15 s) and a normal day of ~50k changed rows in all (goal <= 30 s), each on the
    embedded SQLite instance (the repo's dagster.yaml) and on a Postgres 15 instance configured as
    deploy/dagster.prod.yaml (its `storage` and `concurrency` sections; fsync on, as on RDS), each with its
    baseline: the same config under Dagster's own SQLite storage and dagster-postgres's stock storage (a new
    connection per write; events written one by one: Dagster's defaults);
(3) per-partition orchestration cost vs a bare no-op Dagster materialization on the same instance.
Run: .venv/bin/python benchmarks/branch_extract.py [--rows 1000000] [--branches 200] [--changed 50000]
     quick: --rows 20000 --branches 20 --changed 5000; --skip-throughput leaves (1) out;
     --instances sqlite (or sqlite-stock, postgres-stock, postgres) measures those instances; --profile DIR writes a cProfile per day run.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Its own home, whatever the shell names: the Makefile's PODEMOS_HOME after `make demo` holds the demo's
# 20-branch registry (the registry of a home wins) and goes live on the demo's first day.
os.environ.update(PODEMOS_HOME=tempfile.mkdtemp(prefix="podemos-bench-home-"), PODEMOS_GO_LIVE="2026-10-01")

import dagster as dg  # noqa: E402

from podemos_assets.config import REPO_ROOT  # noqa: E402
from podemos_assets.instance import POOL_LIMITS  # noqa: E402
from podemos_assets.resources.branches import BranchesResource  # noqa: E402
from podemos_assets.resources.lake import LakeResource  # noqa: E402
from podemos_assets.sucursales.assets import extraccion_sucursales  # noqa: E402
from podemos_assets.sucursales.extract import add_lineage, validate  # noqa: E402
from podemos_assets.sucursales.partitions import BRANCHES, day_window, range_tags  # noqa: E402
from podemos_assets.sucursales.registry import Branch  # noqa: E402
from podemos_assets_tests.sucursales.mariadb import MariaDB  # noqa: E402

# Recent days, so they stay inside the daily window (the last closed months) as the calendar moves on.
NORMAL_DAY = date.today() - timedelta(days=2)
DAY, QUIET_DAY = NORMAL_DAY - timedelta(days=2), NORMAL_DAY - timedelta(days=1)
REPEAT = 3


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def throughput(server: MariaDB, rows: int, workdir: Path) -> None:
    server.create_branch("bench")
    con = server.connect("bench")
    with con.cursor() as cur:  # the Sequence engine fills a branch-day in seconds
        cur.execute(
            "INSERT INTO transacciones SELECT seq, seq % 5000, seq % 60000, "
            "'2026-11-03 08:00:00' + INTERVAL (seq % 36000) SECOND, CAST((seq % 100000) / 100 + 50 AS DECIMAL(15,2)), "
            f"ELT(1 + seq % 4, 'VENTANILLA', 'CORRESPONSAL_OXXO', 'SPEI', 'ASESOR_CAMPO'), "
            f"'2026-11-03 00:00:00' + INTERVAL (seq % 86400) SECOND FROM seq_1_to_{rows}")
    con.close()
    lake = LakeResource(url=f"file://{workdir}/lake")
    reader = BranchesResource().reader("suc_001", server.url("bench"))
    query = ("SELECT id, cuenta_id, cliente_id, fecha, monto, canal, updated_at FROM transacciones "
             "WHERE updated_at >= '2026-11-03 00:00:00' AND updated_at < '2026-11-04 00:00:00' ORDER BY id")
    rss0 = rss_mb()
    ours, reads, client = [], [], []
    for rep in range(REPEAT):  # alternating, so a neighbour's load or a warm cache favours neither
        t0 = time.perf_counter()
        table = add_lineage(reader.extract("transacciones", *day_window(DAY)), "suc_001", "America/Mexico_City", DAY)
        reads.append(time.perf_counter() - t0)
        lake.write_parquet(f"bench/part-{rep}.parquet", table)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with open(workdir / "batch.tsv", "wb") as out:
            subprocess.run(["mariadb", "--batch", "-h127.0.0.1", f"-P{server.port}", "-uroot", "bench", "-e", query],
                           stdout=out, check=True)
        client.append(time.perf_counter() - t0)
    assert table.num_rows == rows, (table.num_rows, rows)
    t1 = time.perf_counter()
    valid, quarantine = validate("transacciones", table)
    t_validate = time.perf_counter() - t1
    ours_s, client_s, read_s = statistics.median(ours), statistics.median(client), statistics.median(reads)
    print(f"(1) one branch-day of {rows:,} transacciones, median of {REPEAT} alternating runs")
    print(f"    ours (connectorx -> Arrow -> lineage -> Parquet): {ours_s:6.2f} s = {rows / ours_s:>10,.0f} rows/s "
          f"(read + lineage {read_s:.2f} s; peak RSS +{max(0, rss_mb() - rss0):.0f} MB, total {rss_mb():.0f} MB)")
    print(f"    mariadb --batch to a file:                      {client_s:6.2f} s = {rows / client_s:>10,.0f} rows/s")
    print(f"    ratio ours/client: {client_s / ours_s:.2f}  (goal >= 1.0: {'met' if client_s / ours_s >= 1.0 else 'NOT met'}); "
          f"each run: ours {', '.join(f'{x:.2f}' for x in ours)} s, client {', '.join(f'{x:.2f}' for x in client)} s")
    print(f"    pandera validation of the same rows (run once per run, not per partition): {t_validate:.2f} s, "
          f"{quarantine.num_rows} quarantined")


# Dagster's per-event console log would bury the figures (the events still go to the instance).
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
QUIET_GOAL_S, NORMAL_GOAL_S = 15.0, 30.0

# What one branch changes on a normal day, per 250 rows: a payment (transacciones) settles an instalment
# (calendario_pagos) and moves its loan's balance (cuentas); a few clients, memberships and a group change.
# One branch in 20 also writes an instalment with a NULL monto (the branch-app bug that goes to quarantine).
DAY_MIX = {"transacciones": 125, "calendario_pagos": 100, "cuentas": 12, "clientes": 8, "miembros": 4, "grupos": 1}


def fill_normal_day(con, branch_index: int, rows: int) -> int:
    """Insert about `rows` rows changed on NORMAL_DAY across the six tables of one branch; returns how many."""
    scale = rows / sum(DAY_MIX.values())
    n = {t: max(1, round(k * scale)) for t, k in DAY_MIX.items()}
    day = f"'{NORMAL_DAY} 07:00:00'"
    stamp = f"{day} + INTERVAL (seq * 97 % 43200) SECOND"  # spread over the branch's 07:00-19:00 hours
    base = branch_index * 1_000_000  # ids differ between branches, as in the registry's databases
    statements = [
        f"INSERT INTO grupos SELECT {base} + seq, CONCAT('Grupo ', seq), 'suc', '2026-01-10 10:00:00', {stamp} "
        f"FROM seq_1_to_{n['grupos']}",
        f"INSERT INTO clientes SELECT {base} + seq, CONCAT('Clienta ', seq), "
        f"CONCAT('GOMA', LPAD(seq % 1000000, 6, '0'), 'MDFRRR0', seq % 10), CONCAT('GOMA', LPAD(seq % 1000000, 6, '0'), 'AB1'), "
        f"CONCAT('55', LPAD(seq, 8, '0')), '1985-01-01' + INTERVAL (seq % 9000) DAY, '2025-06-01 09:00:00', {stamp} "
        f"FROM seq_1_to_{n['clientes']}",
        f"INSERT INTO miembros SELECT {base} + seq % 50 + 1, {base} + seq, {stamp} FROM seq_1_to_{n['miembros']}",
        f"INSERT INTO cuentas SELECT {base} + seq, {base} + seq % 50 + 1, 12000.00, "
        f"CAST(12000 - (seq * 37 % 11000) AS DECIMAL(15,2)), 'ACTIVA', '2026-09-01', {stamp} "
        f"FROM seq_1_to_{n['cuentas']}",
        f"INSERT INTO calendario_pagos SELECT {base} + seq, {base} + seq % 400 + 1, 1 + seq % 16, "
        f"{'IF(seq = 1, NULL, 750.00)' if branch_index % 20 == 0 else '750.00'}, '{NORMAL_DAY}', "
        f"ELT(1 + seq % 4, 'PENDIENTE', 'PAGADO', 'ATRASADO', 'PARCIAL'), {stamp} FROM seq_1_to_{n['calendario_pagos']}",
        f"INSERT INTO transacciones SELECT {base} + seq, {base} + seq % 400 + 1, {base} + seq % 4000 + 1, {stamp}, "
        f"CAST(IF(seq % 50 = 0, -1, 1) * CAST(200 + seq * 7 % 800 AS SIGNED) AS DECIMAL(15,2)), "
        f"ELT(1 + seq % 4, 'VENTANILLA', 'CORRESPONSAL_OXXO', 'SPEI', 'ASESOR_CAMPO'), {stamp} "
        f"FROM seq_1_to_{n['transacciones']}",
    ]
    with con.cursor() as cur:
        for sql in statements:
            cur.execute(sql)
    return sum(n.values())


def create_branches(server: MariaDB, branches: int, changed: int) -> tuple[list[str], int]:
    """`branches` branch databases pointed to by the registry; each holds its share of the normal day."""
    ids = list(BRANCHES)[:branches]
    t0 = time.perf_counter()
    total = 0
    for i, suc in enumerate(ids):
        server.create_branch(f"b_{suc}")
        old = BRANCHES[suc]
        BRANCHES[suc] = Branch(old.id, old.nombre, old.estado, old.zona_horaria, server.url(f"b_{suc}"), "")
        con = server.connect(f"b_{suc}")
        total += fill_normal_day(con, i + 1, changed // branches)
        con.close()
    print(f"(2) {branches} branch databases created in {time.perf_counter() - t0:.1f} s (not timed below): "
          f"{QUIET_DAY} without changes, {NORMAL_DAY} with {total:,} changed rows in all "
          f"({', '.join(f'{t} {k * total // sum(DAY_MIX.values()):,}' for t, k in DAY_MIX.items())})")
    return ids, total


@contextlib.contextmanager
def sqlite_instance(home: Path, stock: bool = False):
    """The embedded default: the repo's dagster.yaml (SQLite under DAGSTER_HOME, events written in batches);
    `stock`: the same without its instance class, Dagster's own SQLite storage and defaults (the baseline)."""
    home.mkdir(parents=True)
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    if stock:
        config.pop("instance_class")  # whose default storage is the batching one
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    with mock.patch.dict(os.environ):
        os.environ.pop("DAGSTER_EVENT_BATCH_SIZE", None)  # restored after: set by the batching storages
        with dg.DagsterInstance.from_config(str(home)) as instance:
            yield instance, None


class PostgresProbe:
    """Counts the sessions Dagster opens on the server, and what opening one costs here."""

    def __init__(self, pg):
        import psycopg2

        self.connect = lambda: psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, password=pg.password,
                                                dbname=pg.db)
        t0 = time.perf_counter()
        for _ in range(20):
            self.connect().close()
        self.connect_ms = (time.perf_counter() - t0) / 20 * 1000

    def sessions(self) -> int:
        con = self.connect()  # itself one session: the difference of two readings counts it once
        try:
            with con.cursor() as cur:
                cur.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
                return int(cur.fetchone()[0])
        finally:
            con.close()


def _durable(pg) -> None:
    """Restart the helper's server (started with fsync=off for fast tests) with fsync on, as RDS commits."""
    import psycopg2

    from podemos_assets_tests.scale.servers import PG_BIN, PG_OS_USER

    con = psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname=pg.db)
    with con.cursor() as cur:
        cur.execute("SHOW data_directory")
        data = Path(cur.fetchone()[0])
    con.close()
    subprocess.run(["runuser", "-u", PG_OS_USER, "--", str(PG_BIN / "pg_ctl"), "restart", "-w", "-t", "60", "-m", "fast",
                    "-D", str(data), "-l", str(data.parent / "log"), "-o", f"-h 127.0.0.1 -p {pg.port} -k {data.parent}"],
                   check=True, capture_output=True)
    con = psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname=pg.db)
    with con.cursor() as cur:
        cur.execute("SHOW fsync")
        assert cur.fetchone()[0] == "on"
    con.close()


@contextlib.contextmanager
def postgres_instance(home: Path, stock: bool = False):
    """deploy/dagster.prod.yaml's storage (pooled postgres, password auth) and concurrency on a private
    PostgreSQL 15 server with fsync on; `stock`: the same config under dagster-postgres's own storage (a new
    connection per write), the baseline. The run launcher, coordinator and S3 compute logs are left out: an
    in-process run uses none of them."""
    from podemos_assets_tests.scale.servers import postgres_available, postgres_server

    if not postgres_available():
        raise SystemExit("PostgreSQL 15 is not installed: `apt-get install postgresql` (or --instances sqlite).")
    prod = yaml.safe_load((REPO_ROOT / "deploy" / "dagster.prod.yaml").read_text())
    storage = {"postgres": prod["storage"]["custom"]["config"]} if stock else prod["storage"]
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(
        {"storage": storage, "concurrency": prod["concurrency"], "telemetry": {"enabled": False}}))
    with postgres_server() as pg:
        _durable(pg)
        # the env is restored after: the pooled storage turns on Dagster's event batching for its process;
        # the stock baseline runs with Dagster's default (off)
        with mock.patch.dict(os.environ, pg.env()):
            os.environ.pop("DAGSTER_EVENT_BATCH_SIZE", None)
            with dg.DagsterInstance.from_config(str(home)) as instance:
                yield instance, PostgresProbe(pg)


INSTANCES = {"sqlite-stock": ("SQLite, Dagster's own storage (events one by one; the baseline)",
                             functools.partial(sqlite_instance, stock=True)),
             "sqlite": ("SQLite (embedded default: the repo's dagster.yaml, events in batches)", sqlite_instance),
             "postgres": ("Postgres 15 (deploy/dagster.prod.yaml's pooled storage; fsync on, password auth)",
                          postgres_instance),
             "postgres-stock": ("Postgres 15, dagster-postgres's stock storage (a connection per write; the baseline)",
                                functools.partial(postgres_instance, stock=True))}


@dg.asset
def noop() -> None:
    return None


def breakdown(instance, run_id: str, start: float, end: float, partitions: int) -> str:
    """Where the run's wall time went, from its own event log's timestamps (start/end: time.time())."""
    T = dg.DagsterEventType
    events = instance.all_logs(run_id)
    planned = [e.timestamp for e in events
               if e.dagster_event_type in (T.ASSET_MATERIALIZATION_PLANNED, T.ASSET_CHECK_EVALUATION_PLANNED)]
    mats = [e.timestamp for e in events if e.dagster_event_type == T.ASSET_MATERIALIZATION]
    step = {e.dagster_event_type: e.timestamp for e in events
            if e.dagster_event_type in (T.STEP_START, T.STEP_SUCCESS, T.STEP_FAILURE)}
    step_end = step.get(T.STEP_SUCCESS, step.get(T.STEP_FAILURE, end))
    return (f"{len(events):,} events ({len(events) / partitions:.1f} per partition): creating the run and its "
            f"{len(planned):,} planned events {planned[-1] - start:.1f} s ({(planned[-1] - planned[0]) / len(planned) * 1000:.1f} ms "
            f"each); to the step's start {step[T.STEP_START] - planned[-1]:.1f} s; in the step, the first chunk read, "
            f"validated and written {mats[0] - step[T.STEP_START]:.1f} s, then {len(mats):,} materializations (later chunks "
            f"extracted meanwhile) and 13 check results {step_end - mats[0]:.1f} s ({(mats[-1] - mats[0]) / len(mats) * 1000:.1f} ms "
            f"per materialization); run end {end - step_end:.1f} s")


def timed_day(instance, probe, resources, ids: list[str], day: date, profile: Path | None, label: str) -> float:
    profiler = cProfile.Profile() if profile else None
    sessions = probe.sessions() if probe else 0
    wall0, t0 = time.time(), time.perf_counter()
    if profiler:
        profiler.enable()
    result = dg.materialize([extraccion_sucursales], instance=instance, resources=resources,
                            tags=range_tags(day, day, ids[0], ids[-1]), raise_on_error=False, run_config=QUIET)
    if profiler:
        profiler.disable()
    seconds, wall1 = time.perf_counter() - t0, time.time()
    assert result.success, result.failure_data_for_node("extraccion_sucursales")
    print(f"        {label}: {breakdown(instance, result.run_id, wall0, wall1, len(ids))}")
    if probe:
        opened = probe.sessions() - sessions - 1
        print(f"        {label}: {opened:,} Postgres sessions opened by Dagster during the run (the stock storage "
              f"opens one per write) x {probe.connect_ms:.1f} ms to open one here = ~{opened * probe.connect_ms / 1000:.1f} s")
    if profiler:
        profile.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(profile / f"{label}.prof")
        print(f"        profile of the run's main thread: {profile / f'{label}.prof'}; top by cumulative time:")
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(r"podemos_assets|dagster/_core/(storage|instance|execution)", 12)
    return seconds


def day_runs(kind: str, ids: list[str], changed: int, workdir: Path, profile: Path | None) -> None:
    name, make = INSTANCES[kind]
    branches = len(ids)
    resources = {"lake": LakeResource(url=f"file://{workdir}/lake-{kind}"), "branches": BranchesResource()}
    print(f"    on {name}, one run over the box of {branches} branch partitions:")
    with make(workdir / f"dagster_home_{kind}") as (instance, probe):
        for pool, limit in POOL_LIMITS.items():  # as `podemos instance-setup` sets them
            instance.event_log_storage.set_concurrency_slots(pool, limit)
        dg.materialize([noop], instance=instance, run_config=QUIET)  # warm-up: job build, storage schema
        quiet = timed_day(instance, probe, resources, ids, QUIET_DAY, profile, f"{kind}-quiet")
        normal = timed_day(instance, probe, resources, ids, NORMAL_DAY, profile, f"{kind}-normal")
        t0 = time.perf_counter()
        for _ in range(3):
            dg.materialize([noop], instance=instance, run_config=QUIET)
        bare = (time.perf_counter() - t0) / 3
        k = min(5, branches)
        t0 = time.perf_counter()
        for suc in ids[:k]:
            dg.materialize([extraccion_sucursales], instance=instance, resources=resources,
                           tags=range_tags(QUIET_DAY, QUIET_DAY, suc, suc), run_config=QUIET)
        single = (time.perf_counter() - t0) / k

    def verdict(seconds: float, goal: float) -> str:
        if branches != 200:  # the goals are the issue's, for the 200-branch day
            return f"goal <= {goal:.0f} s is for 200 branches"
        return f"goal <= {goal:.0f} s: {'met' if seconds <= goal else 'NOT met'}"

    normal_label = f"a normal day ({changed:,} changed rows):"
    print(f"      {'a day with no changes:':<40} {quiet:6.1f} s ({verdict(quiet, QUIET_GOAL_S)}) = {quiet / bare:5.1f}x bare")
    print(f"      {normal_label:<40} {normal:6.1f} s ({verdict(normal, NORMAL_GOAL_S)}) = {normal / bare:5.1f}x bare")
    print(f"      baseline, bare no-op materialization (1 asset, 1 run, same instance): {bare:6.2f} s")
    print(f"(3)   one run per branch partition (6 assets + 13 checks): {single:6.2f} s = {single / bare:.1f}x bare; "
          f"batched {quiet / branches:6.3f} s (quiet) / {normal / branches:6.3f} s (normal) per partition "
          f"= {quiet / branches / bare:.2f}x / {normal / branches / bare:.2f}x bare")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the one branch-day of (1)")
    parser.add_argument("--branches", type=int, default=200)
    parser.add_argument("--changed", type=int, default=50_000, help="changed rows of the normal day, all branches")
    parser.add_argument("--skip-throughput", action="store_true", help="leave out (1)")
    parser.add_argument("--instances", default="sqlite-stock,sqlite,postgres-stock,postgres",
                        help="comma-separated: sqlite-stock, sqlite, postgres-stock, postgres")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each day run here and print its top")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.instances.split(",") if k.strip()]
    if unknown := set(kinds) - set(INSTANCES):
        parser.error(f"unknown instance(s) {sorted(unknown)}; choose from {sorted(INSTANCES)}")
    if "DAGSTER_HOME" not in os.environ:
        os.environ["DAGSTER_HOME"] = tempfile.mkdtemp()
        Path(os.environ["DAGSTER_HOME"], "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with tempfile.TemporaryDirectory(prefix="podemos-bench-") as tmp:
        server = MariaDB().start()
        try:
            if not args.skip_throughput:
                throughput(server, args.rows, Path(tmp))
            ids, changed = create_branches(server, args.branches, args.changed)
            for kind in kinds:
                day_runs(kind, ids, changed, Path(tmp), args.profile)
        finally:
            server.stop(cleanup=True)


if __name__ == "__main__":
    main()
