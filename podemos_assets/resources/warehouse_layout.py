"""Layout health of a warehouse table, in each engine's own metrics: what `WarehouseResource.layout_health`
answers (the `pagos` layout checks turn it into check results).

DuckDB keeps a min/max zone map per row group and column (`pragma_storage_info`); a range query reads only
the row groups whose range meets the filter, and these metrics say how well that still works. Redshift
reports the same aspects in `svv_table_info` (unsorted, stats_off, skew_rows).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import duckdb


@dataclass(frozen=True)
class LayoutMeasure:
    """One aspect of a table's layout in the engine's own metric; it passes while `value <= limit`."""

    metric: str  # the engine's name for it, e.g. row_groups_solapados (DuckDB), unsorted (Redshift)
    value: float | None  # None: the engine has no figure for the table (e.g. not created yet)
    limit: float
    fix: str  # what to run when it fails
    extra: dict = field(default_factory=dict)  # more metadata for the check (e.g. how many row groups)

    @property
    def passed(self) -> bool:
        return self.value is not None and self.value <= self.limit

    def describe(self) -> str:
        value = "unknown" if self.value is None else f"{self.value:.3f}"
        return f"{self.metric} = {value} (limit {self.limit})" + ("" if self.passed else f": {self.fix}")


@dataclass(frozen=True)
class LayoutHealth:
    """How well a table's physical layout still serves range and point queries on its sort column."""

    sortedness: LayoutMeasure  # ranges on the column still prune (DuckDB overlapping row groups; Redshift unsorted)
    statistics: LayoutMeasure  # the statistics describe live rows (DuckDB deleted rows; Redshift stats_off)
    spread: LayoutMeasure  # storage is full and even (DuckDB small row groups; Redshift skew_rows over slices)
    lookups: LayoutMeasure | None  # cost of a point lookup on the column; None: served by the distribution key


# --- DuckDB: zone maps per row group -------------------------------------------------------------------

ROW_GROUP_SIZE = 122_880  # DuckDB's default; a row group much smaller than this is overhead

# Thresholds (DuckDB analogues of Redshift's unsorted / stats_off / small blocks).
MAX_OVERLAP = 0.20  # share of row groups whose range overlaps another's beyond a shared boundary value
MAX_DELETED = 0.10  # share of stored rows that are deleted but still widen the zone maps
MAX_SMALL_GROUPS = 0.20  # share of row groups under a quarter of ROW_GROUP_SIZE (tables of 8+ groups)
MAX_GROUPS_PER_LOOKUP = 8.0  # row groups a point lookup reads on average
MIN_GROUPS = 4  # below this a table is read whole by any query: sortedness is not judged


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


def duckdb_health(con: duckdb.DuckDBPyConnection, table: str, column: str, compaction: str) -> LayoutHealth:
    groups = row_groups(con, table, column)
    n = {"row_groups": len(groups)}
    per_lookup = groups_per_lookup(groups)
    # Under MIN_GROUPS the whole table is a few row groups: every query reads all of it anyway.
    overlap = overlap_share(groups) if len(groups) >= MIN_GROUPS else 0.0
    return LayoutHealth(
        sortedness=LayoutMeasure("row_groups_solapados", overlap, MAX_OVERLAP, compaction,
                                 {**n, "row_groups_por_busqueda": round(per_lookup, 2)}),
        statistics=LayoutMeasure("filas_borradas", deleted_share(con, table, groups), MAX_DELETED, compaction),
        spread=LayoutMeasure("row_groups_pequenos", small_group_share(groups), MAX_SMALL_GROUPS, compaction, n),
        # Never more than MAX groups, nor half the table once it has a few groups (a random order reads them all).
        lookups=LayoutMeasure("row_groups_por_busqueda", per_lookup,
                              min(MAX_GROUPS_PER_LOOKUP, max(2.0, len(groups) / 2)), compaction, n),
    )


# --- Redshift: svv_table_info ----------------------------------------------------------------------------

# Above these the reports degrade (sql/redshift/profiling/svv_table_info.sql explains each).
MAX_UNSORTED = 20.0  # % of rows outside the sort order
MAX_STATS_OFF = 10.0  # staleness of the planner statistics (0 = fresh)
MAX_SKEW_ROWS = 4.0  # rows on the fullest slice / rows on the emptiest

TABLE_INFO_COLUMNS = ("schema", "table", "tbl_rows", "size_mb", "unsorted", "stats_off", "skew_rows", "diststyle",
                      "sortkey1")


def svv_table_info_sql(table: str) -> str:
    if not table.replace("_", "").isalnum():
        raise ValueError(f"not a table name: {table!r}")
    return ('SELECT "schema", "table", tbl_rows, size AS size_mb, unsorted, stats_off, skew_rows, diststyle, sortkey1 '
            f"FROM svv_table_info WHERE \"table\" = '{table}'")


def redshift_health(info: dict, table: str) -> LayoutHealth:
    """`info`: the table's svv_table_info row by TABLE_INFO_COLUMNS ({} when the table is not there)."""
    def measure(metric: str, limit: float, fix: str) -> LayoutMeasure:
        value = info.get(metric)
        return LayoutMeasure(metric, None if value is None else float(value), limit, fix)

    dist = f" ({info['diststyle']})" if info.get("diststyle") else ""
    return LayoutHealth(
        sortedness=measure("unsorted", MAX_UNSORTED, f"run `VACUUM SORT ONLY {table} TO 99 PERCENT`"),
        statistics=measure("stats_off", MAX_STATS_OFF, f"run `ANALYZE {table}`"),
        spread=measure("skew_rows", MAX_SKEW_ROWS, f"review the DISTKEY of {table}{dist}: count its rows per key "
                       "value to find the outlier"),
        lookups=None,  # a point lookup goes to the slice of its DISTKEY value: there are no row groups to count
    )
