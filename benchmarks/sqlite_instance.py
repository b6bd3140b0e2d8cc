"""The embedded default's Dagster storage against Dagster's own SQLite storage, measured in the same run.

Both are Dagster's SQLite files in a fresh instance directory; ours (podemos_assets/instance_storage_sqlite.py,
what the repo's dagster.yaml selects) keeps one connection per file open between uses and writes a batch of
asset events at once. For each, alternating, `--rounds` times (medians printed):
  - storing one log event of a run (what every step start, log line and step end costs);
  - reading a run's events (what the UI's run page and every sensor that looks at a run do);
  - reading the latest runs of a job (`get_runs`, what the automation sensors do on every tick);
  - a whole in-process run of `--assets` small assets (Dagster's run creation, steps, events).
Run: .venv/bin/python benchmarks/sqlite_instance.py [--rounds 3] [--events 200] [--assets 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
warnings.simplefilter("ignore")

import dagster as dg  # noqa: E402
from dagster._core.events.log import EventLogEntry  # noqa: E402
from dagster._core.storage.event_log import SqliteEventLogStorage  # noqa: E402

from podemos_assets.instance_storage_sqlite import BatchingSqliteEventLogStorage  # noqa: E402

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
# name -> (the instance directory's dagster.yaml, the event log class it must give)
STORAGES = {
    "Dagster's SQLite storage (baseline)": ("telemetry:\n  enabled: false\n", SqliteEventLogStorage),
    "ours (embedded default)": ((REPO / "dagster.yaml").read_text(), BatchingSqliteEventLogStorage),
}


def small_assets(n: int) -> list[dg.AssetsDefinition]:
    @dg.asset(name="a0")
    def first() -> int:
        return 0

    out = [first]
    for i in range(1, n):
        @dg.asset(name=f"a{i}", deps=[f"a{i - 1}"])
        def step(context) -> None:
            context.log.info("a log line")
        out.append(step)
    return out


def measure(config: str, event_log_cls, args) -> dict[str, float]:
    out = {}
    with tempfile.TemporaryDirectory() as home:
        Path(home, "dagster.yaml").write_text(config)
        with dg.DagsterInstance.from_config(home) as instance:
            events = instance.event_log_storage
            assert type(events) is event_log_cls, type(events)
            assets = small_assets(args.assets)
            dg.materialize(assets, instance=instance, run_config=QUIET)  # warm-up, and runs to read
            t0 = time.perf_counter()
            dg.materialize(assets, instance=instance, run_config=QUIET)
            out[f"in-process run of {args.assets} assets, s"] = time.perf_counter() - t0

            run_id = "0" * 8 + "-bench"
            t0 = time.perf_counter()
            for i in range(args.events):
                events.store_event(EventLogEntry(
                    error_info=None, level=20, user_message=f"line {i}", run_id=run_id, timestamp=time.time()))
            out["store one event, ms"] = (time.perf_counter() - t0) / args.events * 1000
            t0 = time.perf_counter()
            for _ in range(50):
                events.get_records_for_run(run_id, limit=100)
            out["read a run's events (100), ms"] = (time.perf_counter() - t0) / 50 * 1000
            t0 = time.perf_counter()
            for _ in range(50):
                instance.get_runs(filters=dg.RunsFilter(job_name="__ephemeral_asset_job__"), limit=10)
            out["get_runs (latest 10), ms"] = (time.perf_counter() - t0) / 50 * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--assets", type=int, default=10)
    args = parser.parse_args()
    os.environ.pop("DAGSTER_EVENT_BATCH_SIZE", None)  # each storage sets what it needs
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in STORAGES}
    for r in range(args.rounds):
        for name, (config, event_log_cls) in STORAGES.items():  # alternating: drift hits both alike
            print(f"round {r + 1}/{args.rounds}: {name}", flush=True)
            for figure, value in measure(config, event_log_cls, args).items():
                samples[name].setdefault(figure, []).append(value)
    base, ours = (samples[n] for n in STORAGES)
    print(f"\n{'figure (median of ' + str(args.rounds) + ')':<40} {'Dagster':>10} {'ours':>10} {'ratio':>8}")
    for figure in base:
        b, o = statistics.median(base[figure]), statistics.median(ours[figure])
        print(f"{figure:<40} {b:>10.2f} {o:>10.2f} {b / o:>7.1f}x")


if __name__ == "__main__":
    main()
