"""`podemos backfill`: extract a branch's days again (after an outage, a fix at the branch, an audit).

One in-process run per branch over the box `[desde, hasta] x sucursal` of the daily window on the
DAGSTER_HOME instance, so the materializations show in the UI like a backfill launched there; days older
than the window are re-extracted a whole closed month at a time (`sucursales/meses_cerrados`, one run
per branch and month). Exit code 1 if any day failed, 2 for
a user error (said on one line, before the definitions are loaded).

A `kill -9` of this process cannot run any clean-up, so the run carries its own death certificate: a
lease in Dagster's `dagster/max_runtime` tag, renewed while the process lives. Once it lapses, Dagster's
run monitor (the daemon) fails the run and `free_slots_after_run_end_seconds` returns its `sucursales`
pool slot; where no daemon runs, the next `podemos backfill` applies the same Dagster rule itself.
Why a lease and not a submitted run: docs/sucursales.md, "Backfill from the command line".
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from podemos_assets.config import ConfigError, load_settings, window_start
from podemos_assets.sucursales.registry import load_registry

# = partitions.PARTITION_TZ (that module imports Dagster; test_backfill_cli keeps the two equal): a
# branch-local day is a partition once it has ended in the easternmost branch zone.
PARTITION_TZ = "America/Cancun"
MOTIVO_TAG, MOTIVO = "podemos/motivo", "backfill-cli"
LEASE_TAG = "dagster/max_runtime"  # read by Dagster's run monitor on every poll (check_run_timeout)
LEASE_POLLS = 3  # a run whose process missed three of the monitor's polls is dead


class UsageError(ValueError):
    """A mistake in the command line: printed as one line, exit code 2."""


@dataclass(frozen=True)
class Plan:
    desde: date  # first day inside the daily window (after `hasta` when the range is all closed months)
    hasta: date
    sucursales: tuple[str, ...]
    meses: tuple[date, ...] = ()  # closed months (their 1st day) before the window, re-extracted whole

    @property
    def days(self) -> int:
        return (self.hasta - self.desde).days + 1 if self.desde <= self.hasta else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Plain strings: a bad date is one of our one-line errors, not argparse's usage dump.
    parser.add_argument("--sucursal", required=True, nargs="+", metavar="SUC", help="branch id(s), e.g. suc_007")
    parser.add_argument("--desde", required=True, metavar="YYYY-MM-DD", help="first branch-local day")
    parser.add_argument("--hasta", required=True, metavar="YYYY-MM-DD", help="last day, inclusive")
    parser.add_argument("--verbose", "-v", action="store_true", help="also print Dagster's event log")


def _go_live(settings) -> date:
    return date.fromisoformat(settings.go_live)  # PODEMOS_GO_LIVE, validated by load_settings


def _date(flag: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not a date: expected YYYY-MM-DD, e.g. 2026-11-05.") from None


def validate(args: argparse.Namespace, settings, now: datetime | None = None) -> Plan:
    """Check the command line against go-live, the calendar and the registry (no Dagster import)."""
    desde, hasta = _date("--desde", args.desde), _date("--hasta", args.hasta)
    if hasta < desde:
        raise UsageError(f"--hasta {hasta} is before --desde {desde}.")
    go_live = _go_live(settings)
    if desde < go_live:
        raise UsageError(f"--desde {desde} is before go-live {go_live} (PODEMOS_GO_LIVE): days before it are "
                         "loaded by the bulk path, not extracted per day.")
    today = (now or datetime.now(ZoneInfo(PARTITION_TZ))).astimezone(ZoneInfo(PARTITION_TZ)).date()
    latest = today - timedelta(1)
    if hasta > latest:
        raise UsageError(f"--hasta {hasta} has not ended in every branch zone yet: the latest day that can be "
                         f"extracted is {latest}.")
    known = {b.id for b in load_registry(settings.branch_registry)}
    unknown = [s for s in args.sucursal if s not in known]
    if unknown:
        raise UsageError(f"unknown branch id(s) {', '.join(unknown)}: not in the registry "
                         f"{settings.branch_registry} (ids look like suc_007).")
    first_day = window_start(today, settings.window_months, settings.go_live)
    meses = []
    mes = desde.replace(day=1)
    while mes < first_day and mes <= hasta:
        meses.append(mes)
        mes = (mes + timedelta(days=31)).replace(day=1)
    return Plan(max(desde, first_day), hasta, tuple(dict.fromkeys(args.sucursal)), tuple(meses))


def main(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        plan = validate(args, settings)
    except (UsageError, ConfigError) as exc:
        print(f"podemos backfill: {exc}", file=sys.stderr)
        return 2
    return run(plan, settings, verbose=args.verbose)


def run(plan: Plan, settings, verbose: bool = False) -> int:
    import dagster as dg
    from dagster._core.utils import make_new_run_id

    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        launcher = instance.run_launcher
        if launcher.supports_check_run_worker_health:
            # Such a monitor (EcsRunLauncher) fails at its first poll any run it has no worker for.
            print(f"podemos backfill: DAGSTER_HOME={settings.dagster_home} launches runs with "
                  f"{type(launcher).__name__}, whose run monitor would fail an in-process run: launch this "
                  "backfill from the UI (docs/sucursales.md).", file=sys.stderr)
            return 2
        for line in close_dead_runs(instance):
            print(line)
        closed = f" + {len(plan.meses)} closed month(s) {plan.meses[0]:%Y-%m}..{plan.meses[-1]:%Y-%m}" if plan.meses else ""
        print(f"backfill: {len(plan.sucursales)} branch(es) x {plan.days} day(s) {plan.desde}..{plan.hasta}{closed}; "
              "loading the definitions...", flush=True)
        t0 = time.perf_counter()
        from podemos_assets.definitions import defs
        from podemos_assets.sucursales.partitions import month_key, range_tags
        from podemos_assets.sucursales.schemas import KEYS, MESES_CERRADOS

        print(f"backfill: definitions loaded in {time.perf_counter() - t0:.1f} s", flush=True)
        job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=set(KEYS.values()))
        months_job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={MESES_CERRADOS})
        lease = LEASE_POLLS * instance.run_monitoring_poll_interval_seconds
        quiet = None if verbose else {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
        failed: list[str] = []
        for suc in plan.sucursales:
            for mes in plan.meses:
                run_id, t1 = make_new_run_id(), time.perf_counter()
                print(f"{suc}: closed month {mes:%Y-%m}, run {run_id}", flush=True)
                with _Heartbeat(instance, run_id, lease, suc, 1):
                    result = months_job.execute_in_process(
                        instance=instance, raise_on_error=False, run_id=run_id, run_config=quiet,
                        partition_key=month_key(mes, suc), tags={MOTIVO_TAG: MOTIVO, LEASE_TAG: str(lease)})
                if result.success:
                    print(f"{suc}: {mes:%Y-%m} extracted in {time.perf_counter() - t1:.1f} s", flush=True)
                else:
                    failed.append(f"{suc} {mes:%Y-%m}")
                    error = result.failure_data_for_node("sucursales__meses_cerrados")
                    why = error.error.message.strip() if error else "see the run in the UI"
                    print(f"{suc}: {mes:%Y-%m} FAILED (run {run_id}): {why}", flush=True)
            if not plan.days:
                continue
            run_id = make_new_run_id()
            expected = plan.days * len(KEYS)
            print(f"{suc}: {plan.days} day(s) {plan.desde}..{plan.hasta}, run {run_id}", flush=True)
            t1 = time.perf_counter()
            with _Heartbeat(instance, run_id, lease, suc, expected):
                result = job.execute_in_process(
                    instance=instance, raise_on_error=False, run_id=run_id, run_config=quiet,
                    tags={**range_tags(plan.desde, plan.hasta, suc, suc), MOTIVO_TAG: MOTIVO,
                          LEASE_TAG: str(lease)},
                )
            if result.success:
                print(f"{suc}: {plan.days} day(s) extracted in {time.perf_counter() - t1:.1f} s", flush=True)
            else:
                failed.append(suc)
                error = result.failure_data_for_node("extraccion_sucursales")
                why = error.error.message.strip() if error else "see the run in the UI"
                print(f"{suc}: FAILED (run {run_id}): {why}", flush=True)
        ok = len([s for s in plan.sucursales if not any(f.split()[0] == s for f in failed)])
        print(f"backfill: {ok} of {len(plan.sucursales)} branch(es) extracted"
              + (f"; failed: {', '.join(failed)} (runs tagged {MOTIVO_TAG}={MOTIVO} in the UI)" if failed else ""))
    return 1 if failed else 0


class _Heartbeat:
    """Renews the run's lease and prints progress while the run executes in this process."""

    def __init__(self, instance, run_id: str, lease: int, suc: str, expected: int):
        self.instance, self.run_id, self.lease, self.suc, self.expected = instance, run_id, lease, suc, expected
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{run_id[:8]}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        from dagster import DagsterEventType

        # Renew at a third of the lease: two renewals may be lost (a busy disk) before the run counts as
        # dead. Progress is looked at more often than that, so a short run still says what it wrote.
        period, tick = max(1.0, self.lease / LEASE_POLLS), min(5.0, max(1.0, self.lease / LEASE_POLLS))
        renewed, written = time.monotonic(), 0
        while not self._stop.wait(tick):
            try:
                record = self.instance.get_run_record_by_id(self.run_id)
                if record is None or record.dagster_run.is_finished:
                    continue
                if record.start_time is not None and time.monotonic() - renewed >= period - tick / 2:
                    elapsed = time.time() - record.start_time
                    self.instance.add_run_tags(self.run_id, {LEASE_TAG: str(int(elapsed + self.lease))})
                    renewed = time.monotonic()
                n = len(self.instance.get_records_for_run(
                    self.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=self.expected).records)
                if n != written:
                    written = n
                    print(f"{self.suc}: {n} of {self.expected} table-days written", flush=True)
            except Exception as exc:  # a storage hiccup must not kill the run; the next beat tries again
                print(f"{self.suc}: lease renewal failed ({type(exc).__name__}); retrying", flush=True)


def close_dead_runs(instance) -> list[str]:
    """Fail this command's runs whose lease lapsed and free the pool slots they hold (Dagster's own rule).

    The run monitor does the same on a deployment with a daemon; this makes an instance without one (the
    embedded demo) heal on the next backfill instead of keeping a killed run's slot forever.
    """
    import logging

    from dagster import DagsterRunStatus, RunsFilter
    from dagster._daemon.monitoring.run_monitoring import check_run_timeout

    lines = []
    mine = RunsFilter(statuses=[DagsterRunStatus.STARTED], tags={MOTIVO_TAG: MOTIVO})
    for record in instance.get_run_records(filters=mine):
        check_run_timeout(instance, record, logging.getLogger("podemos.backfill"),
                          float(instance.run_monitoring_max_runtime_seconds))
        if instance.get_run_by_id(record.dagster_run.run_id).is_finished:
            lines.append(f"backfill: run {record.dagster_run.run_id} of a killed backfill failed (its lease lapsed)")
    storage = instance.event_log_storage
    for run_id in storage.get_concurrency_run_ids():
        held = instance.get_run_by_id(run_id)
        if held is not None and held.is_finished and held.tags.get(MOTIVO_TAG) == MOTIVO:
            # Counted first: the SQL storages' free_concurrency_slots_for_run returns nothing.
            slots = [f"{pool} x{n}" for pool in sorted(storage.get_concurrency_keys())
                     if (n := sum(s.run_id == run_id for s in storage.get_concurrency_info(pool).claimed_slots))]
            storage.free_concurrency_slots_for_run(run_id)
            lines.append(f"backfill: freed the pool slot(s) of finished run {run_id}: {', '.join(slots) or 'pending'}")
    return lines
