"""The partitions of the branch extracts: a rolling window of days x branch, and closed months x branch.

One partition per branch-day since go-live would pass Dagster's advised 100,000 partitions per asset about
16 months after go-live (200 branches) and keep growing. So (docs/sucursales.md, "Partitions over the
years", with the measurements that chose it):
- `BRANCH_DAY_PARTITIONS` (`fecha` x `sucursal`): the days of the current month and of the
  `PODEMOS_VENTANA_MESES` (6) closed months before it: at most 215 days, 43,000 partitions for 200
  branches, 86,000 for 400, however many years pass. Nights, settling, catch-up and per-day backfills.
- `BRANCH_MONTH_PARTITIONS` (`mes` x `sucursal`): every month from go-live to the window, for the asset
  `sucursales/meses_cerrados`, which re-extracts a closed month of one branch (a fingerprint difference
  older than the window, or a per-branch backfill of old months): 60 x 400 = 24,000 after five years.
The window's first day moves on the 1st of a month: every process loaded in the same month agrees.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg

from podemos_assets.config import GO_LIVE, WINDOW_MONTHS, load_settings, window_start
from podemos_assets.sucursales.registry import Branch, load_registry

# The easternmost branch zone: a branch-local day exists as a partition once it has ended everywhere
# east of it, i.e. before 01:00 local in every Mexican zone (the schedules' time).
PARTITION_TZ = "America/Cancun"
# Each night re-extracts yesterday and the N days before it (rows committed just after midnight with the
# old day's updated_at are the common late case); older late rows are the fingerprint's (conciliacion.py).
SETTLING_DAYS = 1


def branches() -> tuple[Branch, ...]:
    return load_registry(load_settings().branch_registry)


def month_start(day: date) -> date:
    return day.replace(day=1)


BRANCHES: dict[str, Branch] = {b.id: b for b in branches()}
# Read once per process, like Dagster's own partition end: the window moves when the code location reloads.
FIRST_DAY: date = window_start(datetime.now(ZoneInfo(PARTITION_TZ)).date(), WINDOW_MONTHS, GO_LIVE)
BRANCH_DATE_PARTITIONS = dg.DailyPartitionsDefinition(start_date=FIRST_DAY.isoformat(), timezone=PARTITION_TZ)
BRANCH_PARTITIONS = dg.StaticPartitionsDefinition(list(BRANCHES))
BRANCH_DAY_PARTITIONS = dg.MultiPartitionsDefinition({"fecha": BRANCH_DATE_PARTITIONS, "sucursal": BRANCH_PARTITIONS})
# Closed months before the window (none until go-live is older than the window).
CLOSED_MONTHS = dg.MonthlyPartitionsDefinition(
    start_date=month_start(date.fromisoformat(GO_LIVE)).isoformat(), end_date=FIRST_DAY.isoformat(),
    timezone=PARTITION_TZ)
BRANCH_MONTH_PARTITIONS = dg.MultiPartitionsDefinition({"mes": CLOSED_MONTHS, "sucursal": BRANCH_PARTITIONS})


def day_window(day: date) -> tuple[datetime, datetime]:
    """The half-open branch-local window [day 00:00, day+1 00:00) of a partition's business day."""
    start = datetime(day.year, day.month, day.day)
    return start, datetime.fromordinal(start.toordinal() + 1)


def partition_key(fecha: date, sucursal: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"fecha": fecha.isoformat(), "sucursal": sucursal})


def month_key(mes: date, sucursal: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"mes": month_start(mes).isoformat(), "sucursal": sucursal})


def split_key(key: str) -> tuple[date, str]:
    """A branch-day or a closed month: '2026-11-03|suc_007' -> (date(2026, 11, 3), 'suc_007')."""
    if isinstance(key, dg.MultiPartitionKey):
        keys = key.keys_by_dimension
        return date.fromisoformat(keys.get("fecha") or keys["mes"]), keys["sucursal"]
    day, sucursal = key.split("|")
    return date.fromisoformat(day), sucursal


def range_tags(first: date, last: date, first_branch: str, last_branch: str) -> dict[str, str]:
    """Run tags for one run over a box of partitions: days [first, last] x branches [first_branch, last_branch]
    (contiguous in registry order). One run instead of one per partition: see docs/sucursales.md."""
    return {
        "dagster/asset_partition_range_start": f"{first.isoformat()}|{first_branch}",
        "dagster/asset_partition_range_end": f"{last.isoformat()}|{last_branch}",
    }


def contiguous_blocks(ids: list[str]) -> list[tuple[str, str]]:
    """Group branch ids into runs of neighbours in registry order, as (first, last) pairs."""
    order = {b: i for i, b in enumerate(BRANCHES)}
    blocks: list[list[str]] = []
    for b in sorted(ids, key=order.__getitem__):
        if blocks and order[b] == order[blocks[-1][-1]] + 1:
            blocks[-1].append(b)
        else:
            blocks.append([b])
    return [(blk[0], blk[-1]) for blk in blocks]
