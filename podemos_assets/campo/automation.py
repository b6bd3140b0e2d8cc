"""The landing sensor: each new landing file (the batches acknowledged together) requests exactly the
event days its events touch, so a late batch re-materializes its old partition and nothing else.

It decides from durable state only: its cursor, the landing zone and (on a first tick, without a
cursor) the instance's materializations, so a daemon started on an already materialized instance
requests nothing new. "Now" (which partitions exist) comes from the `clock` resource.
"""


import hashlib
import json
import posixpath
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from podemos_assets.automation import sensor_status
from podemos_assets.campo import transform
from podemos_assets.campo.partitions import EVENT_DAY_PARTITIONS
from podemos_assets.resources.clock import ClockResource
from podemos_assets.resources.lake import LakeResource

KEEP_DAYS = 3  # receipt days still tracked in the cursor; the server only writes today's (MX) folder


def _selection() -> dg.AssetSelection:
    # The whole multi-asset (index, per-type tables, quarantine) and the metrics built on it.
    return dg.AssetSelection.assets("eventos_campo", "metricas_campo").required_multi_asset_neighbors()


def plan(lake: LakeResource, cursor: dict, valid_keys: set[str]) -> tuple[list[str], dict[str, list[str]], dict]:
    """(new landing keys, {event day: the new keys touching it}, next cursor)."""
    since = date.fromisoformat(cursor["desde"]) if cursor.get("desde") else None
    seen: dict[str, list[str]] = cursor.get("vistos", {})
    new = [k for k in transform.landing_keys(lake, since)
           if posixpath.basename(k) not in set(seen.get(transform.received_day(k).isoformat(), []))]
    touched: dict[str, list[str]] = {}
    for key in new:
        for day in sorted(transform.touched_days(transform.read_landing(lake, [key]))):
            touched.setdefault(day.isoformat(), []).append(key)
    for key in new:
        seen.setdefault(transform.received_day(key).isoformat(), []).append(posixpath.basename(key))
    if seen:
        newest = max(date.fromisoformat(d) for d in seen)
        keep_from = newest - timedelta(days=KEEP_DAYS - 1)
        seen = {d: sorted(v) for d, v in seen.items() if date.fromisoformat(d) >= keep_from}
        since = keep_from
    out_of_range = {d: k for d, k in touched.items() if d not in valid_keys}
    touched = {d: k for d, k in touched.items() if d in valid_keys}
    next_cursor = {"desde": since.isoformat() if since else None, "vistos": seen, "fuera_de_rango": sorted(out_of_range)}
    return new, touched, next_cursor


def _already_built(context: dg.SensorEvaluationContext, lake: LakeResource,
                   touched: dict[str, list[str]]) -> dict[str, list[str]]:
    """Without a cursor (a new daemon, a reset sensor): drop the files whose day was materialized after
    they were written; the instance's records are as durable as the landing zone."""
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # evaluated without an instance (unit tests)
        return touched
    if not touched:
        return touched
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("eventos_campo"), asset_partitions=sorted(touched)),
        limit=10_000).records
    built: dict[str, float] = {}
    for rec in records:
        key = rec.partition_key
        built[key] = max(built.get(key, 0.0), rec.timestamp)
    out = {}
    for day, keys in touched.items():
        newer = [k for k in keys if day not in built or (lake.modified(k) or datetime.max.replace(
            tzinfo=UTC)).timestamp() > built[day]]
        if newer:
            out[day] = newer
    return out


@dg.sensor(
    name="campo_landing_sensor",
    asset_selection=_selection(),
    minimum_interval_seconds=30,
    default_status=sensor_status(),
    description="Requests eventos_campo + metricas_campo for exactly the event days that new landing files touch.",
)
def campo_landing_sensor(context: dg.SensorEvaluationContext, lake: LakeResource, clock: ClockResource):
    cursor = json.loads(context.cursor) if context.cursor else {}
    valid = set(EVENT_DAY_PARTITIONS.get_partition_keys(current_time=clock.now(), dynamic_partitions_store=None))
    new, touched, next_cursor = plan(lake, cursor, valid)
    if not context.cursor:
        touched = _already_built(context, lake, touched)
    if next_cursor.get("fuera_de_rango"):
        context.log.warning(f"events dated outside the partitions {next_cursor['fuera_de_rango']}: they stay "
                            "in the landing zone; check the devices' clocks")
    context.update_cursor(json.dumps(next_cursor, sort_keys=True))
    if not touched:
        return dg.SkipReason("no new landing files" if not new else "new landing files already materialized")
    return [
        dg.RunRequest(
            partition_key=day,
            run_key=f"campo:{day}:{hashlib.sha256(''.join(sorted(keys)).encode()).hexdigest()[:16]}",
            tags={"podemos/campo_landing_files": str(len(keys))},
        )
        for day, keys in sorted(touched.items())
    ]
