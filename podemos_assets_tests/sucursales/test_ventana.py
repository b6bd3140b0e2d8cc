"""The partitioning that lasts: a rolling window of daily branch partitions, closed months re-extracted whole.

Bounds over five years of 200 and 400 branches (Dagster's advice: <= 100,000 partitions per asset), the
setting's errors, the sensor's routing of old fingerprint differences, `podemos backfill` over closed
months, and (a real MariaDB, in a process whose go-live is older than the window) a closed month
re-extracted into the same day files, after which the automation re-merges exactly that month's days.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from argparse import Namespace
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from podemos_assets.config import REPO_ROOT, ConfigError, _window_months, load_settings, window_start
from podemos_assets.sucursales import automation, cli
from podemos_assets.sucursales.partitions import month_key
from podemos_assets.sucursales.schemas import HUELLAS

ADVISED_MAX = 100_000  # Dagster's advised ceiling of partitions per asset


def test_window_start_moves_by_whole_months_and_never_before_go_live():
    assert window_start(date(2029, 12, 5), 6, "2026-10-01") == date(2029, 6, 1)
    assert window_start(date(2029, 12, 31), 6, "2026-10-01") == date(2029, 6, 1)  # same month, same window
    assert window_start(date(2030, 1, 1), 6, "2026-10-01") == date(2029, 7, 1)
    assert window_start(date(2027, 3, 1), 13, "2026-10-01") == date(2026, 10, 1)  # not before go-live
    assert window_start(date(2031, 1, 1), 0, "2026-10-01") == date(2026, 10, 1)  # 0: every day since go-live


@pytest.mark.parametrize("branches", [200, 400])
def test_five_years_of_branches_stay_under_the_advised_partitions_per_asset(branches):
    go_live = date(2026, 10, 1)
    worst_days = worst_months = 0
    for n in range(5 * 366):
        today = go_live + timedelta(days=n)
        first = window_start(today, 6, go_live.isoformat())
        worst_days = max(worst_days, (today - first).days)  # daily partitions: first..yesterday
        worst_months = max(worst_months, (first.year - go_live.year) * 12 + first.month - go_live.month)
    assert worst_days <= 215
    assert worst_days * branches <= ADVISED_MAX and worst_months * branches <= ADVISED_MAX
    # ...whereas one partition per branch-day since go-live crosses the ceiling within the five years
    assert 5 * 365 * branches > ADVISED_MAX


@pytest.mark.parametrize("value", ["-1", "seis", "6.5", "121", "٦"])
def test_a_bad_window_setting_is_one_clear_error(value):
    with pytest.raises(ConfigError, match=r"PODEMOS_VENTANA_MESES=.*0 to 120"):
        _window_months({"PODEMOS_VENTANA_MESES": value})
    assert _window_months({}) == 6 and _window_months({"PODEMOS_VENTANA_MESES": "0"}) == 0


def test_old_fingerprint_differences_go_to_their_closed_month_and_recent_ones_to_their_days(monkeypatch):
    first_day = date(2026, 11, 1)
    monkeypatch.setattr(automation, "FIRST_DAY", first_day)
    instance = dg.DagsterInstance.ephemeral()
    differing = ["2026-03-10", "2026-03-12", "2026-05-01", "2026-11-02", "2026-11-03", "2026-11-05"]
    instance.report_runless_asset_event(dg.AssetMaterialization(
        HUELLAS, partition="2026-11-06|suc_007", metadata={"dias_distintos": differing}))
    requests, cursor = automation.settling_requests(instance, None)
    months = [(r.job_name, r.partition_key) for r in requests if r.job_name == automation.MONTHS_JOB.name]
    assert months == [(automation.MONTHS_JOB.name, month_key(date(2026, 3, 1), "suc_007")),
                      (automation.MONTHS_JOB.name, month_key(date(2026, 5, 1), "suc_007"))]
    days = [(r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
            for r in requests if r.job_name == automation.DAYS_JOB.name]
    assert days == [("2026-11-02|suc_007", "2026-11-03|suc_007"), ("2026-11-05|suc_007", "2026-11-05|suc_007")]
    assert all(r.run_key for r in requests)  # a restarted daemon does not launch them twice
    assert automation.settling_requests(instance, cursor)[0] == []


def test_partition_statuses_read_from_the_latest_events_agree_with_dagsters_status_cache(monkeypatch):
    """The sensor's status reads (failed days and months, months never extracted) cost what their keys
    cost, not a rebuild of Dagster's cache from the whole history; they must say what Dagster says."""
    keys = ["ok", "falla", "recae", "sana", "nunca", "borrada"]
    parts = dg.StaticPartitionsDefinition(keys)
    failing: set[str] = set()

    @dg.asset(partitions_def=parts)
    def caja(context):
        if context.partition_key in failing:
            raise dg.Failure(f"{context.partition_key}: the branch did not answer")

    instance = dg.DagsterInstance.ephemeral()

    def run(key: str, fails: bool) -> dg.ExecuteInProcessResult:
        failing.clear()
        failing.update({key} if fails else set())
        return dg.materialize([caja], instance=instance, partition_key=key, raise_on_error=False)

    for key, outcomes in {"ok": [False], "falla": [True], "recae": [False, True], "sana": [True, False],
                          "borrada": [True]}.items():
        for fails in outcomes:
            result = run(key, fails)
    instance.delete_run(result.run_id)  # "borrada": its only attempt's run is gone
    monkeypatch.setattr(automation, "STATUS_CHUNK", 2)  # several queries of each kind, as with 400 branches
    ours = automation.partition_statuses(instance, caja.key, keys)
    dagster = instance.get_status_by_partition(caja.key, keys, parts)
    assert ours == {k: v for k, v in dagster.items() if v is not None}
    S = dg.AssetPartitionStatus
    assert ours == {"ok": S.MATERIALIZED, "falla": S.FAILED, "recae": S.FAILED, "sana": S.MATERIALIZED}
    assert automation.partition_statuses(instance, caja.key, []) == {}


def test_backfill_over_closed_months_plans_whole_months_then_the_window_days():
    settings = dataclasses.replace(load_settings(), go_live="2026-01-01", window_months=1)
    now = datetime(2026, 12, 5, 12, 0).astimezone()
    plan = cli.validate(Namespace(sucursal=["suc_007"], desde="2026-09-15", hasta="2026-11-20"), settings, now)
    assert plan.meses == (date(2026, 9, 1), date(2026, 10, 1))
    assert (plan.desde, plan.hasta, plan.days) == (date(2026, 11, 1), date(2026, 11, 20), 20)
    only_old = cli.validate(Namespace(sucursal=["suc_007"], desde="2026-03-02", hasta="2026-03-03"), settings, now)
    assert only_old.meses == (date(2026, 3, 1),) and only_old.days == 0


CLOSED_MONTH = r'''
import json, sys, warnings
warnings.simplefilter("ignore")
from datetime import date
import dagster as dg
from podemos_assets.definitions import defs
from podemos_assets.resources.branches import BranchesResource
from podemos_assets.resources.lake import LakeResource
from podemos_assets.contracts.lake import branch_extract, fingerprint
from podemos_assets.sucursales.partitions import BRANCHES, FIRST_DAY, month_key
from podemos_assets.sucursales.registry import Branch
from podemos_assets.sucursales.meses_cerrados import meses_cerrados

url, lake_url = sys.argv[1], sys.argv[2]
old = BRANCHES["suc_001"]
BRANCHES["suc_001"] = Branch(old.id, old.nombre, old.estado, "America/Mexico_City", url, "")
lake = LakeResource(url=lake_url)
branches = BranchesResource(home="/nonexistent", attempts=2, base_delay_seconds=0.01, max_delay_seconds=0.02)
instance = dg.DagsterInstance.ephemeral()
cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance).cursor
result = dg.materialize([meses_cerrados], instance=instance, partition_key=month_key(date(2026, 3, 1), "suc_001"),
                        resources={"lake": lake, "branches": branches})
metadata = result.asset_materializations_for_node("sucursales__meses_cerrados")[0].metadata
verdicts = [(c.check_name, c.passed) for c in result.get_asset_check_evaluations()]
after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
merged = sorted(after.get_requested_partitions(dg.AssetKey("pagos_historicos")))
# Month close: the newest closed month, once per branch that never had it; a failed month is caught up.
from podemos_assets.sucursales import automation
newest = date.fromisoformat(automation.CLOSED_MONTHS.get_partition_keys()[-1])
ids = ["suc_001", "suc_002"]
close_before = [(r.run_key, r.tags["podemos/motivo"]) for r in automation.month_close_requests(instance, ids)]
dg.materialize([meses_cerrados], instance=instance, partition_key=month_key(newest, "suc_001"),
               resources={"lake": lake, "branches": branches})
close_after = [r.run_key for r in automation.month_close_requests(instance, ids)]
down = dg.materialize([meses_cerrados], instance=instance, partition_key=month_key(date(2026, 2, 1), "suc_002"),
                      resources={"lake": lake, "branches": branches}, raise_on_error=False)
failed = {s: [m.isoformat() for m in ms] for s, ms in automation.failed_months(instance, ids).items()}
_, still_down, _ = automation.catch_up_requests(instance, branches, ids, FIRST_DAY, FIRST_DAY)
BRANCHES["suc_002"] = Branch("suc_002", old.nombre, old.estado, "America/Mexico_City", url, "")
caught, _, _ = automation.catch_up_requests(instance, branches, ids, FIRST_DAY, FIRST_DAY)
# `podemos backfill` over a closed month: its own run, on the instance and lake of the settings.
from podemos_assets.config import load_settings
from podemos_assets.sucursales import cli
settings = load_settings()
args = type("A", (), {"sucursal": ["suc_001"], "desde": "2026-02-10", "hasta": "2026-02-20"})
plan = cli.validate(args, settings)
code = cli.run(plan, settings)
home_lake = LakeResource(url=settings.lake_url)
print("RESULT " + json.dumps({
    "cli": [code, [m.isoformat() for m in plan.meses], plan.days],
    "cli_feb": home_lake.read_parquet(branch_extract("transacciones", "2026-02-14", "suc_001")).to_pydict()["id"],
    "cli_runs": [r.tags.get("podemos/motivo") for r in dg.DagsterInstance.get().get_runs()],
    "first_day": FIRST_DAY.isoformat(),
    "tx": {d: lake.read_parquet(branch_extract("transacciones", d, "suc_001")).to_pydict()["id"]
           for d in ("2026-03-05", "2026-03-31", "2026-03-10")},
    "files": sum(lake.exists(branch_extract(t, f"2026-03-{n:02d}", "suc_001")) for n in range(1, 32)
                 for t in ("grupos", "clientes", "miembros", "cuentas", "calendario_pagos", "transacciones")),
    "fingerprint_0305": json.loads(lake.read_bytes(fingerprint("suc_001", date(2026, 3, 5))))["transacciones"],
    "april_extracted": lake.exists(branch_extract("transacciones", "2026-04-01", "suc_001")),
    "filas_transacciones": metadata["filas_transacciones"].value, "conciliacion": metadata["conciliacion"].value,
    "merged": merged, "verdicts": verdicts, "newest": newest.isoformat(), "close_before": close_before,
    "close_after": close_after, "down_failed": down.success, "failed": failed, "still_down": still_down,
    "caught": [(r.job_name, str(r.partition_key), r.tags["podemos/motivo"]) for r in caught]}))
'''


@pytest.mark.mariadb
def test_a_closed_month_is_re_extracted_into_its_day_files_and_its_days_are_merged_again(
        mariadb, branch_db, tmp_path):
    from podemos_assets_tests.sucursales.test_extraction_mariadb import insert_tx

    db = branch_db()
    insert_tx(mariadb, db, [(1, "2026-03-05 09:00:00", "120.50"), (2, "2026-03-31 23:59:59", "80.25"),
                            (4, "2026-02-14 10:00:00", "5.00"),
                            (3, "2026-04-01 00:00:00", "1.00")])  # the next month: not this partition's
    env = {**os.environ, "PODEMOS_GO_LIVE": "2026-01-01", "PODEMOS_VENTANA_MESES": "1",
           "PODEMOS_HOME": str(tmp_path / "home"), "DAGSTER_HOME": str(tmp_path / "home" / "dagster_home")}
    Path(env["DAGSTER_HOME"]).mkdir(parents=True)
    done = subprocess.run([sys.executable, "-c", CLOSED_MONTH, mariadb.url(db), f"file://{tmp_path}/lake"],
                          env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-4000:]
    out = json.loads(lines[0][len("RESULT "):])
    assert out["first_day"] > "2026-04-01"  # March is a closed month in that process
    assert out["tx"] == {"2026-03-05": [1], "2026-03-31": [2], "2026-03-10": []}
    assert out["files"] == 31 * 6 and not out["april_extracted"]
    assert out["fingerprint_0305"] == {"filas": 1, "monto": "120.50"}
    assert out["filas_transacciones"] == 2 and out["conciliacion"].startswith("ok")
    assert out["verdicts"] == [["conciliacion", True]]
    assert out["merged"] == [f"2026-03-{n:02d}" for n in range(1, 32)]  # exactly the month's days
    # `podemos backfill` asked for days of February: the whole closed month, one run, nothing else
    assert out["cli"] == [0, ["2026-02-01"], 0] and out["cli_feb"] == [4]
    assert out["cli_runs"] == ["backfill-cli"]
    # month close: the month that last left the window, once per branch (run keys), until extracted
    newest = out["newest"][:7]
    assert out["newest"] < out["first_day"] and out["newest"][8:] == "01"
    assert out["close_before"] == [[f"cierre|{newest}|suc_001", "cierre_de_mes"],
                                   [f"cierre|{newest}|suc_002", "cierre_de_mes"]]
    assert out["close_after"] == [f"cierre|{newest}|suc_002"]
    # a closed month that failed (the branch did not answer) is caught up once the branch answers again
    assert out["down_failed"] is False and out["failed"] == {"suc_002": ["2026-02-01"]}
    assert out["still_down"] == ["suc_002"]
    assert out["caught"] == [["sucursales_meses_cerrados", "2026-02-01|suc_002", "recuperacion"]]
