"""Benchmark: the payments consolidation on DuckDB and on Spark local[*], same lake, 1M and 10M rows.

Both engines run the same SQL (podemos_assets/spark/rules.py) from Parquet extracts to Parquet
output. Prints wall time of each engine (Spark's session start-up separately) and the ratio.
Usage: .venv/bin/python benchmarks/spark_vs_duckdb.py [--rows 1000000 10000000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa

from podemos_assets.contracts import lake as paths
from podemos_assets.resources.lake import LakeResource
from podemos_assets.spark.duck import consolidate_duckdb, read_extracts_duckdb

BRANCHES = {f"suc_{i:03d}": z for i, z in enumerate(
    ["America/Mexico_City", "America/Tijuana", "America/Cancun", "America/Monterrey"] * 10, start=1)}
DAYS = 20
START = date(2026, 10, 1)


def make_lake(root: str, rows: int, seed: int = 7) -> None:
    """`rows` payment versions (~20 % updates of earlier ids) over 40 branches x 20 days, plus dimensions."""
    rng = np.random.default_rng(seed)
    lake = LakeResource(url=f"file://{root}")
    per_file = rows // (len(BRANCHES) * DAYS)
    for suc in BRANCHES:
        ids_seen = 0
        for d in range(DAYS):
            day = START + timedelta(days=d)
            new = int(per_file * 0.8)
            ids = np.concatenate([np.arange(ids_seen, ids_seen + new), rng.integers(0, max(ids_seen, 1), per_file - new)])
            ids_seen += new
            base = np.datetime64(datetime.combine(day, datetime.min.time()), "us")
            secs = rng.integers(0, 86_400, per_file) * 1_000_000
            local = base + secs.astype("timedelta64[us]")
            table = pa.table({
                "id": pa.array(ids, pa.int64()),
                "cuenta_id": pa.array(rng.integers(0, 2000, per_file), pa.int64()),
                "cliente_id": pa.array(rng.integers(0, 6000, per_file), pa.int64()),
                "fecha": pa.array(local, pa.timestamp("us")),
                "monto": pa.array(rng.integers(-5_000, 500_000, per_file), pa.int64())  # int64 -> decimal needs precision 21 first
                .cast(pa.decimal128(21, 0)).cast(pa.decimal128(15, 2)),
                "canal": pa.array(rng.choice(["ventanilla", "OXXO", "app"], per_file)),
                "updated_at": pa.array(local, pa.timestamp("us")),
                "sucursal": pa.array([suc] * per_file),
                "updated_at_utc": pa.array(local + np.timedelta64(6, "h"), pa.timestamp("us", "UTC")),
                "extraccion": pa.array([f"{day}|{suc}"] * per_file),
            })
            lake.write_parquet(paths.branch_extract("transacciones", day, suc), table)
        upd = pa.array([datetime.combine(START, datetime.min.time())], pa.timestamp("us"))
        for table, n in (("cuentas", 1900), ("clientes", 5900)):  # a few unknown -> quarantine
            lake.write_parquet(paths.branch_extract(table, START, suc), pa.table({
                "id": pa.array(range(n), pa.int64()), "updated_at": pa.repeat(upd[0], n),
                "sucursal": pa.array([suc] * n), "updated_at_utc": pa.repeat(upd[0].cast(pa.timestamp("us", "UTC")), n),
                "extraccion": pa.array([f"{START}|{suc}"] * n)}))


def run_duckdb(root: str, out: str) -> dict[str, int]:
    hasta = START + timedelta(days=DAYS - 1)
    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count()}")
    tables = consolidate_duckdb(read_extracts_duckdb(root, START, hasta, con), BRANCHES, con)
    counts = {}
    for name, table in tables.items():
        con.register("t", table)
        con.execute(f"COPY t TO '{out}/{name}.parquet' (FORMAT parquet, COMPRESSION zstd)")
        counts[name] = table.num_rows
    con.close()
    return counts


def run_spark(spark, root: str, out_root: str) -> dict[str, int]:
    from podemos_assets.spark.job import consolidate, read_extracts, write_outputs

    hasta = START + timedelta(days=DAYS - 1)
    frames = read_extracts(spark, f"file://{root}", START, hasta)
    return write_outputs(consolidate(spark, frames, BRANCHES), f"file://{out_root}", START, hasta)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 10_000_000])
    args = parser.parse_args()
    t0 = time.perf_counter()
    from podemos_assets.spark.job import spark_session

    spark = spark_session("local[*]", app_name="podemos-bench")
    spark.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - t0
    print(f"Spark session start-up: {startup:.1f} s  (cpu: {os.cpu_count()})")
    print(f"{'rows':>12} {'duckdb s':>9} {'spark s':>9} {'spark+start s':>14} {'spark/duckdb':>13}")
    for rows in args.rows:
        tmp = tempfile.mkdtemp(prefix="podemos-bench-")
        try:
            make_lake(f"{tmp}/lake", rows)
            os.makedirs(f"{tmp}/duck")
            t = time.perf_counter()
            d_counts = run_duckdb(f"{tmp}/lake", f"{tmp}/duck")
            duck_s = time.perf_counter() - t
            t = time.perf_counter()
            s_counts = run_spark(spark, f"{tmp}/lake", f"{tmp}/spark")
            spark_s = time.perf_counter() - t
            assert d_counts == s_counts, (d_counts, s_counts)
            print(f"{rows:>12,} {duck_s:>9.1f} {spark_s:>9.1f} {spark_s + startup:>14.1f} {spark_s / duck_s:>13.1f}"
                  f"   ({d_counts['pagos_historicos']:,} pagos, {d_counts['pagos_cuarentena']:,} en cuarentena)")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    spark.stop()


if __name__ == "__main__":
    main()
