"""`podemos generate`: write the seeded demo data under PODEMOS_HOME.

Each capability contributes one part (a module with `generate(scenario, settings) -> dict`); parts run
in order, each printing what it wrote. A part whose module does not exist yet is skipped.
"""

from __future__ import annotations

import argparse
import importlib
import time

from podemos_assets.config import load_settings
from podemos_assets.demo.scenario import Scenario, default_start

PARTS = [
    "podemos_assets.demo.branches",  # one SQLite database per demo branch
    "podemos_assets.demo.campo",  # field-event batches from simulated devices
    "podemos_assets.demo.regulatorio",  # the 15 regulatory source files
]


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
