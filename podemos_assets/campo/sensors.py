"""The landing sensor: each new landing file (one acknowledged batch) requests exactly the event days
its events touch, so a late batch re-materializes its old partition and nothing else."""


import hashlib
import json
import posixpath
from datetime import date, timedelta

import dagster as dg

from podemos_assets.campo import transform
from podemos_assets.campo.partitions import event_days
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


@dg.sensor(
    name="campo_landing_sensor",
    asset_selection=_selection(),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests eventos_campo + metricas_campo for exactly the event days that new landing files touch.",
)
def campo_landing_sensor(context: dg.SensorEvaluationContext, lake: LakeResource):
    cursor = json.loads(context.cursor) if context.cursor else {}
    valid = set(event_days.get_partition_keys(dynamic_partitions_store=None))
    new, touched, next_cursor = plan(lake, cursor, valid)
    if next_cursor.get("fuera_de_rango"):
        context.log.warning(f"events dated outside the partitions {next_cursor['fuera_de_rango']}: they stay "
                            "in the landing zone; check the devices' clocks")
    context.update_cursor(json.dumps(next_cursor, sort_keys=True))
    if not new:
        return dg.SkipReason("no new landing files")
    return [
        dg.RunRequest(
            partition_key=day,
            run_key=f"campo:{day}:{hashlib.sha256(''.join(sorted(keys)).encode()).hexdigest()[:16]}",
            tags={"podemos/campo_landing_files": str(len(keys))},
        )
        for day, keys in sorted(touched.items())
    ]
