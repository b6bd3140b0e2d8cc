"""Benchmark: the four critical payment reports on a degraded layout vs ours, plus build and daily-merge cost.

    .venv/bin/python benchmarks/payments_layout.py --rows 100000000
    .venv/bin/python benchmarks/payments_layout.py --rows 100000000 500000000   # + the slope, carried to 2B

Generates N payments (~N/50 clients, 200 branches, 5 years with growth, skewed clients) in DuckDB; builds the
degraded layout (random order, dates and amounts as text, long branch names) and ours (sorted by (fecha_pago,
id_cliente), client-ordered projection, daily rollup); times each report (median of 5 after a warm-up, one
process; the answer held as an Arrow table, amounts exact) and prints degraded / ours and ours /
floor (the floor: the cheapest scan of exactly the rows and columns the report needs on our table). Then
merges more days of 1.5M rows (1% of them corrections of the last 30 days) with the production merge
(podemos_assets.pagos.merge, rollup and projection included), alternately with a baseline: the merge before
its client projection became append-only (it deleted each replaced row from the projection). Build time and
disk size of each layout are printed per size; with several sizes, each figure's slope between the two
largest, extrapolated to the company's 2 billion rows.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from podemos_assets.pagos import merge  # noqa: E402
from podemos_assets.pagos.extracts import BAJAS_SCHEMA, INPUT_SCHEMAS  # noqa: E402
from podemos_assets.pagos.merge import ensure_tables, merge_day  # noqa: E402
from podemos_assets.resources.warehouse_layout import overlap_share, row_groups  # noqa: E402

DAYS = 1826  # five years up to the last day
LAST = "2026-11-27"

# One client drawn from the history's power law by the hash `h`: the day's payments are of existing clients,
# as a real day's mostly are (a uniform draw sent most of them to quarantine as unknown loans and clients).
CLIENT_DRAW = "CAST(floor({clients} * pow(({h} >> 11) / 9007199254740992.0, 1.6)) AS BIGINT)"

# Source ids as a branch's autoincrement gives them: each branch its own counter, started at its own point
# (so one day's ids differ by orders of magnitude between branches), growing with time within the branch.
ID_DAY = 10_000_000_000
BRANCH_ID = "((({b}) * 7919) % 200) * 1000000000000 + ({day}) * {id_day}".replace("{id_day}", str(ID_DAY))
GENERATE = """
CREATE OR REPLACE TABLE gen AS
WITH r AS (
    SELECT i, hash(i) AS h1, hash(i + 7777777777) AS h2, hash(i + 3333333333) AS h3,
           -- growth: the density of payments rises linearly over the five years
           CAST({days} - 1 - floor({days} * sqrt((h1 % 1000003) / 1000003.0)) AS INTEGER) AS atras
    FROM range({rows}) t(i)
), c AS (
    -- skew: a power law over clients (a few clients pay much more often); 53 bits of the hash, so that every
    -- client can occur (with h % 1000003 there were at most ~1M distinct clients, whatever the size)
    SELECT *, {client_draw} AS cliente FROM r
)
SELECT
    {branch_id} + i + 1 AS src_id,
    DATE '{last}' - atras AS fecha_pago,
    cliente,
    CAST(((h3 % 195000) + 5000) / 100.0 AS DECIMAL(18, 2)) * CASE WHEN h3 % 31 = 0 THEN -1 ELSE 1 END AS monto,
    CAST(h1 % 86400 AS BIGINT) AS segundo, CAST(h3 % 4 AS BIGINT) AS canal
FROM c
"""

# Big sorts are written in slices (quantile ranges of the sort key, inserted in order) so DuckDB never has to
# spill one sort of the whole table: at 500M rows that spill exceeded this machine's free disk.
OURS_HISTORICOS = """
CREATE OR REPLACE TEMP MACRO gid(x, b) AS x * 1000 + b;
INSERT INTO pagos_historicos
SELECT gid(src_id, cliente % 200 + 1), gid(cliente // 3, cliente % 200 + 1), gid(cliente, cliente % 200 + 1), monto,
       fecha_pago, printf('suc_%03d', cliente % 200 + 1), CASE WHEN monto < 0 THEN 'REVERSO' ELSE 'APLICADO' END,
       '{{"canal":"' || ['ventanilla','corresponsal','app','spei'][canal + 1] || '"}}',
       CAST(fecha_pago AS TIMESTAMP) + to_seconds(segundo + 21600), src_id,
       CAST(fecha_pago AS TIMESTAMP) + to_seconds(segundo), CAST(fecha_pago AS TIMESTAMP) + to_seconds(segundo + 21600),
       strftime(fecha_pago, '%Y-%m-%d') || '|' || printf('suc_%03d', cliente % 200 + 1)
FROM gen WHERE {where} ORDER BY fecha_pago, gid(cliente, cliente % 200 + 1)
"""
OURS_POR_CLIENTE = """
INSERT INTO pagos_por_cliente
SELECT id_cliente, fecha_pago, id_pago, id_prestamo, monto, status_pago, sucursal FROM pagos_historicos
WHERE {where} ORDER BY id_cliente, fecha_pago
"""
OURS_REST = """
INSERT INTO pagos_diario_sucursal
SELECT fecha_pago, sucursal, status_pago, count(*), CAST(sum(monto) AS DECIMAL(18,2)), min(id_origen), max(id_origen)
FROM pagos_historicos GROUP BY fecha_pago, sucursal, status_pago ORDER BY ALL;
INSERT INTO clientes
SELECT DISTINCT ON (id_cliente) id_cliente, sucursal, id_cliente // 1000, TIMESTAMP '2021-01-01', TIMESTAMPTZ '2021-01-01',
       '2021-01-01|' || sucursal FROM pagos_historicos;
INSERT INTO cuentas
SELECT DISTINCT ON (id_prestamo) id_prestamo, 1, 5000, 1000, 'ACTIVA', DATE '2021-01-01', sucursal, id_prestamo // 1000,
       TIMESTAMP '2021-01-01', TIMESTAMPTZ '2021-01-01', '2021-01-01|' || sucursal FROM pagos_historicos;
"""

ROWS_PER_SLICE = 50_000_000


def slices(con, table: str, column: str, rows: int) -> list[str]:
    """WHERE clauses cutting `table` into ~ROWS_PER_SLICE-row ranges of `column`, in ascending order."""
    k = max(1, -(-rows // ROWS_PER_SLICE))
    if k == 1:
        return ["true"]
    cuts = con.execute(f"SELECT approx_quantile({column}, {[i / k for i in range(1, k)]}) FROM {table}").fetchall()[0][0]
    cuts = sorted(set(cuts))
    lit = (lambda v: f"DATE '{v}'") if hasattr(cuts[0], "isoformat") else str
    bounds = [None, *cuts, None]
    return [" AND ".join(c for c in (lo is not None and f"{column} >= {lit(lo)}",
                                     hi is not None and f"{column} < {lit(hi)}") if c)
            for lo, hi in zip(bounds, bounds[1:])]


DEGRADED = """
SELECT src_id * 1000 + cliente % 200 + 1 AS id_pago, (cliente // 3) * 1000 + cliente % 200 + 1 AS id_prestamo,
       cliente * 1000 + cliente % 200 + 1 AS id_cliente, CAST(monto AS VARCHAR) AS monto,
       strftime(fecha_pago, '%Y-%m-%d') AS fecha_pago,
       'Sucursal ' || printf('%03d', cliente % 200 + 1) || ' - Crédito Grupal Región Sureste, Dirección Comercial' AS sucursal,
       CASE WHEN monto < 0 THEN 'PAGO REVERSADO POR LA SUCURSAL' ELSE 'PAGO APLICADO A LA CUENTA' END AS status_pago,
       '{{"canal":"' || ['ventanilla','corresponsal','app','spei'][canal + 1] || '"}}' AS otros_datos
FROM gen WHERE {where} ORDER BY hash(src_id * 17)
"""


def reports(client: int) -> dict[str, dict[str, str]]:
    """Each report as: degraded, ours (what the dbt model reads), floor."""
    month, year = "2026-10-28", "2025-11-28"
    return {
        "cobranza 1 mes": {
            "degradado": f"SELECT fecha_pago, sucursal, sum(CAST(monto AS DECIMAL(18,2))) FROM degradado "
                         f"WHERE fecha_pago >= '{month}' AND fecha_pago <= '{LAST}' GROUP BY ALL",
            "nuestro": f"SELECT fecha_pago, sucursal, sum(monto) FROM pagos_diario_sucursal "
                       f"WHERE fecha_pago >= DATE '{month}' GROUP BY ALL",
            "nuestro_tabla": f"SELECT fecha_pago, sucursal, sum(monto) FROM pagos_historicos "
                             f"WHERE fecha_pago >= DATE '{month}' GROUP BY ALL",
            "piso": f"SELECT count(*), sum(monto), max(sucursal) FROM pagos_historicos WHERE fecha_pago >= DATE '{month}'",
        },
        "resumen 12 meses": {
            "degradado": f"SELECT substr(fecha_pago, 1, 7), sucursal, status_pago, count(*), "
                         f"sum(CAST(monto AS DECIMAL(18,2))) FROM degradado WHERE fecha_pago >= '{year}' GROUP BY ALL",
            "nuestro": f"SELECT date_trunc('month', fecha_pago), sucursal, status_pago, sum(pagos), sum(monto) "
                       f"FROM pagos_diario_sucursal WHERE fecha_pago >= DATE '{year}' GROUP BY ALL",
            "nuestro_tabla": f"SELECT date_trunc('month', fecha_pago), sucursal, status_pago, count(*), sum(monto) "
                             f"FROM pagos_historicos WHERE fecha_pago >= DATE '{year}' GROUP BY ALL",
            "piso": f"SELECT count(*), sum(monto), max(sucursal), max(status_pago) FROM pagos_historicos "
                    f"WHERE fecha_pago >= DATE '{year}'",
        },
        "resumen historia completa": {
            "degradado": "SELECT substr(fecha_pago, 1, 7), sucursal, status_pago, count(*), "
                         "sum(CAST(monto AS DECIMAL(18,2))) FROM degradado GROUP BY ALL",
            "nuestro": "SELECT date_trunc('month', fecha_pago), sucursal, status_pago, sum(pagos), sum(monto) "
                       "FROM pagos_diario_sucursal GROUP BY ALL",
            "nuestro_tabla": "SELECT date_trunc('month', fecha_pago), sucursal, status_pago, count(*), sum(monto) "
                             "FROM pagos_historicos GROUP BY ALL",
            "piso": "SELECT count(*), sum(monto), max(sucursal), max(status_pago), max(fecha_pago) FROM pagos_historicos",
        },
        "historial de un cliente": {
            "degradado": f"SELECT fecha_pago, id_pago, monto, status_pago FROM degradado WHERE id_cliente = {client} "
                         "ORDER BY fecha_pago",
            # what the dbt view reads: the projection minus its retired rows (merge.CURRENT_POR_CLIENTE)
            "nuestro": f"SELECT fecha_pago, id_pago, monto, status_pago FROM ({merge.CURRENT_POR_CLIENTE}) "
                       f"WHERE id_cliente = {client} ORDER BY fecha_pago",
            "nuestro_tabla": f"SELECT fecha_pago, id_pago, monto, status_pago FROM pagos_historicos "
                             f"WHERE id_cliente = {client} ORDER BY fecha_pago",
            "piso": f"SELECT count(*), sum(monto), max(fecha_pago), max(id_pago), max(status_pago) FROM pagos_por_cliente "
                    f"WHERE id_cliente = {client}",
        },
    }


def timed(con, sql: str, runs: int) -> float:
    """Median seconds to answer `sql` and hold its result as an Arrow table (columnar, amounts exact as
    decimal128: what DuckDB's CLI, pandas/Polars and BI drivers read). Not as Python tuples: `fetchall`
    builds one Python object per value (a `Decimal` costs ~2 us whatever the layout), which measured the
    client, not the layout (docs/pagos.md has both up to 2026-12-07)."""
    def answer():
        return con.sql(sql).to_arrow_table()

    answer()  # warm-up
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        answer()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def one_more_day(con, n: int, rows: int, corrections: int, clients: int):
    """Day `n` after the history as the branch extracts deliver it, through the production merge: `rows`
    payments, of which `corrections` are new versions of stored payments of the last 30 days (an amount
    corrected today), the rest new payments."""
    day = str(date.fromisoformat(LAST) + timedelta(days=n))
    fixes = con.sql(f"""
        SELECT id_origen AS id, id_prestamo // 1000 AS cuenta_id, id_cliente // 1000 AS cliente_id,
               CAST(fecha_pago AS TIMESTAMP) AS fecha, CAST(monto + 1 AS DECIMAL(15,2)) AS monto, 'ventanilla' AS canal,
               TIMESTAMP '{day} 12:00' AS updated_at, sucursal,
               CAST(TIMESTAMP '{day} 18:00' AS TIMESTAMPTZ) AS updated_at_utc, '{day}|' || sucursal AS extraccion
        FROM (SELECT * FROM pagos_historicos WHERE fecha_pago > DATE '{day}' - 30) USING SAMPLE reservoir({corrections} ROWS) REPEATABLE (7)""").to_arrow_table()
    tx = con.sql(f"""
        SELECT CAST({BRANCH_ID.format(b="c % 200 + 1", day=DAYS + n)} + i AS BIGINT) AS id, CAST((c // 3) AS BIGINT) AS cuenta_id, CAST(c AS BIGINT) AS cliente_id,
               TIMESTAMP '{day}' + to_seconds(i % 86400) AS fecha,
               CAST(((hash(i) % 195000) + 5000) / 100.0 AS DECIMAL(15,2)) AS monto, 'ventanilla' AS canal,
               TIMESTAMP '{day}' + to_seconds(i % 86400) AS updated_at, printf('suc_%03d', c % 200 + 1) AS sucursal,
               CAST(TIMESTAMP '{day}' + to_seconds(i % 86400 + 21600) AS TIMESTAMPTZ) AS updated_at_utc,
               '{day}|' || printf('suc_%03d', c % 200 + 1) AS extraccion
        FROM (SELECT i, {CLIENT_DRAW.format(h=f"hash(i + {99 * n})", clients=clients)} AS c
              FROM range({rows - corrections}) t(i))""").to_arrow_table()
    # source ids, as the extracts carry them: the merge adds the branch digits (same ids as the history)
    schema = INPUT_SCHEMAS["transacciones"]
    inputs = {"transacciones": pa.concat_tables([tx.cast(schema), fixes.cast(schema)])}
    for name in ("cuentas", "clientes", "calendario_pagos"):
        inputs[name] = INPUT_SCHEMAS[name].empty_table()
    inputs["bajas"] = BAJAS_SCHEMA.empty_table()
    zones = {f"suc_{b:03d}": "America/Mexico_City" for b in range(1, 201)}
    t0 = time.perf_counter()
    stats = merge_day(con, day, inputs, zones)
    return time.perf_counter() - t0, stats


class DeletingProjection:
    """The baseline merge: the connection, except that a replaced row of the client projection is deleted
    from it, as the merge did before the projection became append-only, instead of being retired. (Days of
    both kinds on one warehouse leave its projection approximate: this is for timing, not for its contents.)"""
    RETIRE = f"INSERT INTO {merge.RETIRADOS} "
    DELETE = ("DELETE FROM pagos_por_cliente WHERE id_cliente IN (SELECT id_cliente FROM viejos_h) "
              "AND id_pago IN (SELECT id_pago FROM viejos_h)")

    def __init__(self, con):
        self.con = con

    def execute(self, sql: str, *args):
        return self.con.execute(self.DELETE if sql.startswith(self.RETIRE) else sql, *args)

    def __getattr__(self, name: str):
        return getattr(self.con, name)


def table_bytes(con, *tables: str) -> int:
    """Bytes on disk of `tables` after a checkpoint: their distinct storage blocks x the block size."""
    block = con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0][0]
    union = " UNION ".join(
        f"SELECT block_id AS b FROM pragma_storage_info('{t}') WHERE block_id >= 0 "
        f"UNION SELECT unnest(additional_block_ids) FROM pragma_storage_info('{t}')" for t in tables)
    return con.execute(f"SELECT count(DISTINCT b) FROM ({union})").fetchall()[0][0] * block


OUR_TABLES = ("pagos_historicos", "pagos_por_cliente", "pagos_diario_sucursal", "clientes", "cuentas")


def measure(rows: int, args, tmp: str) -> dict[str, float]:
    """One table size end to end, in its own DuckDB file; every figure printed and returned."""
    clients = max(1000, rows // 50)
    fig: dict[str, float] = {}
    con = duckdb.connect(f"{tmp}/bench-{rows}.duckdb")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")  # our own progress lines; DuckDB's bar garbles a log file
    print(f"payments_layout: {rows:,} payments, ~{clients:,} clients, 200 branches, {DAYS} days", flush=True)
    t0 = time.perf_counter()
    con.execute(GENERATE.format(rows=rows, last=LAST, days=DAYS,
                                branch_id=BRANCH_ID.format(b="cliente % 200 + 1", day=f"{DAYS} - atras"),
                                client_draw=CLIENT_DRAW.format(h="h2", clients=clients)))
    print(f"  generate:        {time.perf_counter() - t0:7.1f} s", flush=True)
    t0 = time.perf_counter()
    # random order within each slice of src_id % k: every row group still holds any date, client and branch
    k = max(1, -(-rows // ROWS_PER_SLICE))
    con.execute(f"CREATE OR REPLACE TABLE degradado AS {DEGRADED.format(where='false')}")
    for i in range(k):
        con.execute(f"INSERT INTO degradado {DEGRADED.format(where=f'src_id % {k} = {i}')}")
    con.execute("CHECKPOINT")
    fig["build degraded (s)"] = time.perf_counter() - t0
    fig["disk degraded (GB)"] = table_bytes(con, "degradado") / 1e9
    print(f"  build degraded:  {fig['build degraded (s)']:7.1f} s, {fig['disk degraded (GB)']:.2f} GB", flush=True)
    t0 = time.perf_counter()
    ensure_tables(con)
    for where in slices(con, "gen", "fecha_pago", rows):
        con.execute(OURS_HISTORICOS.format(where=where))
    for where in slices(con, "pagos_historicos", "id_cliente", rows):
        con.execute(OURS_POR_CLIENTE.format(where=where))
    con.execute(OURS_REST)
    con.execute("CHECKPOINT")
    fig["build ours (s)"] = time.perf_counter() - t0
    fig["disk ours (GB)"] = table_bytes(con, *OUR_TABLES) / 1e9
    fig["disk ours, table only (GB)"] = table_bytes(con, "pagos_historicos") / 1e9
    print(f"  build ours:      {fig['build ours (s)']:7.1f} s, {fig['disk ours (GB)']:.2f} GB "
          f"(sorted table {fig['disk ours, table only (GB)']:.2f} GB + client projection + rollup + dimensions)",
          flush=True)
    con.execute("DROP TABLE gen")
    client = con.execute("SELECT id_cliente FROM pagos_por_cliente GROUP BY 1 ORDER BY count(*) DESC LIMIT 1 "
                         "OFFSET 100").fetchall()[0][0]
    print(f"\n  {'report':<26}{'degraded':>10}{'ours':>10}{'table':>10}{'floor':>10}{'deg/ours':>10}"
          f"{'ours/floor':>11}{'deg/table':>10}")
    results = {}
    for name, q in reports(client).items():
        t = {k: timed(con, sql, args.runs) for k, sql in q.items()}
        results[name] = t
        fig[f"{name}: degraded (s)"], fig[f"{name}: ours (s)"] = t["degradado"], t["nuestro"]
        print(f"  {name:<26}{t['degradado']:>9.3f}s{t['nuestro']:>9.3f}s{t['nuestro_tabla']:>9.3f}s"
              f"{t['piso']:>9.3f}s{t['degradado'] / t['nuestro']:>9.1f}x{t['nuestro'] / t['piso']:>10.2f}x"
              f"{t['degradado'] / t['nuestro_tabla']:>9.1f}x", flush=True)
    print("  (ours = what the dbt model reads: the rollup / client projection; table = pagos_historicos direct;\n"
          "   each answer held as an Arrow table, amounts exact)")
    print(f"\n  merge {2 * args.merge_days} more days of {args.append_rows:,} rows each, {args.corrections:,} of them "
          "corrections of the last 30 days (projection + rollup included), alternately with the production merge\n"
          "  and, as the baseline, the same merge deleting each replaced row from the client projection (what it\n"
          "  did before the projection became append-only):")
    merges: dict[str, list[float]] = {"baseline": [], "ours": []}
    for n in range(1, 2 * args.merge_days + 1):
        kind = "baseline" if n % 2 else "ours"
        seconds, stats = one_more_day(DeletingProjection(con) if kind == "baseline" else con, n, args.append_rows,
                                      args.corrections, clients)
        merges[kind].append(seconds)
        print(f"    day {n} ({kind:<8}): {seconds:.2f} s ({stats.pagos_new_or_changed:,} new or changed, "
              f"{stats.pagos_published:,} published, quarantined: {stats.pagos_quarantined or 'none'}; "
              f"{stats.fechas_recomputed} days recomputed)", flush=True)
    fig["merge one day, baseline (s)"] = statistics.median(merges["baseline"])
    fig["merge one day (s)"] = statistics.median(merges["ours"])
    print(f"    median: ours {fig['merge one day (s)']:.2f} s, baseline {fig['merge one day, baseline (s)']:.2f} s "
          f"({fig['merge one day, baseline (s)'] / fig['merge one day (s)']:.2f}x)")
    con.execute("CHECKPOINT")
    share = overlap_share(row_groups(con, "pagos_historicos", "fecha_pago"))
    after = timed(con, reports(client)["cobranza 1 mes"]["nuestro_tabla"], args.runs)
    print(f"  after the append: row groups overlapping {share:.1%}; 1-month report on the table "
          f"{after:.3f} s (before {results['cobranza 1 mes']['nuestro_tabla']:.3f} s)\n", flush=True)
    con.close()
    Path(f"{tmp}/bench-{rows}.duckdb").unlink()  # room for the next size
    return fig


def extrapolate(sizes: dict[int, dict[str, float]], target: int = 2_000_000_000) -> None:
    """Each figure's straight line through the two largest sizes, carried to `target` rows. A figure that did
    not grow (a report on the rollup, whose size follows days x branches, not rows) is carried flat."""
    (small, a), (large, b) = sorted(sizes.items())[-2:]
    print(f"  slope {small / 1e6:,.0f}M -> {large / 1e6:,.0f}M rows, extrapolated to {target / 1e9:g}B:")
    print(f"  {'figure':<40}{small / 1e6:>10,.0f}M{large / 1e6:>10,.0f}M{'x':>7}{target / 1e9:>10g}B")
    for name in a:
        per_row = (b[name] - a[name]) / (large - small)
        at_target = max(b[name], b[name] + per_row * (target - large))
        print(f"  {name:<40}{a[name]:>11.3f}{b[name]:>11.3f}{b[name] / a[name]:>7.2f}{at_target:>11.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000_000],
                        help="table sizes, smallest first; with two or more, the slope is extrapolated to 2B rows")
    parser.add_argument("--append-rows", type=int, default=1_500_000)
    parser.add_argument("--corrections", type=int, default=15_000,
                        help="of the appended rows, new versions of stored payments of the last 30 days")
    parser.add_argument("--merge-days", type=int, default=3, help="days merged one after another (median printed)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where to put the benchmark DuckDB files (default: a temp dir)")
    args = parser.parse_args()
    # `kill` (SIGTERM) unwinds like Ctrl-C, so the with-blocks remove its temporary warehouse (tens of GB)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        sizes = {rows: measure(rows, args, tmp) for rows in sorted(args.rows)}
    if len(sizes) > 1:
        extrapolate(sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
