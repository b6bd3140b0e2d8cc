"""The dbt manifest is parsed once per content of sql/: never again while sql/ is unchanged, once after an
edit, once between processes that load the definitions at the same moment, and a broken model says what to run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from podemos_assets.resources.dbt import (
    DBT_DIR,
    DBT_VENV,
    ManifestError,
    _dbt_executable,
    manifest_is_current,
    manifest_of,
    prepare_manifest,
)

PREPARE = "import sys; from pathlib import Path; from podemos_assets.resources.dbt import prepare_manifest; " \
          "print(prepare_manifest(Path(sys.argv[1])))"


@pytest.fixture
def project(tmp_path) -> Path:
    copy = tmp_path / "sql"
    shutil.copytree(DBT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"))
    return copy


def model_names(project: Path) -> set[str]:
    nodes = json.loads((project / "target" / "manifest.json").read_text())["nodes"].values()
    return {n["name"] for n in nodes if n["resource_type"] == "model"}


def test_parsed_once_then_only_after_an_edit(project):
    assert not manifest_is_current(project)  # a clean clone
    assert prepare_manifest(project) is True
    assert {"cobranza_diaria_sucursal", "resumen_mensual_sucursal"} <= model_names(project)
    manifest = project / "target" / "manifest.json"
    parsed_at = manifest.stat().st_mtime_ns
    assert prepare_manifest(project) is False and manifest.stat().st_mtime_ns == parsed_at

    model = next((project / "models").rglob("cobranza_diaria_sucursal.sql"))
    model.with_name("nuevo_modelo.sql").write_text("select 1 as uno\n")
    assert not manifest_is_current(project)
    assert prepare_manifest(project) is True
    assert "nuevo_modelo" in model_names(project)
    assert prepare_manifest(project) is False


def test_processes_loading_at_once_parse_once_between_them(project):
    """What `dagster dev` does: its webserver's code server and the daemon's load the definitions together."""
    procs = [subprocess.Popen([sys.executable, "-c", PREPARE, str(project)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outcomes = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outcomes
    assert sorted(out.strip() for out, _ in outcomes) == ["False", "False", "True"]
    assert sum("manifest prepared" in err for _, err in outcomes) == 1
    assert manifest_is_current(project)


def test_a_broken_model_says_what_to_run_and_keeps_no_stamp(project):
    assert prepare_manifest(project) is True
    (project / "models" / "roto.sql").write_text("select * from {{ ref('no_existe') }}\n")
    with pytest.raises(ManifestError, match=r"`dbt parse` of .* failed \(.*no_existe.*\); fix the model, then run "
                                            r"`make install`") as exc:
        prepare_manifest(project)
    assert "\n" not in str(exc.value)
    assert not manifest_is_current(project)  # the next load tries again instead of trusting a stale manifest


def test_a_group_manifest_holds_its_models_and_their_tests_and_names_an_unknown_model():
    group = manifest_of("historial_pagos_cliente resumen_mensual_sucursal")
    kinds = {(n["resource_type"], n["name"]) for n in group["nodes"].values()}
    assert {name for kind, name in kinds if kind == "model"} == {"historial_pagos_cliente", "resumen_mensual_sucursal"}
    tests = {name for kind, name in kinds if kind == "test"}
    assert any(t.startswith("unique_historial_pagos_cliente") for t in tests)
    assert not any("cobranza" in t or "cartera" in t for t in tests)  # the other group's tests stay there
    with pytest.raises(ManifestError, match=r"\['historial_pagos'\] are not in"):
        manifest_of("historial_pagos resumen_mensual_sucursal")


def test_the_dbt_executable_comes_from_its_own_environment(monkeypatch, tmp_path):
    assert Path(_dbt_executable()) == DBT_VENV / "bin" / "dbt"  # `make install`'s .venv-dbt
    monkeypatch.setenv("PODEMOS_DBT_EXECUTABLE", str(tmp_path / "missing" / "dbt"))
    with pytest.raises(RuntimeError, match="PODEMOS_DBT_EXECUTABLE=.* is not a file"):
        _dbt_executable()
