"""Branch extraction speed, from one run on a private MariaDB (DESIGN.md §5, issue 3).

(1) rows/s extracting one branch-day of N `transacciones` into Parquet vs `mariadb --batch` to a file;
(2) wall time of a day with no changes across 200 branches, orchestration included;
(3) per-partition orchestration cost vs a bare no-op Dagster materialization.
Run: .venv/bin/python benchmarks/branch_extract.py [--rows 1000000] [--branches 200]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dagster as dg  # noqa: E402

from podemos_assets.resources.branches import BranchesResource  # noqa: E402
from podemos_assets.resources.lake import LakeResource  # noqa: E402
from podemos_assets.sucursales.assets import extraccion_sucursales  # noqa: E402
from podemos_assets.sucursales.extract import add_lineage, validate  # noqa: E402
from podemos_assets.sucursales.partitions import BRANCHES, day_window, range_tags  # noqa: E402
from podemos_assets.sucursales.registry import Branch  # noqa: E402
from podemos_assets_tests.sucursales.mariadb import MariaDB  # noqa: E402

DAY = date(2026, 11, 3)
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


def quiet_day(server: MariaDB, branches: int, workdir: Path) -> None:
    ids = list(BRANCHES)[:branches]
    t0 = time.perf_counter()
    for suc in ids:
        server.create_branch(f"b_{suc}")
        old = BRANCHES[suc]
        BRANCHES[suc] = Branch(old.id, old.nombre, old.estado, old.zona_horaria, server.url(f"b_{suc}"), "")
    print(f"(2) {branches} empty branch databases created in {time.perf_counter() - t0:.1f} s (not timed below)")
    home = workdir / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    resources = {"lake": LakeResource(url=f"file://{workdir}/lake2"), "branches": BranchesResource()}
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        t0 = time.perf_counter()
        result = dg.materialize([extraccion_sucursales], instance=instance, resources=resources,
                                tags=range_tags(DAY, DAY, ids[0], ids[-1]), raise_on_error=False, run_config=QUIET)
        box = time.perf_counter() - t0
        assert result.success
        print(f"    a day with no changes, {branches} branches, one run (box of {branches} partitions): {box:.1f} s "
              f"(goal <= 60 s)")

        @dg.asset
        def noop() -> None:
            return None

        t0 = time.perf_counter()
        for _ in range(3):
            dg.materialize([noop], instance=instance, run_config=QUIET)
        bare = (time.perf_counter() - t0) / 3
        k = min(5, branches)
        t0 = time.perf_counter()
        for suc in ids[:k]:
            dg.materialize([extraccion_sucursales], instance=instance, resources=resources,
                           tags=range_tags(DAY, DAY, suc, suc), run_config=QUIET)
        single = (time.perf_counter() - t0) / k
        print("(3) orchestration cost, in-process on a SQLite Dagster instance")
        print(f"    bare no-op materialization (1 asset, 1 run):       {bare:6.2f} s")
        print(f"    one run per branch partition (6 assets + 13 checks): {single:6.2f} s = {single / bare:.1f}x bare")
        print(f"    batched: {box / branches:6.3f} s per partition in a box of {branches} = {box / branches / bare:.2f}x bare")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--branches", type=int, default=200)
    args = parser.parse_args()
    if "DAGSTER_HOME" not in os.environ:
        os.environ["DAGSTER_HOME"] = tempfile.mkdtemp()
        Path(os.environ["DAGSTER_HOME"], "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with tempfile.TemporaryDirectory(prefix="podemos-bench-") as tmp:
        server = MariaDB().start()
        try:
            throughput(server, args.rows, Path(tmp))
            quiet_day(server, args.branches, Path(tmp))
        finally:
            server.stop(cleanup=True)


if __name__ == "__main__":
    main()
