"""When to deliver: the one decision of the delivery sensor, from the clock and the outbox.

- before 02:00 of the next day: nothing;
- all required sources present and nothing delivered yet: deliver (complete);
- a required source missing: wait until the 05:30 cut-off, then deliver a PARTIAL version;
- the latest version is partial (or a source changed since: a late file, a corrected re-send, a late
  payment that changed the warehouse) and the extracts now differ: deliver a new version.
The decision's `inputs` fingerprint (the sources' sha256 and the warehouse's collections of the day) is the
run key: the same inputs never launch a second run, a daemon restarted on a materialized instance
launches nothing already done, and a blocked run is retried only once its inputs change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from podemos_assets.config import GO_LIVE
from podemos_assets.regulatorio.extracts import extract_key
from podemos_assets.regulatorio.registry import BUILD_AT, CUTOFF, DEADLINE, TZ, at, load_sources
from podemos_assets.regulatorio.report import cobranza_totals, gather, latest_manifest, refused_without_version

OPEN_DAYS = 7  # business days still watched: late sources, re-sends and deadline results within a week

@dataclass(frozen=True)
class Decision:
    fecha: str
    deliver: bool
    reason: str
    partial: bool = False
    inputs: str = ""  # fingerprint of the extracts it would use: the run key that dedupes requests


def present_sources(fecha: str, lake) -> dict[str, str]:
    """Sources with a good extract for the day -> the sha256 of the file it came from."""
    out = {}
    for name in load_sources():
        key = extract_key(name, fecha, "_control.json")
        if lake.exists(key):
            out[name] = json.loads(lake.read_bytes(key))["sha256"]
    return out


def decide(fecha: str, now: datetime, lake, outbox, warehouse=None) -> Decision:
    decision = _decide(fecha, now, lake, outbox)
    if not decision.deliver:
        return decision
    cobranza = {k: [v[0], str(v[1])] for k, v in cobranza_totals(warehouse, fecha).items()} if warehouse else None
    refused = refused_without_version(gather(fecha, lake)[1])
    inputs = json.dumps([fecha, present_sources(fecha, lake), refused, cobranza], sort_keys=True)
    return replace(decision, inputs=hashlib.sha256(inputs.encode()).hexdigest())


def _decide(fecha: str, now: datetime, lake, outbox) -> Decision:
    if now < at(fecha, BUILD_AT):
        return Decision(fecha, False, f"the report of {fecha} is built from 02:00 of the next day")
    present = present_sources(fecha, lake)
    missing = sorted(n for n, s in load_sources().items() if s.required and n not in present)
    latest = latest_manifest(fecha, outbox)
    if latest is None:
        if not missing:
            return Decision(fecha, True, "all required sources are in")
        if now >= at(fecha, CUTOFF):
            return Decision(fecha, True, f"05:30 cut-off passed without {missing}: partial delivery", partial=True)
        return Decision(fecha, False, f"waiting for {missing} until the 05:30 cut-off")
    delivered = {n: f["sha256"] for n, f in latest["fuentes"].items() if f["estado"] == "incluida"}
    if delivered != present:
        changed = sorted(set(delivered.items()) ^ set(present.items()))
        return Decision(fecha, True, f"sources changed since v{latest['version']}: {sorted({n for n, _ in changed})}",
                        partial=bool(missing))
    refused = refused_without_version(gather(fecha, lake)[1])
    if refused != latest.get("rechazadas_sin_version", []):  # a file refused since: the officer must see it
        return Decision(fecha, True, f"refused since v{latest['version']} with no valid version: {refused}",
                        partial=True)
    return Decision(fecha, False, f"v{latest['version']} is up to date")


def open_dates(now: datetime, days: int = OPEN_DAYS) -> list[str]:
    """The business days still worth watching at `now` (late sources rarely come later than this)."""
    today = now.astimezone(TZ).date()
    first = date.fromisoformat(GO_LIVE)
    return [d.isoformat() for d in (today - timedelta(days=i) for i in range(days, 0, -1)) if d >= first]


def last_due(now: datetime, deadline=DEADLINE) -> str:
    """The most recent business day whose deadline (on the next day) has passed at `now`."""
    local = now.astimezone(TZ)
    back = 1 if local.time() >= deadline else 2
    return (local.date() - timedelta(days=back)).isoformat()
