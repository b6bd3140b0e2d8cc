"""Production truth: with only the daemon, every asset runs, through exactly one automation path, on by default;
one setting pauses all of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict

import dagster as dg

from podemos_assets.automation import MAINTENANCE
from podemos_assets.config import REPO_ROOT
from podemos_assets.pagos import schemas


def _running(definition) -> bool:
    return str(definition.default_status).endswith("RUNNING")


def automation_paths(defs: dg.Definitions, maintenance: bool = False) -> dict[str, list[str]]:
    """asset key -> the schedules, sensors and automation-condition sensor that would run it (with
    `maintenance`, only the sensors that repair assets: MAINTENANCE)."""
    repo = defs.get_repository_def()
    graph = defs.resolve_asset_graph()
    paths: dict[str, list[str]] = defaultdict(list)
    for definition in [*repo.schedule_defs, *repo.sensor_defs]:
        if (getattr(definition, "tags", None) == MAINTENANCE) != maintenance:
            continue
        if isinstance(definition, dg.AutomationConditionSensorDefinition):
            keys = {k for k in definition.asset_selection.resolve(graph) if graph.get(k).automation_condition}
        elif getattr(definition, "asset_selection", None) is not None:
            keys = definition.asset_selection.resolve(graph)
        else:
            names = [definition.job_name] if isinstance(definition, dg.ScheduleDefinition) else (
                [j.name for j in definition.jobs] if definition.has_jobs else [])
            keys = set().union(*(repo.get_job(n).asset_layer.selected_asset_keys for n in names)) if names else set()
        for key in keys:
            paths[key.to_user_string()].append(definition.name)
    return paths


def test_every_asset_is_run_by_exactly_one_automation_path():
    from podemos_assets.definitions import defs

    paths = automation_paths(defs)
    keys = sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()
                  if defs.resolve_asset_graph().get(k).is_materializable)
    orphans = [k for k in keys if not paths.get(k)]
    doubles = {k: v for k, v in paths.items() if len(v) > 1}
    assert not orphans, f"assets no automation runs: {orphans}"
    assert not doubles, f"assets with more than one automation path: {doubles}"
    repaired = automation_paths(defs, maintenance=True)
    assert set(repaired) == set(schemas.TABLES), repaired  # compactacion_pagos, beside pagos_merge's own path


def test_all_automation_is_on_by_default_and_one_setting_pauses_it():
    script = (
        "import json, warnings; warnings.filterwarnings('ignore')\n"
        "from podemos_assets.definitions import defs\n"
        "r = defs.get_repository_def()\n"
        "print(json.dumps({d.name: str(d.default_status) for d in [*r.schedule_defs, *r.sensor_defs]}))\n"
    )
    seen = {}
    for value in ("activa", "pausada"):
        env = {**os.environ, "PODEMOS_AUTOMATION": value}
        out = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True,
                             text=True, check=True).stdout
        seen[value] = json.loads(out.strip().splitlines()[-1])
    assert seen["activa"] and all(s.endswith("RUNNING") for s in seen["activa"].values()), seen["activa"]
    assert "automatizacion_podemos" in seen["activa"] and "sucursales_automatizacion" in seen["activa"]
    assert all(s.endswith("STOPPED") for s in seen["pausada"].values()), seen["pausada"]
