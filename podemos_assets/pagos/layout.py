"""Layout health of the warehouse tables, read from DuckDB's storage metadata, and the fix (compaction).

DuckDB keeps a min/max zone map per row group and column (`pragma_storage_info`); a date-range query
reads only the row groups whose range meets the filter. These metrics say how well that still works.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import duckdb

ROW_GROUP_SIZE = 122_880  # DuckDB's default; a row group much smaller than this is overhead

# Thresholds (DuckDB analogues of Redshift's unsorted / stats_off / small blocks).
MAX_OVERLAP = 0.20  # share of row groups whose range overlaps another's beyond a shared boundary value
MAX_DELETED = 0.10  # share of stored rows that are deleted but still widen the zone maps
MAX_SMALL_GROUPS = 0.20  # share of row groups under a quarter of ROW_GROUP_SIZE (tables of 8+ groups)
MAX_GROUPS_PER_LOOKUP = 8.0  # row groups a point lookup reads on average (client projection)
MIN_GROUPS = 4  # below this a table is read whole by any query: sortedness is not judged

COMPACT_ORDER = {"pagos_historicos": "fecha_pago, id_cliente", "pagos_por_cliente": "id_cliente, fecha_pago"}
FIX = ("re-sort the table: materialize pagos/pagos_historicos with run config "
       "`ops: {{pagos_merge: {{config: {{compactar: true}}}}}}`, or run podemos_assets.pagos.layout.compact(con, '{table}')")


@dataclass(frozen=True)
class RowGroup:
    id: int
    rows: int
    lo: object
    hi: object


def row_groups(con: duckdb.DuckDBPyConnection, table: str, column: str) -> list[RowGroup]:
    """One entry per row group: stored rows (deleted included) and the zone map of `column`."""
    rows = con.execute(
        "SELECT row_group_id, count, stats FROM pragma_storage_info(?) WHERE column_name = ? ORDER BY row_group_id",
        [table, column],
    ).fetchall()
    groups: dict[int, list] = {}
    for rg, count, stats in rows:
        entry = groups.setdefault(rg, [0, None, None])
        if isinstance(stats, dict) and "min" in stats:  # the data segments; the others are validity masks
            entry[0] += count
            entry[1] = stats["min"] if entry[1] is None else min(entry[1], stats["min"])
            entry[2] = stats["max"] if entry[2] is None else max(entry[2], stats["max"])
    return [RowGroup(rg, n, lo, hi) for rg, (n, lo, hi) in sorted(groups.items()) if lo is not None]


def overlap_share(groups: list[RowGroup]) -> float:
    """Share of row groups whose [min, max] overlaps another group's beyond one shared boundary value."""
    if len(groups) < 2:
        return 0.0
    g = sorted(groups, key=lambda r: (r.lo, r.hi))
    overlapping, running_max = 0, None
    for i, r in enumerate(g):
        before = running_max is not None and running_max > r.lo
        after = i + 1 < len(g) and g[i + 1].lo < r.hi
        overlapping += before or after
        running_max = r.hi if running_max is None else max(running_max, r.hi)
    return overlapping / len(g)


def groups_per_lookup(groups: list[RowGroup]) -> float:
    """Average number of row groups whose range contains a value, over the groups' own minimums."""
    if not groups:
        return 0.0
    los = sorted(r.lo for r in groups)
    his = sorted(r.hi for r in groups)
    counts = [bisect.bisect_right(los, r.lo) - bisect.bisect_left(his, r.lo) for r in groups]
    return sum(counts) / len(counts)


def deleted_share(con: duckdb.DuckDBPyConnection, table: str, groups: list[RowGroup]) -> float:
    stored = sum(r.rows for r in groups)
    live = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return 0.0 if stored == 0 else max(0.0, 1 - live / stored)


def small_group_share(groups: list[RowGroup]) -> float:
    if len(groups) < 2 * MIN_GROUPS:
        return 0.0
    body = groups[:-1]  # the last group is still filling
    return sum(r.rows < ROW_GROUP_SIZE // 4 for r in body) / len(body)


def compact(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Rewrite `table` in its sort order: tight zone maps, no deleted rows, full row groups."""
    from podemos_assets.pagos.ddl import duckdb_create
    from podemos_assets.pagos.merge import TABLES

    tmp = f"{table}__compactando"
    con.execute("BEGIN TRANSACTION")
    con.execute(f"DROP TABLE IF EXISTS {tmp}")
    con.execute(duckdb_create(TABLES[table], tmp))
    con.execute(f"INSERT INTO {tmp} SELECT * FROM {table} ORDER BY {COMPACT_ORDER[table]}")
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE {tmp} RENAME TO {table}")
    con.execute("COMMIT")
    con.execute("CHECKPOINT")
