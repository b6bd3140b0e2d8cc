"""The code location loads, validates, and its asset graph matches the reviewed snapshot.

After an intended change to the graph run `make snapshot` and commit the diff of
podemos_assets_tests/snapshots/asset_graph.json with the change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from podemos_assets.config import REPO_ROOT
from podemos_assets.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def graph_snapshot(definitions: dg.Definitions) -> dict:
    graph = definitions.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        partitions = node.partitions_def
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kind": "external" if node.is_external else "materializable",
            "partitions": None if partitions is None else type(partitions).__name__,
            "partition_dimensions": (
                sorted(d.name for d in partitions.partitions_defs)
                if isinstance(partitions, dg.MultiPartitionsDefinition)
                else None
            ),
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "owners": sorted(node.owners),
            "tags": {k: v for k, v in sorted(node.tags.items()) if k in ("domain", "criticality")},
            "checks": sorted(c.name for c in node.check_keys),
        }
    return {
        "assets": assets,
        "schedules": sorted(s.name for s in definitions.schedules or []),
        "sensors": sorted(s.name for s in definitions.sensors or []),
        "jobs": sorted(j.name for j in definitions.jobs or [] if hasattr(j, "name")),
    }


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_asset_graph() is not None


def test_asset_graph_matches_snapshot():
    current = graph_snapshot(defs)
    if os.environ.get("PODEMOS_UPDATE_SNAPSHOT") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(current, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert current == expected, (
        "The asset graph changed. If intended, run `make snapshot` and commit the snapshot diff."
    )


def test_dagster_cli_validates_the_workspace(tmp_path):
    # A fresh clone has no instance yet: the CLI gets its own DAGSTER_HOME (it must exist).
    env = {**os.environ, "PODEMOS_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_what_the_ui_shows_of_each_asset_reads_in_business_words():
    """Column types as an analyst reads them (not pandas' `int64[pyarrow]`), and dbt models described in their
    own words (dagster-dbt pastes the raw SQL into the description by default)."""
    graph = defs.resolve_asset_graph()
    unreadable, with_sql, typed = {}, [], 0
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        schema = node.metadata.get("dagster/column_schema")
        for column in schema.columns if schema is not None else []:
            typed += 1
            if "[" in column.type or "pyarrow" in column.type:
                unreadable[f"{key.to_user_string()}.{column.name}"] = column.type
        if "```sql" in (node.description or "") or "Raw SQL" in (node.description or ""):
            with_sql.append(key.to_user_string())
    assert typed > 100, "the assets carry no column schemas to check"
    assert not unreadable, unreadable
    assert not with_sql, f"descriptions that paste SQL: {with_sql}"
    cobranza = graph.get(dg.AssetKey("cobranza_diaria_sucursal"))
    assert cobranza.description.startswith("Daily collections by branch")
    types = {c.name: c.type for c in graph.get(dg.AssetKey("pagos_historicos")).metadata["dagster/column_schema"].columns}
    assert types["monto"] == "decimal(18,2)" and types["fecha_pago"] == "date", types


def test_dbt_models_carry_the_governance_vocabulary():
    """The dbt reports speak the vocabulary every other asset speaks: `classification=<c>` on each column
    (dbt's bare tag `sensible` is translated) and their Redshift sort key as metadata."""
    from podemos_assets.contracts.vocabulary import SORT_KEY

    cobranza = defs.resolve_asset_graph().get(dg.AssetKey("cobranza_diaria_sucursal"))
    tags = {c.name: c.tags for c in cobranza.metadata["dagster/column_schema"].columns}
    assert tags["monto_neto"] == {"classification": "sensible"}, tags["monto_neto"]
    assert tags["fecha_pago"] == {"classification": "publico"}, tags["fecha_pago"]
    assert cobranza.metadata.get(SORT_KEY), cobranza.metadata.keys()
