"""The partitions of the branch extracts: branch-local business day (`fecha`) x branch (`sucursal`).

200 branches x one day each: the asset reaches Dagster's advised 100,000 partitions about 16 months
after go-live; by then GO_LIVE moves forward and older days belong to the bulk (Spark) path.
"""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg

from podemos_assets.config import GO_LIVE, load_settings
from podemos_assets.sucursales.registry import Branch, load_registry

# The easternmost branch zone: a branch-local day exists as a partition once it has ended everywhere
# east of it, i.e. before 01:00 local in every Mexican zone (the schedules' time).
PARTITION_TZ = "America/Cancun"
# Each night re-extracts yesterday and the N days before it (rows committed just after midnight with the
# old day's updated_at are the common late case); older late rows are the fingerprint's (conciliacion.py).
SETTLING_DAYS = 1


def branches() -> tuple[Branch, ...]:
    return load_registry(load_settings().branch_registry)


BRANCHES: dict[str, Branch] = {b.id: b for b in branches()}
BRANCH_DATE_PARTITIONS = dg.DailyPartitionsDefinition(start_date=GO_LIVE, timezone=PARTITION_TZ)
BRANCH_PARTITIONS = dg.StaticPartitionsDefinition(list(BRANCHES))
BRANCH_DAY_PARTITIONS = dg.MultiPartitionsDefinition({"fecha": BRANCH_DATE_PARTITIONS, "sucursal": BRANCH_PARTITIONS})


def day_window(day: date) -> tuple[datetime, datetime]:
    """The half-open branch-local window [day 00:00, day+1 00:00) of a partition's business day."""
    start = datetime(day.year, day.month, day.day)
    return start, datetime.fromordinal(start.toordinal() + 1)


def partition_key(fecha: date, sucursal: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"fecha": fecha.isoformat(), "sucursal": sucursal})


def split_key(key: str) -> tuple[date, str]:
    """'2026-11-03|suc_007' -> (date(2026, 11, 3), 'suc_007')."""
    keys = key.keys_by_dimension if isinstance(key, dg.MultiPartitionKey) else dict(
        zip(("fecha", "sucursal"), key.split("|")))
    return date.fromisoformat(keys["fecha"]), keys["sucursal"]


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
