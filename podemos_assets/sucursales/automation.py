"""Automation of the branch extracts: the 01:00 schedules (one per zone) and the catch-up sensor.

Runs are boxes of partitions (days x contiguous branches), so a day for 200 branches is a handful of
runs, not 800; per-branch failure isolation comes from the asset (see assets.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg

from decimal import Decimal
from zoneinfo import ZoneInfo

from podemos_assets.config import GO_LIVE
from podemos_assets.resources.branches import BranchesResource, BranchUnreachable, day_window
from podemos_assets.resources.lake import LakeResource
from podemos_assets.sucursales.assets import KEYS, extraccion_sucursales
from podemos_assets.sucursales.extract import TABLAS, extract_path, money_sum
from podemos_assets.sucursales.partitions import BRANCHES, PARTITION_TZ, PARTITIONS, contiguous_blocks, range_tags

CATCH_UP_LOOKBACK = 30  # days the sensor looks back for gaps
SETTLING_DAYS = 3  # re-extract the previous N days too: rows committed late with an older updated_at
JOB = dg.define_asset_job("extraccion_sucursales_job", selection=[extraccion_sucursales], partitions_def=PARTITIONS)


def settling_days(yesterday: date, settling: int = SETTLING_DAYS) -> list[date]:
    return [yesterday - timedelta(days=n) for n in range(settling, -1, -1)]


def daily_requests(zone: str, today: date, settling: int = SETTLING_DAYS) -> list[dg.RunRequest]:
    """Yesterday plus the settling window for every branch of `zone`: one run per block of neighbours."""
    days = settling_days(today - timedelta(days=1), settling)
    ids = [b.id for b in BRANCHES.values() if b.zona_horaria == zone]
    return [
        dg.RunRequest(run_key=f"{zone}|{today}|{first}", tags={**range_tags(days[0], days[-1], first, last),
                                                              "podemos/motivo": "diario"})
        for first, last in contiguous_blocks(ids)
    ]


def _schedule(zone: str) -> dg.ScheduleDefinition:
    @dg.schedule(name=f"sucursales_diario_{zone.split('/')[-1].lower()}", cron_schedule="0 1 * * *",
                 execution_timezone=zone, job=JOB, default_status=dg.DefaultScheduleStatus.STOPPED,
                 description=f"01:00 {zone}: yesterday + {SETTLING_DAYS} settling days for the branches in this zone")
    def daily(context: dg.ScheduleEvaluationContext):
        return daily_requests(zone, context.scheduled_execution_time.date())

    return daily


SCHEDULES = [_schedule(z) for z in sorted({b.zona_horaria for b in BRANCHES.values()})]


def missing_days(instance: dg.DagsterInstance, ids: list[str], first: date, last: date) -> dict[str, list[date]]:
    """Branch-days in [first, last] never materialized (failed or never attempted), per branch."""
    done = {str(k) for k in instance.get_materialized_partitions(KEYS["transacciones"])}
    out: dict[str, list[date]] = {}
    for suc in ids:
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        gap = [d for d in days if f"{d.isoformat()}|{suc}" not in done]
        if gap:
            out[suc] = gap
    return out


def catch_up_requests(instance: dg.DagsterInstance, branches: BranchesResource, ids: list[str], first: date,
                      last: date) -> tuple[list[dg.RunRequest], list[str]]:
    """For each branch with missing days in [first, last] that answers now: one run over its gap.

    Returns the run requests and the branches still down. Shared by the sensor and the demo.
    """
    requests, down = [], []
    for suc, days in sorted(missing_days(instance, ids, first, last).items()):
        if not branches.reader(suc, BRANCHES[suc].connection_url(branches.home_path)).ping():
            down.append(suc)
            continue
        requests.append(dg.RunRequest(  # no run_key: if it fails again the days stay missing and are re-requested
            tags={**range_tags(days[0], days[-1], suc, suc), "podemos/motivo": "recuperacion"},
        ))
    return requests, down


def settling_probe(lake: LakeResource, branches: BranchesResource, ids: list[str], days: list[date]) -> list[tuple[date, str]]:
    """Branch-days whose source totals no longer match what the lake holds (late commits, deletes).

    A cheap settling: COUNT/SUM per table instead of re-extracting every branch-day of the window.
    """
    stale = []
    for suc in ids:
        reader = branches.reader(suc, BRANCHES[suc].connection_url(branches.home_path))
        try:
            stale += _stale_days(lake, reader, suc, days)
        except BranchUnreachable:
            continue  # its days are the catch-up's job once it answers again
    return stale


def _stale_days(lake: LakeResource, reader, suc: str, days: list[date]) -> list[tuple[date, str]]:
    stale = []
    for day in days:
        start, end = day_window(day)
        for tabla in TABLAS:
            path = extract_path(tabla, day, suc)
            if not lake.exists(path):
                break  # never extracted: the catch-up's job
            held = [lake.read_parquet(p) for p in (path, extract_path(tabla, day, suc, "cuarentena")) if lake.exists(p)]
            got = (sum(t.num_rows for t in held), sum((money_sum(t) for t in held), Decimal("0.00")))
            count, total = reader.totals(tabla, start, end)
            if count != got[0] or (total is not None and total != got[1]):
                stale.append((day, suc))
                break
    return stale


@dg.sensor(job=JOB, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED,
           description="A branch whose days failed answers again: request every failed day for it")
def sucursales_recuperacion(context: dg.SensorEvaluationContext, branches: BranchesResource):
    today = datetime.now(ZoneInfo(PARTITION_TZ)).date()
    requests, down = catch_up_requests(context.instance, branches, list(BRANCHES),
                                       max(date.fromisoformat(GO_LIVE), today - timedelta(days=CATCH_UP_LOOKBACK)),
                                       today - timedelta(days=2))  # yesterday belongs to the 01:00 schedule
    if down:
        context.log.info(f"still unreachable: {', '.join(down)}")
    return dg.SensorResult(run_requests=requests)
