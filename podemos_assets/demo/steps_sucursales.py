"""Demo step: extract every branch for every demo day, as the 01:00 schedules would, in few in-process runs.

Each simulated morning applies that day's planted changes (late commits, re-deliveries, deletes), marks
the offline branch's link down or up, and runs one box of partitions: that day for all branches plus
the settling window for late rows. The offline branch fails only its own partitions; after the last
day its link is back and the catch-up (the sensor's logic) fills every failed day in one run.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import date, timedelta

from podemos_assets.resources.branches import OFFLINE_MARKER
from podemos_assets.sucursales.assets import KEYS
from podemos_assets.sucursales.automation import catch_up_requests, missing_days, settling_probe
from podemos_assets.sucursales.bajas import BAJAS
from podemos_assets.sucursales.partitions import BRANCHES, range_tags

MUTATIONS = "mutaciones.json"


def _set_today(folder, today: date) -> None:
    marker = folder / OFFLINE_MARKER
    state = json.loads(marker.read_text()) if marker.exists() else {"sucursales": {}}
    marker.write_text(json.dumps({**state, "hoy": today.isoformat()}, indent=2, sort_keys=True))


def _apply(folder, mutations: list[dict], day: date) -> list[str]:
    notes = []
    for m in (m for m in mutations if m["dia"] == day.isoformat()):
        con = sqlite3.connect(folder / f"{m['sucursal']}.sqlite")
        with con:
            con.execute(m["sql"], m["params"])
        con.close()
        notes.append(f"{m['sucursal']} {m['tipo']}: {m['nota']}")
    return notes


def _run(ctx, keys, first: date, last: date, b0: str, b1: str, label: str):
    t0 = time.perf_counter()
    result = ctx.materialize(keys, tags={**range_tags(first, last, b0, b1), "podemos/motivo": label})
    n = ((last - first).days + 1) * (list(BRANCHES).index(b1) - list(BRANCHES).index(b0) + 1)
    print(f"    {label:<24} {first}..{last} x {b0}..{b1}: {n} partitions, "
          f"{'ok' if result.success else 'FAILED partitions below'} in {time.perf_counter() - t0:.1f} s")
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                print("      " + event.step_failure_data.error.message.strip().replace("\n", "\n      ")[:600])
    return result


def run(ctx) -> None:
    scenario, folder = ctx.scenario, ctx.settings.home / "sucursales"
    ids = list(BRANCHES)[: scenario.branches]
    b0, b1 = ids[0], ids[-1]
    mutations = json.loads((folder / MUTATIONS).read_text()) if (folder / MUTATIONS).exists() else []
    settling = int(scenario.extra.get("settling_days", 3))
    extract_keys = list(KEYS.values())
    lake, branches = _resources(ctx)
    for i, day in enumerate(scenario.dates):
        for note in _apply(folder, mutations, day):
            print(f"    [{day}] planted: {note}")
        _set_today(folder, day + timedelta(days=1))  # the run for `day` happens the next morning
        _run(ctx, extract_keys, day, day, b0, b1, f"day {i + 1} ({day})")
        window = [d for d in (day - timedelta(days=n) for n in range(settling, 0, -1)) if d >= scenario.start]
        stale = settling_probe(lake, branches, ids, window) if window else []
        for fecha, suc in stale:
            print(f"    settling: {suc} {fecha} changed at the source after its extraction -> re-extract")
            _run(ctx, extract_keys, fecha, fecha, suc, suc, f"settling {suc}")
    _set_today(folder, scenario.end + timedelta(days=2))  # every link is back
    requests, down = catch_up_requests(ctx.instance, branches, ids, scenario.start, scenario.end)
    print(f"    catch-up: {len(requests)} branch(es) answer again, still down: {down or 'none'}")
    for req in requests:
        (f0, suc), (f1, _) = (t.split("|") for t in (req.tags["dagster/asset_partition_range_start"],
                                                     req.tags["dagster/asset_partition_range_end"]))
        _run(ctx, extract_keys, date.fromisoformat(f0), date.fromisoformat(f1), suc, suc, f"catch-up {suc}")
    left = missing_days(ctx.instance, ids, scenario.start, scenario.end)
    print(f"    branch-days not extracted: {sum(len(v) for v in left.values())}")
    _run(ctx, [BAJAS], scenario.end, scenario.end, b0, b1, "hard-delete reconciliation")
    bajas = list(lake.list("raw/sucursales/_bajas"))
    quarantine = list(lake.list("cuarentena/sucursales"))
    print(f"    tombstone files: {len(bajas)}; quarantine files: {len(quarantine)}")


def _resources(ctx):
    from podemos_assets.resources import build_resources

    resources = build_resources(ctx.settings)
    return resources["lake"], resources["branches"]
