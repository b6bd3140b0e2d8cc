"""The real Dagster UI on a materialized instance shows every group and asset of our definitions.

Starts `dagster-webserver` on the tiny demo's DAGSTER_HOME, opens the asset catalog and the global asset
graph in headless Chromium, and on success under `make snapshot` saves the README's screenshot of the graph.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from podemos_assets.config import REPO_ROOT
from podemos_assets_tests.ui.browser import catalog_rows, chromium_page, open_global_lineage

SCREENSHOT = REPO_ROOT / "docs" / "img" / "asset_graph.png"
# Dagster's stand-in for a key some asset depends on but no definition holds; the UI does not list it.
AUTO_CREATED_STUB = "dagster/auto_created_stub_asset"


def shown(key: dg.AssetKey) -> str:
    """An asset key as Dagster's catalog prints it: `fuentes / buro`."""
    return " / ".join(key.path)


@pytest.mark.ui
@pytest.mark.slow
def test_asset_graph_and_catalog_show_every_group_and_asset(webserver_url, tiny_demo):
    from podemos_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = sorted(k for k in graph.get_all_asset_keys() if not graph.get(k).metadata.get(AUTO_CREATED_STUB))
    assert keys, "the definitions hold no assets: nothing for the UI to show"
    expected = {shown(k): graph.get(k).group_name for k in keys}
    groups = sorted(set(expected.values()))
    with dg.DagsterInstance.from_config(str(tiny_demo.dagster_home)) as instance:
        materialized = {shown(k) for k in keys if instance.get_latest_materialization_event(k)}
    # The UI is tested on a materialized instance; whether the demo got through everything is
    # test_demo.py's business.
    assert materialized, f"the tiny demo materialized nothing to browse; demo error: {tiny_demo.demo_error}"

    with chromium_page() as page:
        rows = catalog_rows(page, webserver_url)
        groups_in_graph = open_global_lineage(page, webserver_url, groups)
        png = page.screenshot()

    missing = sorted(set(expected) - set(rows))
    assert not missing, f"assets of the definitions not listed on /assets: {missing}"
    unknown = sorted(set(rows) - set(expected))
    assert not unknown, f"/assets lists assets the definitions do not hold: {unknown}"
    wrong_group = {k: (rows[k]["group"], g) for k, g in expected.items() if rows[k]["group"] != g}
    assert not wrong_group, f"/assets shows these assets in another group (shown, defined): {wrong_group}"
    # The webserver must read the demo's instance: what the demo materialized is not "never" there.
    unseen = sorted(k for k in materialized if "Never materialized" in rows[k]["text"])
    assert not unseen, f"/assets says 'Never materialized' for assets the demo materialized: {unseen}"
    missing_groups = sorted(set(groups) - groups_in_graph)
    assert not missing_groups, f"groups missing from the global asset graph: {missing_groups}"
    write_screenshot(png, SCREENSHOT)


def write_screenshot(png: bytes, path: Path) -> None:
    """Only a passing test, and only under `make snapshot`, updates the README's picture of the graph (an
    ordinary `make test` leaves the working tree as it found it)."""
    if os.environ.get("PODEMOS_UPDATE_SNAPSHOT") != "1":
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
