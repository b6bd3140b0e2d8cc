"""The real daemon on a materialized demo: calm first, then it does the night's work by itself.

`dagster-daemon run` and `dagster-webserver` start on a copy of the tiny demo's instance, as `make ui` and
production do. As they start, the world moves once (the planted broken `seguros.csv` is re-sent
corrected) and, with no script and no human, the daemon ingests it and delivers a new version of that
day's report. Over the same few minutes, nothing else may run that the demo already did: no run fails or
fails to start, no sensor tick errors, every sensor ticks (those of 30-120 s twice: with no cursor, then
with one). Calm and reaction share one window (they used to follow each other: ~8 minutes of one test
worker). Everything is read through the webserver's GraphQL, like the UI does.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import UTC, datetime

import dagster as dg
import httpx
import pytest

from podemos_assets.config import load_settings
from podemos_assets.demo import regulatorio as gen
from podemos_assets.demo.scenario import Scenario
from podemos_assets.regulatorio.report import versions
from podemos_assets.resources import LakeResource
from podemos_assets_tests.ui.tiny_demo import isolated_env
from podemos_assets_tests.ui.webserver import dagster_daemon, dagster_webserver

CALM_SECONDS = 150  # the window lasts at least this: every sensor of 30-120 s ticks twice
WINDOW_SECONDS = 480  # daemon start + arrival tick + ingest run + delivery sensor (60 s) + report run, with margin
SETTLED = {"SUCCESS", "FAILURE", "CANCELED"}

# A run's assets: its explicit selection, or (a whole job's run has none) what it materialized.
RUNS = """{ runsOrError(limit: 1000) { __typename ... on Runs { results { runId status creationTime
  tags { key value } assetSelection { path } assets { key { path } } assetCheckSelection { name } } } } }"""
TICKS = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  sensors { name sensorState { status ticks(limit: 100) { status timestamp error { message } } } }
  schedules { name scheduleState { status ticks(limit: 100) { status timestamp error { message } } } } } } } }"""


def graphql(url: str, query: str) -> dict:
    body = httpx.post(f"{url}/graphql", json={"query": query}, timeout=60).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def runs(url: str) -> dict[str, dict]:
    out = {}
    for r in graphql(url, RUNS)["runsOrError"]["results"]:
        tags = {t["key"]: t["value"] for t in r["tags"]}
        out[r["runId"]] = {
            "status": r["status"], "created": r["creationTime"], "tags": tags,
            "by": tags.get("dagster/sensor_name") or tags.get("dagster/schedule_name"),
            "partition": tags.get("dagster/partition"),
            "assets": sorted({"/".join(a["path"]) for a in r["assetSelection"] or []}
                             | {"/".join(a["key"]["path"]) for a in r["assets"]}),
            "checks": sorted(c["name"] for c in r["assetCheckSelection"] or []),
        }
    return out


def ticks_since(url: str, since: float) -> dict[str, list[dict]]:
    out = {}
    for repo in graphql(url, TICKS)["repositoriesOrError"]["nodes"]:
        for kind, state in (("sensors", "sensorState"), ("schedules", "scheduleState")):
            for inst in repo[kind]:
                if inst[state]["status"] == "RUNNING":
                    out[inst["name"]] = [t for t in inst[state]["ticks"] if t["timestamp"] >= since]
    return out


def wait_settled(url: str, before: set[str], timeout: float, until=lambda new: False) -> dict[str, dict]:
    """Poll until `until(new runs)` holds and every new run has ended (or the timeout); the new runs."""
    deadline = time.monotonic() + timeout
    while True:
        new = {k: v for k, v in runs(url).items() if k not in before}
        done = all(r["status"] in SETTLED for r in new.values())
        if (done and until(new)) or time.monotonic() > deadline:
            return new
        time.sleep(5)


def cron_tick_between(asset: str, since: float, until: float) -> bool:
    """Whether the asset's wall-clock condition (`daily_at(<cron> <zone>)`) had a tick in [since, until]."""
    from dagster._utils.schedules import cron_string_iterator  # the daemon's own cron walk

    from podemos_assets.definitions import defs

    condition = defs.resolve_asset_graph().get(dg.AssetKey(asset.split("/"))).automation_condition
    match = re.fullmatch(r"daily_at\((.+) (\S+)\)", (condition.get_label() or "") if condition else "")
    return bool(match) and next(cron_string_iterator(since, match[1], match[2])).timestamp() <= until


def describe(new: dict[str, dict] | list[dict]) -> str:
    return json.dumps([{k: r[k] for k in ("status", "by", "partition", "assets", "checks")} for r in (new.values() if isinstance(new, dict) else new)],
                      indent=1)


@pytest.mark.ui
@pytest.mark.slow
@pytest.mark.starts_first
def test_the_daemon_on_a_materialized_demo_launches_nothing_done_and_runs_the_next_change(tiny_demo, tmp_path):
    tiny_demo.require_demo()
    home = tmp_path / "podemos"
    shutil.copytree(tiny_demo.home, home, symlinks=True)  # the shared demo stays as the other UI tests saw it
    env = isolated_env(home)
    settings = load_settings({"PODEMOS_HOME": str(home)})
    scenario = Scenario.load(settings.home)
    outbox = LakeResource(url=settings.outbox_url)
    bad_day = scenario.dates[-2].isoformat()  # the day whose seguros.csv the demo planted broken
    delivered_before = versions(bad_day, outbox)
    assert delivered_before, f"the demo delivered no report for {bad_day}"

    with dagster_webserver(env, tmp_path / "webserver.log") as url, \
            dagster_daemon(env, tmp_path / "daemon.log"):
        before = set(runs(url))
        done = {(a, r["partition"]) for r in runs(url).values() if r["status"] == "SUCCESS" for a in r["assets"]}
        started = datetime.now(UTC).timestamp()

        # The world moves once, as the daemon starts: the sender re-sends the broken file corrected.
        sources = LakeResource(url=settings.sources_url)
        good = gen.source_bytes("seguros", bad_day, scenario.seed, branches=scenario.branches)
        gen.write_source(sources, "seguros", bad_day, good, datetime.now(UTC))
        wanted = {("regulatorio/seguros", bad_day), ("reporte_regulatorio_diario", bad_day)}

        def reacted(new):
            return wanted <= {(a, r["partition"]) for r in new.values() for a in r["assets"]}

        def over(new):  # the reaction happened and the calm window has passed: every sensor ticked
            return (reacted(new) and datetime.now(UTC).timestamp() - started >= CALM_SECONDS
                    and all(ticks_since(url, started).values()))

        new = wait_settled(url, before, WINDOW_SECONDS, over)
        window_end = datetime.now(UTC).timestamp()
        ticks = ticks_since(url, started)
        daemon_log = (tmp_path / "daemon.log").read_text()

        # 1. The reaction: with no script and no human, the file is ingested and the day re-delivered.
        assert reacted(new), f"the daemon did not ingest and re-deliver {bad_day} within {WINDOW_SECONDS} s:\n" \
            f"{describe(new)}\n{daemon_log[-3000:]}"

        # 2. Calm: every sensor ticked without error; every run was the automation's and succeeded.
        assert all(ticks.values()), f"sensors that never ticked: {[n for n, t in ticks.items() if not t]}\n{daemon_log[-3000:]}"
        errors = {n: [t["error"]["message"][:300] for t in ts if t["status"] == "FAILURE"] for n, ts in ticks.items()}
        assert not any(errors.values()), f"sensor or schedule ticks failed: {errors}"
        assert all(r["status"] == "SUCCESS" for r in new.values()), f"runs that failed:\n{describe(new)}"
        assert all(r["by"] for r in new.values()), f"runs no automation launched:\n{describe(new)}"

        # 3. Whatever the demo materialized is never launched again, except what the re-sent file explains.
        # Only time can move a calm instance: a check whose verdict the wall clock changed, a day that has
        # just begun, a cron time (07:00 governance) passing during the window.
        repeated = [r for r in new.values()
                    if not {(a, r["partition"]) for a in r["assets"]} <= wanted
                    and (any((a, r["partition"]) in done for a in r["assets"]) or (r["assets"] and r["partition"] is None))
                    and not all(cron_tick_between(a, started, window_end) for a in r["assets"])]
        assert not repeated, f"the daemon re-ran what the demo did:\n{describe(repeated)}"

    delivered = versions(bad_day, outbox)
    assert delivered[-1] == delivered_before[-1] + 1, (delivered_before, delivered)
    manifest = json.loads(outbox.read_bytes(f"reporte_regulatorio/{bad_day}/v{delivered[-1]}/manifest.json"))
    assert manifest["fuentes"]["seguros"]["estado"] == "incluida", manifest["fuentes"]["seguros"]
