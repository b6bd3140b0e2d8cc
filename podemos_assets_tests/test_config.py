"""The configuration contract: defaults are local, bad values fail with a message that says what to do."""

import json
import os
import subprocess
import sys

import pytest

from podemos_assets.config import ConfigError, load_settings
from podemos_assets.sucursales.registry import load_registry


def test_defaults_are_local_under_podemos_home(tmp_path):
    s = load_settings({"PODEMOS_HOME": str(tmp_path)})
    assert s.lake_url == f"file://{tmp_path}/lake"
    assert s.warehouse_path == tmp_path / "warehouse.duckdb"
    assert s.dagster_home == tmp_path / "dagster_home"
    assert s.alerts_url.endswith("alerts.jsonl")


def test_production_urls_are_accepted(tmp_path):
    s = load_settings(
        {
            "PODEMOS_HOME": str(tmp_path),
            "PODEMOS_LAKE_URL": "s3://podemos-lake/prod/",
            "PODEMOS_WAREHOUSE_URL": "redshift://warehouse.example:5439/podemos",
        }
    )
    assert s.lake_url == "s3://podemos-lake/prod"
    assert s.warehouse_path is None


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("PODEMOS_LAKE_URL", "ftp://x/y", "PODEMOS_LAKE_URL='ftp://x/y' is not a supported URL"),
        ("PODEMOS_LAKE_URL", "s3:///nobucket", "needs a bucket"),
        ("PODEMOS_WAREHOUSE_URL", "postgres://x", "duckdb://"),
        ("PODEMOS_BRANCH_REGISTRY", "/nonexistent.csv", "does not exist"),
    ],
)
def test_bad_values_name_the_variable(tmp_path, name, value, expected):
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace("?", r"\?")):
        load_settings({"PODEMOS_HOME": str(tmp_path), name: value})


def test_registry_has_200_branches_with_real_zones():
    branches = load_registry(load_settings().branch_registry)
    assert len(branches) == 200
    assert [b.id for b in branches][:2] == ["suc_001", "suc_002"]
    zones = {b.zona_horaria for b in branches}
    assert {"America/Mexico_City", "America/Tijuana", "America/Cancun", "America/Hermosillo"} <= zones


def test_registry_errors_name_file_line_and_column(tmp_path):
    bad = tmp_path / "reg.csv"
    bad.write_text("id,nombre,estado,zona_horaria,url,url_env\nsuc_1,X,Y,Mars/Base,sqlite:///x,\n")
    with pytest.raises(ConfigError, match=r"reg.csv, line 2: zona_horaria 'Mars/Base'"):
        load_registry(bad)


def test_branch_url_from_environment_is_required(tmp_path):
    reg = tmp_path / "reg.csv"
    reg.write_text("id,nombre,estado,zona_horaria,url,url_env\nsuc_1,X,Y,America/Merida,,SUC_1_URL\n")
    (branch,) = load_registry(reg)
    assert branch.connection_url(tmp_path, {"SUC_1_URL": "mysql://u:p@h/db"}) == "mysql://u:p@h/db"
    with pytest.raises(ConfigError, match="SUC_1_URL is not set"):
        branch.connection_url(tmp_path, {})


def test_go_live_is_a_setting_validated_as_an_iso_date(tmp_path):
    assert load_settings({"PODEMOS_HOME": str(tmp_path)}).go_live == "2026-10-01"
    assert load_settings({"PODEMOS_HOME": str(tmp_path), "PODEMOS_GO_LIVE": "2026-11-15"}).go_live == "2026-11-15"
    # Callers compare partition keys with it as text: only the canonical YYYY-MM-DD spelling is accepted.
    for bad in ("2026-13-01", "01/10/2026", "20261001", "2026-10-1", "mañana"):
        with pytest.raises(ConfigError, match=r"PODEMOS_GO_LIVE=.* is not a date: expected YYYY-MM-DD"):
            load_settings({"PODEMOS_HOME": str(tmp_path), "PODEMOS_GO_LIVE": bad})


def test_a_demo_home_goes_live_on_the_demo_s_first_day_unless_the_environment_says_otherwise(tmp_path):
    from podemos_assets.config import DEMO_SCENARIO
    from podemos_assets.demo.scenario import SCENARIO_FILE

    assert DEMO_SCENARIO == SCENARIO_FILE == "demo_scenario.json"
    (tmp_path / "demo_scenario.json").write_text(json.dumps({"start": "2026-11-20", "days": 4}))
    assert load_settings({"PODEMOS_HOME": str(tmp_path)}).go_live == "2026-11-20"
    assert load_settings({"PODEMOS_HOME": str(tmp_path), "PODEMOS_GO_LIVE": "2026-10-05"}).go_live == "2026-10-05"
    code = "from podemos_assets.config import GO_LIVE; print(GO_LIVE)"
    env = {k: v for k, v in os.environ.items() if k != "PODEMOS_GO_LIVE"} | {"PODEMOS_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2026-11-20"]  # the partitions definitions read the same
    for broken in ("{", json.dumps({"days": 4}), json.dumps({"start": 20261120}), json.dumps({"start": "ayer"})):
        (tmp_path / "demo_scenario.json").write_text(broken)
        with pytest.raises(ConfigError, match=r"demo_scenario.json.*(not a demo scenario|not a YYYY-MM-DD date)"):
            load_settings({"PODEMOS_HOME": str(tmp_path)})


def test_go_live_constant_follows_the_environment_of_the_process(tmp_path):
    """GO_LIVE (module level, read by the partitions definitions) is the same setting, read at import."""
    env = {**os.environ, "PODEMOS_GO_LIVE": "2026-11-15"}
    code = "from podemos_assets.config import GO_LIVE, load_settings; print(GO_LIVE, load_settings().go_live)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2026-11-15", "2026-11-15"]
    env["PODEMOS_GO_LIVE"] = "2026-02-30"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "ConfigError: PODEMOS_GO_LIVE='2026-02-30' is not a date" in bad.stderr
