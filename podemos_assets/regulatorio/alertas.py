"""The platform's alert sensor: open-source Dagster evaluates freshness but sends nothing, so this sensor
reads the freshness state of every asset (written by the freshness daemon) and every new result of every
asset check in the repository, and sends each new failure once and its recovery once.

Alerts are per day and per failure: a check result that carries `por_dia` metadata (day -> estado) opens
and closes one subject per day (`check <asset>:<check> <day>`), so another day's success never clears a
day that is still failing; a partitioned result is per partition; any other result is per check. Each
check's executions are read in order since the last one seen, so a day judged by an older execution keeps
its state. What is open, and the last execution seen per check, live in the cursor: a restart neither
repeats nor forgets. `sent_at` is the `clock` resource's time (a simulated night stamps simulated times).
It serves every group, not only `regulatorio` (it lives here because the regulator's deadline needs it).
"""

import json

import dagster as dg
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from podemos_assets.automation import sensor_status
from podemos_assets.resources import AlertsResource
from podemos_assets.resources.clock import ClockResource

DONE = (AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED)
HISTORY = 200  # executions read per check and tick (more would mean a check runs more than every few seconds)


def _evaluation_subjects(ck: dg.AssetCheckKey, record) -> dict[str, dict | None]:
    """subject -> failure details (None: healthy) for one check execution."""
    evaluation = record.event.asset_check_evaluation if record.event else None
    if evaluation is None:
        return {}
    base = f"check {ck.asset_key.to_user_string()}:{ck.name}"
    common = {"asset": ck.asset_key.to_user_string(), "tipo": "check", "check": ck.name,
              "severidad": evaluation.severity.value, "run_id": record.run_id}
    per_day = (evaluation.metadata or {}).get("por_dia")
    if per_day is not None:
        out = {}
        for day, verdict in sorted(per_day.value.items()):
            failing = verdict.get("estado") not in ("ok", None)
            out[f"{base} {day}"] = {**common, "fecha": day, "estado": verdict["estado"],
                                    "severidad": "WARN" if verdict["estado"] == "aviso" else common["severidad"],
                                    "mensaje": verdict.get("mensaje") or "check failed"} if failing else None
        return out
    subject = f"{base} {record.partition}" if record.partition else base
    if record.status == AssetCheckExecutionRecordStatus.FAILED:
        return {subject: {**common, "mensaje": evaluation.description or _first_text(evaluation.metadata)
                          or "check failed"}}
    return {subject: None}


def check_states(instance: dg.DagsterInstance, graph, seen: dict[str, int]) -> tuple[dict[str, dict | None], dict]:
    """Subjects whose state a new check execution set (subject -> details or None), and the new `seen`."""
    states, seen = {}, dict(seen)
    keys = sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string())
    for ck in [ck for key in keys for ck in graph.get(key).check_keys]:
        name = ck.to_user_string()
        last = seen.get(name, 0)
        history = instance.event_log_storage.get_asset_check_execution_history(ck, limit=HISTORY)
        fresh = sorted((r for r in history if r.id > last and r.status in DONE), key=lambda r: r.id)
        if not last and fresh:  # first sight of this check: only the newest verdict of each subject counts
            fresh = fresh[-50:]
        for record in fresh:
            states.update(_evaluation_subjects(ck, record))
            seen[name] = record.id
    return states, seen


def freshness_states(instance: dg.DagsterInstance, graph) -> dict[str, dict | None]:
    states = {}
    keys = sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string())
    for key, record in instance.get_freshness_state_records(keys).items():
        subject = f"frescura {key.to_user_string()}"
        if record.freshness_state == FreshnessState.FAIL:
            states[subject] = {"asset": key.to_user_string(), "tipo": "frescura",
                               "mensaje": f"{key.to_user_string()} missed its freshness policy",
                               "desde": record.updated_at.isoformat(timespec="seconds")}
        elif record.freshness_state in (FreshnessState.PASS, FreshnessState.WARN):
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


def evaluate_alerts(instance, graph, alerts: AlertsResource, cursor: dict, now=None) -> dict:
    if cursor and "abiertas" not in cursor:  # the cursor of the previous version: open failures only
        cursor = {"abiertas": cursor, "vistos": {}}
    checks, seen = check_states(instance, graph, cursor.get("vistos", {}))
    states = {**checks, **freshness_states(instance, graph)}
    open_ = notify(alerts, states, cursor.get("abiertas", {}), sent_at=now)
    return {"abiertas": open_, "vistos": seen}


@dg.sensor(name="alertas_plataforma", minimum_interval_seconds=60, default_status=sensor_status(),
           description="Sends each new freshness or check failure of any asset once per day it concerns, and its "
           "recovery once, through the `alerts` resource (JSONL locally; Slack / webhook in production)")
def alert_sensor(context: dg.SensorEvaluationContext, alerts: AlertsResource, clock: ClockResource):
    cursor = evaluate_alerts(context.instance, context.repository_def.asset_graph, alerts,
                             json.loads(context.cursor or "{}"), clock.now())
    context.update_cursor(json.dumps(cursor, sort_keys=True))
    return dg.SkipReason(f"{len(cursor['abiertas'])} open failure(s)")
