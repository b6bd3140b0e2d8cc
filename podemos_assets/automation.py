"""The platform's automation switch and its one declarative-automation sensor.

Every sensor of every capability (the code location has no schedule: wall-clock times are cron
conditions and sensors) takes its default status from here, so one setting
pauses the whole night (`PODEMOS_AUTOMATION=pausada`, e.g. during a migration) and everything else is
on by default in the code location. Assets that run "after what they read" carry an
`automation_condition`; `automatizacion_podemos` evaluates them all (as Dagster's own platform does).
Time-dependent sensors ask the `clock` resource for "now", never the system clock, so a simulated night
(`podemos demo`, the week test) evaluates the very same definitions at simulated times.
"""

from __future__ import annotations

import dagster as dg

from podemos_assets.config import load_settings

SENSOR_NAME = "automatizacion_podemos"
# A sensor that runs assets to repair them (with its own run config), not because what they read changed:
# it is not their automation path, which stays exactly one (podemos_assets_tests/test_automation.py).
MAINTENANCE = {"podemos/automatizacion": "mantenimiento"}


def automation_on() -> bool:
    return load_settings().automation_on


def sensor_status() -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if automation_on() else dg.DefaultSensorStatus.STOPPED


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """One sensor over the whole graph: evaluates every asset's `automation_condition` each tick."""
    return dg.AutomationConditionSensorDefinition(
        SENSOR_NAME,
        target=dg.AssetSelection.all(),
        default_status=sensor_status(),
        minimum_interval_seconds=60,
        emit_backfills=True,  # a request over many partitions becomes one backfill, chunked by its BackfillPolicy
        description="Evaluates the automation condition of every asset (after what it reads, at its cron time)",
    )


def after_upstream() -> dg.AutomationCondition:
    """Run a partition again whenever something it reads changed, once none of its inputs is being written.

    Dagster's `eager()` minus two guards, on purpose: it waits for *missing* inputs (one offline branch
    would hold the whole warehouse back; the catch-up updates the inputs later and this fires again), and it
    looks only at the latest time window (a branch-day settled weeks later must reach the warehouse too).
    """
    return (
        dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("after_upstream")


def daily_at(cron: str, timezone: str = "America/Mexico_City") -> dg.AutomationCondition:
    """Once per cron tick (a wall-clock time that matters), whatever the inputs did."""
    return (
        dg.AutomationCondition.cron_tick_passed(cron, timezone).since_last_handled()
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"daily_at({cron} {timezone})")
