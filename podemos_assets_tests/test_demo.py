"""`podemos generate` + `podemos demo` end to end on a tiny scenario, as a newcomer runs them.

The demo exits 0 and its summary counts what the instance really holds; the generator is deterministic:
the same arguments write the same bytes, into a fresh home or over its own earlier output.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import dagster as dg
import pytest

from podemos_assets_tests.ui.tiny_demo import (
    TINY_GENERATE,
    TINY_START,
    TinyDemo,
    demo_data_hashes,
    isolated_env,
    podemos,
    tiny_demo_once,
)

pytestmark = pytest.mark.slow  # three `podemos` runs in subprocesses

SUMMARY = re.compile(r"assets materialized:\s*(\d+) of (\d+)")


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory) -> TinyDemo:
    return tiny_demo_once(tmp_path_factory)  # shared with the UI test: the demo runs once a session


# What the definitions hold in the demo's own home (its go-live is the demo's first day, config.py).
HOME_VIEW = """import json, warnings
warnings.simplefilter("ignore")
from podemos_assets.config import GO_LIVE
from podemos_assets.definitions import defs
graph = defs.resolve_asset_graph()
# Not the assets with no partition (the closed months, until go-live is older than the daily window).
keys = [k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).is_materializable
        and not (graph.get(k).partitions_def and not graph.get(k).partitions_def.get_num_partitions())]
print("RESULT " + json.dumps({"go_live": GO_LIVE, "keys": sorted(keys)}))
"""


@pytest.fixture(scope="session")
def home_view(tiny_demo) -> dict:
    done = subprocess.run([sys.executable, "-c", HOME_VIEW], env=tiny_demo.env, capture_output=True, text=True,
                          timeout=300)
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[0][len("RESULT "):])


def materializable_keys(home_view: dict) -> list[dg.AssetKey]:
    return [dg.AssetKey.from_user_string(k) for k in home_view["keys"]]


def test_a_demo_home_goes_live_on_its_first_day(tiny_demo, home_view):
    """Its data starts there: no partition of the days before it, nothing built or delivered for them."""
    tiny_demo.require_demo()
    assert home_view["go_live"] == TINY_START
    with dg.DagsterInstance.from_config(str(tiny_demo.dagster_home)) as instance:
        for key in ("pagos_historicos", "reporte_regulatorio_diario"):
            days = instance.get_materialized_partitions(dg.AssetKey(key))
            assert days and min(days) >= TINY_START, (key, sorted(days)[:5])


def test_demo_summary_counts_what_the_instance_holds(tiny_demo, home_view):

    tiny_demo.require_demo()
    match = SUMMARY.search(tiny_demo.demo_output)
    assert match, f"`podemos demo` printed no 'assets materialized: N of M' line:\n{tiny_demo.demo_output}"
    said, total = int(match[1]), int(match[2])
    all_keys = materializable_keys(home_view)
    assert total == len(all_keys)
    with dg.DagsterInstance.from_config(str(tiny_demo.dagster_home)) as instance:
        held = sum(instance.get_latest_materialization_event(k) is not None for k in all_keys)
    assert said == held, f"the summary says {said} assets materialized, the instance holds {held}"


def test_demo_reports_planted_failures_as_reasons_and_lists_them_as_expected(tiny_demo):
    """The planted broken files fail their runs by design: the terminal shows the reason in one line (the
    stack trace is in the UI's run logs) and the summary names each planted fault as expected."""
    tiny_demo.require_demo()
    out = tiny_demo.demo_output
    assert "Traceback" not in out and "dagster._core" not in out, out[-3000:]
    failed = [line for line in out.splitlines() if line.rstrip().endswith(")") and " FAILED (" in line]
    assert failed, "the planted broken files failed no run"
    planted = out.split("planted trouble (expected):", 1)[1]
    for source in ("seguros", "contabilidad_gl", "spei"):  # broken, broken then re-sent, late (demo/regulatorio.py)
        assert f"- {source} " in planted, planted


def test_demo_materializes_every_asset(tiny_demo, home_view):
    tiny_demo.require_demo()
    keys = materializable_keys(home_view)
    with dg.DagsterInstance.from_config(str(tiny_demo.dagster_home)) as instance:
        never = [k.to_user_string() for k in keys if instance.get_latest_materialization_event(k) is None]
    assert not never, f"`podemos demo` left {len(never)} of {len(keys)} assets unmaterialized: {never}"


def test_demo_runs_are_recorded_in_its_own_dagster_home(tiny_demo):
    # Dagster resolves a relative storage base_dir against the working directory: an instance that
    # writes outside its DAGSTER_HOME shares its event log with every other home (and with `make ui`).
    tiny_demo.require_demo()
    runs_db = tiny_demo.dagster_home / "history" / "runs.db"
    assert runs_db.exists(), f"no run storage under {tiny_demo.dagster_home}: the instance writes elsewhere"
    with dg.DagsterInstance.from_config(str(tiny_demo.dagster_home)) as instance:
        assert instance.get_runs_count() > 0


def test_generate_is_deterministic(tiny_demo, tmp_path):
    home = tmp_path / "podemos"
    env = isolated_env(home)
    podemos(env, "generate", *TINY_GENERATE)
    fresh = demo_data_hashes(home)
    podemos(env, "generate", *TINY_GENERATE)  # again, over its own output
    again = demo_data_hashes(home)

    assert "demo_scenario.json" in fresh, f"generate wrote no scenario file: {sorted(fresh)}"
    assert_same_files(tiny_demo.generated, fresh, "another PODEMOS_HOME")
    assert_same_files(fresh, again, "a re-run over its own output")


def assert_same_files(expected: dict[str, str], actual: dict[str, str], what: str) -> None:
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    changed = sorted(p for p in set(expected) & set(actual) if expected[p] != actual[p])
    assert not (missing or extra or changed), (
        f"`podemos generate {' '.join(TINY_GENERATE)}` is not deterministic ({what}): "
        f"missing {missing}, extra {extra}, different bytes {changed}"
    )


def test_every_check_result_the_demo_recorded_says_what_it_judged(tiny_demo):
    """In the UI a check's history lists its results: each one carries a description (what was judged and
    what was found), passing ones included, so an engineer reads the history without opening metadata."""
    from podemos_assets.definitions import defs

    tiny_demo.require_demo()
    graph = defs.resolve_asset_graph()
    keys = [c for k in graph.get_all_asset_keys() for c in graph.get(k).check_keys]
    silent, seen = [], 0
    with dg.DagsterInstance.from_config(str(tiny_demo.dagster_home)) as instance:
        for key in keys:
            for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=50):
                evaluation = record.event.asset_check_evaluation if record.event else None
                if evaluation is None:
                    continue
                seen += 1
                if not (evaluation.description or "").strip():
                    silent.append(f"{key.asset_key.to_user_string()}:{key.name}")
    assert seen > 20, "the demo recorded almost no check results"
    assert not silent, f"check results without a description: {sorted(set(silent))}"
