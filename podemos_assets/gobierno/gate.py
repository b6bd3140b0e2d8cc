"""The governance gate: what every asset in the graph must declare, checked over the real definitions.

`governance_violations(defs)` returns one precise message per missing piece ("<asset>: <what is
missing and how to fix it>"); the test suite fails on any, and the catalog reports their count.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from podemos_assets.contracts.vocabulary import (
    AUDIENCE_TAG,
    CLASSIFICATIONS,
    DIST_KEY,
    MATERIALIZATION,
    SORT_KEY,
    TABLE_NAME,
    Audience,
    column_classification,
)
from podemos_assets.gobierno.policies import GROUP_POLICIES

WAREHOUSE_KINDS = frozenset({"duckdb", "redshift"})
DBT_MATERIALIZATION = "dagster-dbt/materialization_type"
NON_TABLE_MATERIALIZATIONS = frozenset({"view", "ephemeral", "materialized_view"})


@dataclass(frozen=True)
class WarehouseLayout:
    """How an asset's relation sits in the warehouse, read from its definition metadata."""

    table: str | None
    is_table: bool  # a stored table (needs a sort key), as opposed to a view
    sort_key: tuple[str, ...]
    dist_key: str | None


def column_schema_of(node) -> dg.TableSchema | None:
    schema = (node.metadata or {}).get("dagster/column_schema")
    if isinstance(schema, dg.TableSchemaMetadataValue):
        schema = schema.schema
    return schema if isinstance(schema, dg.TableSchema) else None


def metadata_text(value) -> str | None:
    value = getattr(value, "value", value)  # TextMetadataValue or str
    return str(value) if value not in (None, "") else None


def dbt_config(node) -> dict:
    """A dbt model's `config` from the manifest dagster-dbt attaches (so `sort=`/`dist=` count even
    without GovernedDbtTranslator); {} for other assets."""
    meta = node.metadata or {}
    manifest = getattr(meta.get("dagster_dbt/manifest"), "manifest", None)
    unique_id = metadata_text(meta.get("dagster_dbt/unique_id"))
    if not manifest or not unique_id:
        return {}
    return (manifest.get("nodes", {}).get(unique_id) or {}).get("config") or {}


def warehouse_layout(node) -> WarehouseLayout | None:
    """The warehouse layout of an asset, or None when it writes no warehouse relation."""
    meta = node.metadata or {}
    table = metadata_text(meta.get(TABLE_NAME))
    dbt_mat = metadata_text(meta.get(DBT_MATERIALIZATION))
    if table is None and dbt_mat is None and not (set(node.kinds or ()) & WAREHOUSE_KINDS):
        return None
    materialization = metadata_text(meta.get(MATERIALIZATION)) or dbt_mat or "table"
    sort_key = tuple(c.strip() for c in (metadata_text(meta.get(SORT_KEY)) or "").split(",") if c.strip())
    dist_key = metadata_text(meta.get(DIST_KEY))
    if dbt_mat is not None and not sort_key:
        config = dbt_config(node)
        sort = config.get("sort") or ()
        sort_key = (sort,) if isinstance(sort, str) else tuple(sort)
        dist = config.get("dist")
        dist_key = dist_key or (dist if dist not in (None, "even", "all", "auto") else None)
    return WarehouseLayout(table, materialization not in NON_TABLE_MATERIALIZATIONS, sort_key, dist_key)


def asset_violations(node) -> list[str]:
    """What one asset node (of a resolved asset graph) lacks; empty when it is fully governed."""
    name = node.key.to_user_string()
    if (node.metadata or {}).get("dagster/auto_created_stub_asset"):
        # A dep declared by key that no capability defines: Dagster made a bare stub for it.
        return [f"{name}: referenced as a dependency but defined by no capability (no owner, description, schema)"]
    out: list[str] = []
    if (node.group_name or "") not in GROUP_POLICIES:
        out.append(f"group {node.group_name!r} has no policy in gobierno/policies.py GROUP_POLICIES")
    if not node.owners:
        out.append("no owner (set group_name to a governed group, or owners=['team:...'])")
    if not (node.description or "").strip():
        out.append("no description")
    for tag in ("domain", "criticality"):
        if not (node.tags or {}).get(tag):
            out.append(f"no '{tag}' tag (applied by the group policy)")
    audience = (node.tags or {}).get(AUDIENCE_TAG)
    if audience is not None and audience not in {a.value for a in Audience}:
        out.append(f"tag {AUDIENCE_TAG}={audience!r} is not one of {sorted(a.value for a in Audience)}")

    schema = column_schema_of(node)
    names: set[str] = set()
    if schema is None or not schema.columns:
        out.append("no column schema (metadata=contracts.schema_metadata(Model))")
    else:
        for col in schema.columns:
            names.add(col.name)
            if not (col.description or "").strip():
                out.append(f"column '{col.name}' has no description")
            if column_classification(col) not in CLASSIFICATIONS:
                out.append(
                    f"column '{col.name}' has no classification (contracts.column(..., Classification.X): "
                    f"one of {sorted(CLASSIFICATIONS)})"
                )

    layout = warehouse_layout(node)
    if layout is not None:
        if layout.table is None:
            out.append(f"writes to the warehouse but declares no {TABLE_NAME} (gobierno.warehouse_table(...))")
        if layout.is_table and not layout.sort_key:
            out.append(
                f"warehouse table {layout.table or ''} has no sort key: metadata {SORT_KEY} "
                "(gobierno.warehouse_table(table, sort_key=[...])), or dbt config(sort=[...])"
            )
        for col in (*layout.sort_key, *([layout.dist_key] if layout.dist_key else [])):
            if names and col not in names:
                out.append(f"sort/dist key column '{col}' is not in the column schema")
    return [f"{name}: {msg}" for msg in out]


def governance_violations(source: dg.Definitions | dg.RepositoryDefinition) -> list[str]:
    """Every violation in the definitions (or a running repository), sorted by asset: empty = gate passes."""
    graph = source.resolve_asset_graph() if isinstance(source, dg.Definitions) else source.asset_graph
    keys = sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string())
    return [msg for key in keys for msg in asset_violations(graph.get(key))]
