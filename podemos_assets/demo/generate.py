"""`podemos generate`: write the seeded demo data under PODEMOS_HOME.

Each capability contributes one part (a module with `generate(scenario, settings) -> dict`); parts run
in order, each printing what it wrote. A part whose module does not exist yet is skipped.
"""

from __future__ import annotations

import argparse
import importlib
import time
from datetime import date

from podemos_assets.config import load_settings
from podemos_assets.demo.scenario import DEMO_BRANCHES, DEMO_DAYS, Scenario, default_start

PARTS = [
    "podemos_assets.demo.branches",  # one SQLite database per demo branch
    "podemos_assets.demo.campo",  # field-event batches from simulated devices
    "podemos_assets.demo.regulatorio",  # the 15 regulatory source files
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=date.fromisoformat, help="first day (default: DAYS days before today)")
    parser.add_argument("--days", type=int, default=DEMO_DAYS)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--branches", type=int, default=DEMO_BRANCHES,
                        help=f"how many branches of the registry (default {DEMO_BRANCHES}; 200 is the whole company)")
    parser.add_argument("--clients-per-branch", type=int, default=60)
    parser.add_argument("--no-trouble", dest="trouble", action="store_false", help="no planted trouble")


def main(args: argparse.Namespace) -> int:
    settings = load_settings()
    scenario = Scenario(
        start=args.start or default_start(args.days),
        days=args.days,
        seed=args.seed,
        branches=args.branches,
        clients_per_branch=args.clients_per_branch,
        trouble=args.trouble,
    )
    generate(scenario, settings)
    return 0


def generate(scenario: Scenario, settings) -> dict[str, dict]:
    print(f"==> demo data for {scenario.start} .. {scenario.end} (seed {scenario.seed}) in {settings.home}")
    scenario.save(settings.home)
    summaries = {}
    for name in PARTS:
        try:
            part = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        t0 = time.perf_counter()
        summaries[name.rsplit(".", 1)[-1]] = summary = part.generate(scenario, settings)
        print(f"    {name.rsplit('.', 1)[-1]:<12} {time.perf_counter() - t0:6.1f} s  {summary}")
    return summaries
