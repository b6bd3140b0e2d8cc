"""The platform's alert sensor: open-source Dagster evaluates freshness but sends nothing, so this sensor
reads the freshness state of every asset (written by the freshness daemon) and the latest result of every
asset check in the repository, and sends each new failure once and its recovery once.

What is failing right now lives in the sensor cursor, so a restart neither repeats nor forgets an alert.
It serves every group, not only `regulatorio` (it lives here because the regulator's deadline needs it).
"""

import json

import dagster as dg
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from podemos_assets.resources import AlertsResource


def current_failures(instance: dg.DagsterInstance, graph) -> tuple[dict[str, dict], set[str]]:
    """(failing subjects -> details, subjects known to be healthy) from freshness states and check results."""
    failing, healthy = {}, set()
    keys = sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string())
    for key, record in instance.get_freshness_state_records(keys).items():
        subject = f"frescura {key.to_user_string()}"
        if record.freshness_state == FreshnessState.FAIL:
            failing[subject] = {"asset": key.to_user_string(), "tipo": "frescura",
                                "mensaje": f"{key.to_user_string()} missed its freshness policy",
                                "desde": record.updated_at.isoformat(timespec="seconds")}
        elif record.freshness_state in (FreshnessState.PASS, FreshnessState.WARN):
            healthy.add(subject)
    check_keys = [ck for key in keys for ck in graph.get(key).check_keys]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    for ck, record in latest.items():
        subject = f"check {ck.asset_key.to_user_string()}:{ck.name}"
        evaluation = record.event.asset_check_evaluation if record.event else None
        if record.status == AssetCheckExecutionRecordStatus.FAILED and evaluation is not None:
            failing[subject] = {"asset": ck.asset_key.to_user_string(), "tipo": "check", "check": ck.name,
                                "severidad": evaluation.severity.value,
                                "mensaje": evaluation.description or _first_text(evaluation.metadata) or "check failed",
                                "run_id": record.run_id}
        elif record.status == AssetCheckExecutionRecordStatus.SUCCEEDED:
            healthy.add(subject)
    return failing, healthy


def _first_text(metadata) -> str | None:
    for name in ("error", "description"):
        if name in (metadata or {}):
            return str(metadata[name].value)
    return None


def notify(alerts: AlertsResource, failing: dict[str, dict], healthy: set[str], cursor: dict) -> dict:
    """Send new failures and recoveries; returns the new cursor (subject -> details, for the open failures)."""
    open_ = dict(cursor)
    for subject in sorted(failing):
        if subject not in open_:
            details = failing[subject]
            alerts.send("failure", subject, details["mensaje"], **{k: v for k, v in details.items() if k != "mensaje"})
            open_[subject] = details
    for subject in sorted(set(open_) & healthy):
        alerts.send("recovery", subject, f"{subject} is healthy again", asset=open_[subject].get("asset"))
        del open_[subject]
    return open_


@dg.sensor(name="alertas_plataforma", minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Sends each new freshness or check failure of any asset once, and its recovery once, "
           "through the `alerts` resource (JSONL locally; Slack / webhook in production)")
def alert_sensor(context: dg.SensorEvaluationContext, alerts: AlertsResource):
    failing, healthy = current_failures(context.instance, context.repository_def.asset_graph)
    cursor = notify(alerts, failing, healthy, json.loads(context.cursor or "{}"))
    context.update_cursor(json.dumps(cursor, sort_keys=True))
    return dg.SkipReason(f"{len(cursor)} open failure(s)")
