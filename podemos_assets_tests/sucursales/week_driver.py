"""The simulated week of test_week.py, in its own process (the branch registry is read when the code loads).

Walks the nights of the generated scenario plus one (the offline branch's link is back), ticking every
`--step` minutes from 00:05 to 07:55 America/Mexico_City: before each tick the world moves (planted
branch changes, the MariaDB branch's link up or down through a proxy, phones, regulatory files), then the
simulated daemon evaluates the code location's own automation and runs what it requests. Writes what
happened as JSON for the test to check against the sources.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import dagster as dg

from podemos_assets_tests.sucursales.mariadb import FaultProxy


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--offline-branch", required=True)
    parser.add_argument("--mariadb-port", type=int, required=True)
    parser.add_argument("--link-port", type=int, required=True)
    parser.add_argument("--step", type=int, default=15, help="minutes between ticks")
    args = parser.parse_args(argv)

    from podemos_assets.config import load_settings
    from podemos_assets.definitions import defs
    from podemos_assets.demo.run import DemoContext
    from podemos_assets.demo.scenario import Scenario
    from podemos_assets.demo.world import MX, World
    from podemos_assets.resources import build_resources
    from podemos_assets.simulation import SimulatedDaemon

    settings = load_settings()
    scenario = Scenario.load(settings.home)
    offline = json.loads((settings.home / "sucursales" / "offline.json").read_text())["sucursales"]
    down_days = set(offline.get(args.offline_branch, []))
    link = None
    t0 = time.perf_counter()
    ticks = 0
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        world = World(DemoContext(settings, scenario, instance, defs))
        daemon = SimulatedDaemon(defs, instance, build_resources(settings))
        for day in [*scenario.dates, scenario.end + timedelta(days=1)]:
            now = datetime.combine(day + timedelta(days=1), dtime(0, 5), MX)
            end = datetime.combine(day + timedelta(days=1), dtime(7, 55), MX)
            while now <= end:
                up = now.date().isoformat() not in down_days
                if up and link is None:
                    link = FaultProxy(args.mariadb_port, port=args.link_port)
                elif not up and link is not None:
                    link.close()
                    link = None
                world.advance(now)
                daemon.tick(now)
                ticks += 1
                now += timedelta(minutes=args.step)
        runs = [{"by": r.by, "assets": r.assets, "partitions": r.partitions, "success": r.success, "run_id": r.run_id,
                 "error": r.error[:500]} for r in daemon.runs]
        instance_runs = [{"run_id": r.run_id, "tags": dict(r.tags)} for r in instance.get_runs()]
    Path(args.out).write_text(json.dumps({
        "runs": runs, "instance_runs": instance_runs, "ticks": ticks, "seconds": round(time.perf_counter() - t0, 1),
        "tick_seconds": {k: [round(v, 3) for v in vs] for k, vs in daemon.tick_seconds.items()},
        "world": world.notes,
    }, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
