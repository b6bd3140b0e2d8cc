"""A simulated daemon: the code location's own automation evaluated at simulated times, runs executed in-process.

Production has only the Dagster daemon, which evaluates schedules at their cron ticks, sensors at their
interval and the automation conditions every minute, and launches what they request. This does the same
for a clock that the caller advances (`tick(now)`), so `podemos demo` and the week test walk through
nights in minutes and show exactly what the daemon would decide: nothing runs that no schedule, sensor or
automation condition requested. Differences from the daemon, on purpose: runs execute synchronously in
this process (so one tick's runs are finished before the next decision), and each tick is evaluated in a
few one-minute rounds so that what one run wrote can trigger the next within the same tick.

Runs carry the tags the daemon gives them (`dagster/sensor_name` + `dagster/run_key`, the schedule name,
the automation evaluation), so a real daemon started afterwards on the same instance does not launch
them again.
"""

from __future__ import annotations

import contextlib
import io
import time as _time
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import dagster as dg
from dagster._utils.schedules import cron_string_iterator  # the daemon's own cron walk

from podemos_assets.resources.clock import ClockResource

SENSOR_TAG, RUN_KEY_TAG, SCHEDULE_TAG = "dagster/sensor_name", "dagster/run_key", "dagster/schedule_name"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # every event is still in the instance


@dataclass
class RunOutcome:
    """One run the automation requested and this process executed."""

    by: str  # sensor, schedule or "automatizacion_podemos"
    at: datetime
    assets: list[str]
    partitions: str
    success: bool
    run_id: str
    seconds: float
    error: str = ""


@dataclass
class SimulatedDaemon:
    defs: dg.Definitions
    instance: dg.DagsterInstance
    resources: dict  # the code location's resources; `clock` is pinned at each tick's time
    rounds: int = 6  # one-minute evaluation rounds per tick
    on_run: Callable[[RunOutcome], None] | None = None
    runs: list[RunOutcome] = field(default_factory=list)
    tick_seconds: dict[str, list[float]] = field(default_factory=dict)  # evaluation time per automation

    def __post_init__(self):
        self.repo = self.defs.get_repository_def()
        self.graph = self.defs.resolve_asset_graph()
        self.global_job = self.defs.resolve_implicit_global_asset_job_def()
        running = lambda d: str(d.default_status).endswith("RUNNING")  # noqa: E731
        self.sensors = [s for s in self.repo.sensor_defs if running(s)]
        self.schedules = [s for s in self.repo.schedule_defs if running(s)]
        self.ac_sensors = [s for s in self.sensors if isinstance(s, dg.AutomationConditionSensorDefinition)]
        self.sensors = [s for s in self.sensors if s not in self.ac_sensors]
        self.cursors: dict[str, str | None] = {}
        self.last_eval: dict[str, datetime] = {}
        self.ac_cursor = None

    # --- the daemon loop ------------------------------------------------------------------------------------
    def tick(self, now: datetime) -> list[RunOutcome]:
        """Everything the daemon would do between the previous tick and `now` (a few one-minute rounds)."""
        start = len(self.runs)
        for round_ in range(self.rounds):
            at = now + timedelta(minutes=round_)
            launched = len(self.runs)
            first = self.ac_cursor is None  # a first evaluation sees nothing as updated: always look again
            # Partitions as of the simulated time (a time-window partition exists once its day has ended at
            # `at`, as the daemon sees it at that wall time), not as of this machine's clock: a simulated night
            # after the real today asks for a day the real clock has not finished yet.
            with dg.partition_loading_context(effective_dt=at):
                # Conditions first: what the previous round's runs wrote is "newly updated" for this evaluation
                # (on the very first evaluation Dagster treats nothing as updated, as the daemon does).
                for sensor in self.ac_sensors:
                    self._automation(sensor, at)
                for schedule in self.schedules:
                    self._schedule(schedule, at)
                for sensor in self.sensors:
                    self._sensor(sensor, at)
            # Nothing launched: the next minute would see the same world (no run wrote anything), so the tick
            # is over. A quiet night costs one evaluation per tick instead of two.
            if len(self.runs) == launched and not first:
                break
        return self.runs[start:]

    def _timed(self, name: str, fn):
        t0 = _time.perf_counter()
        try:
            return fn()
        finally:
            self.tick_seconds.setdefault(name, []).append(_time.perf_counter() - t0)

    def _schedule(self, schedule: dg.ScheduleDefinition, now: datetime) -> None:
        last = self.last_eval.get(schedule.name)
        self.last_eval[schedule.name] = now
        if last is None:
            return  # the daemon starts a schedule at its first tick after it is turned on
        ticks = cron_string_iterator(last.timestamp(), schedule.cron_schedule, schedule.execution_timezone or "UTC")
        due = None
        for tick in ticks:
            if tick.timestamp() > now.timestamp():
                break
            due = tick
        # The daemon evaluates every few seconds and never misses a tick; a simulated step of many minutes
        # stands for all of them, so only its latest tick runs (a check every 15 minutes is one run per step).
        for tick in [due] if due else []:
            context = dg.build_schedule_context(instance=self.instance, scheduled_execution_time=tick,
                                                resources=self._resources(tick, schedule.required_resource_keys),
                                                repository_def=self.repo)
            data = self._timed(schedule.name, lambda context=context: schedule.evaluate_tick(context))
            for request in data.run_requests or []:
                self._launch(request, schedule.name, tick, {SCHEDULE_TAG: schedule.name},
                             job_name=schedule.job_name)

    def _sensor(self, sensor: dg.SensorDefinition, now: datetime) -> None:
        last = self.last_eval.get(sensor.name)
        if last is not None and (now - last).total_seconds() < sensor.minimum_interval_seconds:
            return
        self.last_eval[sensor.name] = now
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursors.get(sensor.name),
                                          repository_def=self.repo, sensor_name=sensor.name,
                                          resources=self._resources(now, sensor.required_resource_keys))
        data = self._timed(sensor.name, lambda: sensor.evaluate_tick(context))
        self.cursors[sensor.name] = data.cursor
        job_name = sensor.job_name if sensor.has_jobs and len(sensor.jobs) == 1 else None
        for request in data.run_requests or []:
            if request.run_key and self._already_launched(sensor.name, request.run_key):
                continue  # the daemon skips a run key it launched before, across restarts
            tags = {SENSOR_TAG: sensor.name, **({RUN_KEY_TAG: request.run_key} if request.run_key else {})}
            self._launch(request, sensor.name, now, tags, job_name=job_name,
                         default_keys=self._sensor_keys(sensor))

    def _automation(self, sensor: dg.AutomationConditionSensorDefinition, now: datetime) -> None:
        result = self._timed(sensor.name, lambda: dg.evaluate_automation_conditions(
            self.defs, self.instance, asset_selection=sensor.asset_selection, evaluation_time=now,
            cursor=self.ac_cursor))
        self.ac_cursor = result.cursor
        requested = {key: result.get_requested_partitions(key) for key in self.graph.get_all_asset_keys()
                     if result.get_num_requested(key)}
        # Like the daemon's backfill: one node (multi-asset) at a time, upstream first, per its BackfillPolicy.
        tags = {"dagster/automation_condition_evaluation_id": str(result.cursor.evaluation_id), SENSOR_TAG: sensor.name}
        for node in self._nodes_in_order(requested):
            keys = sorted(k for k in node.keys if k in requested) if node.can_subset else sorted(node.keys)
            partitions = set().union(*(requested.get(k, set()) for k in node.keys))
            for run_tags in self._partition_runs(node, partitions):
                self._launch(dg.RunRequest(asset_selection=keys, tags=run_tags), sensor.name, now, tags)

    # --- turning requests into runs -------------------------------------------------------------------------
    def _nodes_in_order(self, requested: dict) -> list[dg.AssetsDefinition]:
        nodes, seen = [], set()
        for level in self.graph.toposorted_asset_keys_by_level:
            for key in level:
                if key in requested:
                    node = self.repo.assets_defs_by_key[key]
                    if id(node) not in seen:
                        seen.add(id(node))
                        nodes.append(node)
        return nodes

    @staticmethod
    def _partition_runs(node: dg.AssetsDefinition, partitions: set) -> Iterable[dict]:
        if not node.partitions_def or partitions == {None}:
            yield {}
            return
        order = list(node.partitions_def.get_partition_keys())
        index = {k: i for i, k in enumerate(order)}
        keys = sorted((p for p in partitions if p in index), key=index.__getitem__)
        policy = node.backfill_policy
        limit = None if policy is None else (policy.max_partitions_per_run or len(keys) or 1)
        runs: list[list[str]] = []
        for key in keys:  # consecutive partitions share a run, up to the policy's size
            if runs and limit and index[key] == index[runs[-1][-1]] + 1 and len(runs[-1]) < limit:
                runs[-1].append(key)
            else:
                runs.append([key])
        for run in runs:
            yield {RANGE_START: run[0], RANGE_END: run[-1]} if len(run) > 1 else {"dagster/partition": run[0]}

    def _sensor_keys(self, sensor: dg.SensorDefinition) -> list[dg.AssetKey] | None:
        selection = getattr(sensor, "asset_selection", None)
        return sorted(selection.resolve(self.graph)) if selection is not None else None

    def _already_launched(self, sensor_name: str, run_key: str) -> bool:
        runs = self.instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key, SENSOR_TAG: sensor_name}),
                                      limit=1)
        return bool(runs)

    def _resources(self, now: datetime, keys: AbstractSet[str] | None = None) -> dict:
        """The code location's resources at `now`; for a sensor or schedule only those it requires, which is
        all the daemon builds for it (building all ~15 for every evaluation was a third of a tick)."""
        resources = {**self.resources, "clock": ClockResource.at(now)}
        return resources if keys is None else {k: v for k, v in resources.items() if k in keys}

    def _launch(self, request: dg.RunRequest, by: str, now: datetime, origin_tags: dict, job_name: str | None = None,
                default_keys: list[dg.AssetKey] | None = None) -> RunOutcome:
        tags = {**(request.tags or {}), **origin_tags}
        partition = request.partition_key or tags.pop("dagster/partition", None)
        keys = list(request.asset_selection or default_keys or [])
        if keys:
            job = self.global_job.get_subset(asset_selection=set(keys), asset_check_selection=(
                set(request.asset_check_keys) if request.asset_check_keys is not None else None))
        else:
            job = self.defs.resolve_job_def(job_name or request.job_name)
            if request.asset_check_keys is not None:  # a sensor asking for some of its job's checks only
                job = job.get_subset(asset_selection=set(), asset_check_selection=set(request.asset_check_keys))
            keys = sorted(job.asset_layer.selected_asset_keys) if job.asset_layer else []
        t0 = _time.perf_counter()
        printed = io.StringIO()  # what a run prints (dbt's log lines) goes to the daemon's compute logs, not here
        with contextlib.redirect_stdout(printed):
            result = job.execute_in_process(instance=self.instance, partition_key=partition, tags=tags,
                                            resources=self._resources(now), raise_on_error=False, run_config=QUIET)
        error = ""
        if not result.success:
            failures = [e for e in result.all_events if e.is_step_failure]
            error = failures[0].step_failure_data.error.message.strip() if failures else printed.getvalue()[-2000:]
        span = (f"{tags[RANGE_START]}..{tags[RANGE_END]}" if RANGE_START in tags else partition or "")
        outcome = RunOutcome(by, now, [k.to_user_string() for k in keys], span, result.success, result.run_id,
                             round(_time.perf_counter() - t0, 2), error)
        self.runs.append(outcome)
        if self.on_run:
            self.on_run(outcome)
        return outcome
