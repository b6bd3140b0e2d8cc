"""When to deliver: the one decision the 02:00 schedule, the 05:30 cut-off and the re-delivery sensor share.

- before 02:00 of the next day: nothing;
- all required sources present and nothing delivered yet: deliver (complete);
- a required source missing: wait until the 05:30 cut-off, then deliver a PARTIAL version;
- the latest version is partial (or a source changed since) and the extracts now differ: deliver again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from podemos_assets.config import GO_LIVE
from podemos_assets.regulatorio.extracts import extract_key
from podemos_assets.regulatorio.registry import BUILD_AT, CUTOFF, DEADLINE, TZ, at, load_sources
from podemos_assets.regulatorio.report import latest_manifest

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


def decide(fecha: str, now: datetime, lake, outbox) -> Decision:
    decision = _decide(fecha, now, lake, outbox)
    if not decision.deliver:
        return decision
    inputs = json.dumps([fecha, present_sources(fecha, lake)], sort_keys=True)
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
    return Decision(fecha, False, f"v{latest['version']} is up to date")


def open_dates(now: datetime, days: int = 3) -> list[str]:
    """The business days still worth watching at `now` (late sources rarely come later than this)."""
    today = now.astimezone(TZ).date()
    first = date.fromisoformat(GO_LIVE)
    return [d.isoformat() for d in (today - timedelta(days=i) for i in range(days, 0, -1)) if d >= first]


def last_due(now: datetime, deadline=DEADLINE) -> str:
    """The most recent business day whose deadline (on the next day) has passed at `now`."""
    local = now.astimezone(TZ)
    back = 1 if local.time() >= deadline else 2
    return (local.date() - timedelta(days=back)).isoformat()
