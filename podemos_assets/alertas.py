"""The alert room: the platform's one alert sensor (`alertas_plataforma`), for every group.

Open-source Dagster evaluates freshness but sends nothing, so this sensor reads the freshness state of every
asset (written by the freshness daemon) and every new result of every asset check in the repository, and
sends each new failure once and its recovery once through the `alerts` resource.

Alerts are per day and per failure: a check result that carries `por_dia` metadata (day -> estado) opens
and closes one subject per day (`check <asset>:<check> <day>`), so another day's success never clears a
day that is still failing; a partitioned result is per partition; any other result is per check. Each
check's executions are read in order since the last one seen, so a day judged by an older execution keeps
its state. What is open, and the last execution seen per check, live in the cursor: a restart neither
repeats nor forgets. `sent_at` is the `clock` resource's time (a simulated night stamps simulated times).

Public Dagster APIs only, except the two reads in "Reads with no public API" below (see there why).
Imports no capability: registered by podemos_assets/definitions.py, beside `automatizacion_podemos`.
"""

from __future__ import annotations

import json
from datetime import datetime

import dagster as dg

from podemos_assets.automation import sensor_status
from podemos_assets.resources import AlertsResource
from podemos_assets.resources.clock import ClockResource

SENSOR_NAME = "alertas_plataforma"
HISTORY = 200  # executions read per check and tick (more would mean a check runs more than every few seconds)
FIRST_SIGHT = 50  # executions of a check never seen before that count (only the newest verdicts matter)
# The freshness states of `dg.FreshnessPolicy` (documented there): PASS, WARN, FAIL (and UNKNOWN,
# NOT_APPLICABLE, which say nothing either way).
FRESHNESS_FAIL, FRESHNESS_OK = "FAIL", ("PASS", "WARN")


# --- Reads with no public API -------------------------------------------------------------------------------
# Dagster 1.13.27 has no public way (`@public`, or exported by `dagster`) to read either thing this sensor
# watches, so each is read by one non-public instance call, here and nowhere else, and turned into public
# types (`dg.AssetCheckEvaluation`, `str`, `datetime`) before the rest of the module sees it:
# - asset check results (and, to skip the checks with nothing new, the newest execution of each): the public `DagsterInstance.fetch_*` methods cover materializations, observations
#   and run status changes only. The generic `get_event_records(EventRecordsFilter(ASSET_CHECK_EVALUATION))`
#   lost `@public` and is deprecated (removal in 2.0) since dagster-io/dagster#25504, with no `fetch_*`
#   replacement for check evaluations; on the default SQLite storage (local, tests) it also refuses a
#   storage-id cursor for check events (they live in the run shards) and scans every run. The execution
#   history read below is what Dagster's UI (dagster-graphql) reads. The documented open-source way to hear
#   of failed checks, a run-failure sensor, does not fire for them: dagster-io/dagster#29896 (open).
# - freshness states: the freshness daemon's state per asset is read only by the instance's non-public
#   `get_freshness_state_records` (or the same deprecated `get_event_records`, on FRESHNESS_STATE_CHANGE).
#   `FreshnessState` is not exported either; its values, documented on `dg.FreshnessPolicy`, are compared as
#   strings.
# An upgrade that moves either call fails podemos_assets_tests/test_alertas.py.


def _completed_executions(instance: dg.DagsterInstance, ck: dg.AssetCheckKey
                          ) -> list[tuple[int, str, dg.AssetCheckEvaluation]]:
    """(execution id, run id, evaluation) of the newest `HISTORY` executions of a check that have a result."""
    history = instance.event_log_storage.get_asset_check_execution_history(ck, limit=HISTORY)  # not public
    # Only a completed execution (passed or failed) holds its ASSET_CHECK_EVALUATION event; a planned one
    # holds the planned event (or nothing).
    return [(record.id, record.run_id, record.event.asset_check_evaluation) for record in history
            if record.event is not None and record.event.asset_check_evaluation is not None]


def _latest_execution_ids(instance: dg.DagsterInstance, check_keys: list[dg.AssetCheckKey]) -> dict[dg.AssetCheckKey, int]:
    """check -> id of its newest execution (planned or completed), in one query for every check."""
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)  # not public
    return {ck: record.id for ck, record in latest.items()}


def _freshness(instance: dg.DagsterInstance, keys: list[dg.AssetKey]) -> dict[dg.AssetKey, tuple[str, datetime]]:
    """asset -> (freshness state, since when), for the assets the freshness daemon has judged."""
    records = instance.get_freshness_state_records(keys)  # not public
    return {key: (str(record.freshness_state.value), record.updated_at) for key, record in records.items()}


# -------------------------------------------------------------------------------------------------------------


def _evaluation_subjects(ck: dg.AssetCheckKey, run_id: str, evaluation: dg.AssetCheckEvaluation
                         ) -> dict[str, dict | None]:
    """subject -> failure details (None: healthy) for one check execution."""
    base = f"check {ck.asset_key.to_user_string()}:{ck.name}"
    common = {"asset": ck.asset_key.to_user_string(), "tipo": "check", "check": ck.name,
              "severidad": evaluation.severity.value, "run_id": run_id}
    per_day = (evaluation.metadata or {}).get("por_dia")
    if per_day is not None:
        out = {}
        for day, verdict in sorted(per_day.value.items()):
            failing = verdict.get("estado") not in ("ok", None)
            out[f"{base} {day}"] = {**common, "fecha": day, "estado": verdict["estado"],
                                    "severidad": "WARN" if verdict["estado"] == "aviso" else common["severidad"],
                                    "mensaje": verdict.get("mensaje") or "check failed"} if failing else None
        return out
    subject = f"{base} {evaluation.partition}" if evaluation.partition else base
    if not evaluation.passed:
        return {subject: {**common, "mensaje": evaluation.description or _first_text(evaluation.metadata)
                          or "check failed"}}
    return {subject: None}


def watched(repository: dg.RepositoryDefinition) -> tuple[list[dg.AssetKey], list[dg.AssetCheckKey]]:
    """Every asset and every asset check of the code location, in a stable order."""
    assets = {*repository.assets_defs_by_key, *repository.source_assets_by_key}
    checks = {spec.key for definition in repository.assets_defs_by_key.values() for spec in definition.check_specs}
    checks |= set(repository.asset_checks_defs_by_key)
    return (sorted(assets, key=lambda k: k.to_user_string()),
            sorted(checks, key=lambda ck: (ck.asset_key.to_user_string(), ck.name)))


def check_states(instance: dg.DagsterInstance, check_keys: list[dg.AssetCheckKey], seen: dict[str, int]
                 ) -> tuple[dict[str, dict | None], dict]:
    """Subjects whose state a new check execution set (subject -> details or None), and the new `seen`."""
    states, seen = {}, dict(seen)
    # One query tells which checks executed since the last tick; only those have their history read
    # (a tick used to read all 76 histories: 0.53-0.92 s on the tiny demo's SQLite; 0.045 s now).
    latest = _latest_execution_ids(instance, check_keys)
    for ck in check_keys:
        name = ck.to_user_string()
        last = seen.get(name, 0)
        if latest.get(ck, 0) <= last:  # ids only grow: nothing newer than what was seen
            continue
        fresh = sorted((e for e in _completed_executions(instance, ck) if e[0] > last), key=lambda e: e[0])
        if not last and fresh:  # first sight of this check: only the newest verdict of each subject counts
            fresh = fresh[-FIRST_SIGHT:]
        for execution_id, run_id, evaluation in fresh:
            states.update(_evaluation_subjects(ck, run_id, evaluation))
            seen[name] = execution_id
    return states, seen


def freshness_states(instance: dg.DagsterInstance, asset_keys: list[dg.AssetKey]) -> dict[str, dict | None]:
    states = {}
    for key, (state, since) in _freshness(instance, asset_keys).items():
        subject = f"frescura {key.to_user_string()}"
        if state == FRESHNESS_FAIL:
            states[subject] = {"asset": key.to_user_string(), "tipo": "frescura",
                               "mensaje": f"{key.to_user_string()} missed its freshness policy",
                               "desde": since.isoformat(timespec="seconds")}
        elif state in FRESHNESS_OK:
            states[subject] = None
    return states


def _first_text(metadata) -> str | None:
    for name in ("error", "description"):
        if name in (metadata or {}):
            return str(metadata[name].value)
    return None


def notify(alerts: AlertsResource, states: dict[str, dict | None], open_: dict, sent_at=None) -> dict:
    """Send new failures and recoveries; returns the open failures (subject -> details)."""
    open_ = dict(open_)
    for subject in sorted(states):
        details = states[subject]
        if details is not None and subject not in open_:
            alerts.send("failure", subject, details["mensaje"], sent_at=sent_at,
                        **{k: v for k, v in details.items() if k != "mensaje"})
            open_[subject] = details
        elif details is None and subject in open_:
            alerts.send("recovery", subject, f"{subject}: de nuevo en orden", sent_at=sent_at,
                        asset=open_[subject].get("asset"), **({"fecha": open_[subject]["fecha"]}
                                                              if "fecha" in open_[subject] else {}))
            del open_[subject]
    return open_


def evaluate_alerts(instance: dg.DagsterInstance, repository: dg.RepositoryDefinition, alerts: AlertsResource,
                    cursor: dict, now: datetime | None = None) -> dict:
    """One tick: the new cursor (`abiertas`: open failures, `vistos`: last execution id seen per check)."""
    if cursor and "abiertas" not in cursor:  # the cursor of the previous version: open failures only
        cursor = {"abiertas": cursor, "vistos": {}}
    asset_keys, check_keys = watched(repository)
    checks, seen = check_states(instance, check_keys, cursor.get("vistos", {}))
    states = {**checks, **freshness_states(instance, asset_keys)}
    open_ = notify(alerts, states, cursor.get("abiertas", {}), sent_at=now)
    return {"abiertas": open_, "vistos": seen}


@dg.sensor(name=SENSOR_NAME, minimum_interval_seconds=60, default_status=sensor_status(),
           description="Sends each new freshness or check failure of any asset once per day it concerns, and its "
           "recovery once, through the `alerts` resource (JSONL locally; Slack / webhook in production)")
def alert_sensor(context: dg.SensorEvaluationContext, alerts: AlertsResource, clock: ClockResource):
    cursor = evaluate_alerts(context.instance, context.repository_def, alerts,
                             json.loads(context.cursor or "{}"), clock.now())
    context.update_cursor(json.dumps(cursor, sort_keys=True))
    return dg.SkipReason(f"{len(cursor['abiertas'])} open failure(s)")
