"""The governed inventory: every asset of the running repository as a plain record, read from its metadata.

gobierno never imports the capabilities; the catalog, the access SQL and the PII scanner all read
this inventory, built from the asset graph (`context.repository_def` at run time, `defs` in tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from podemos_assets.contracts.vocabulary import AUDIENCE_TAG, COLUMN_LINEAGE, FILES, column_classification
from podemos_assets.gobierno.gate import WarehouseLayout, column_schema_of, metadata_text, warehouse_layout


@dataclass(frozen=True)
class GovernedAsset:
    key: str  # "a/b" user string
    group: str | None
    description: str
    owners: tuple[str, ...]
    domain: str | None
    criticality: str | None
    audience: str | None
    columns: tuple[dict, ...]  # name, dtype, description, classification, glossary
    layout: WarehouseLayout | None
    files: tuple[str, str] | None  # (resource key, prefix)
    upstream: tuple[str, ...]
    column_lineage: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    @property
    def pii_columns(self) -> list[str]:
        return [c["name"] for c in self.columns if c["classification"] == "pii"]


def _lineage(node) -> dict[str, tuple[tuple[str, str], ...]]:
    value = (node.metadata or {}).get(COLUMN_LINEAGE)
    value = getattr(value, "column_lineage", value)  # TableColumnLineageMetadataValue or the lineage itself
    if not isinstance(value, dg.TableColumnLineage):
        return {}
    return {
        col: tuple((d.asset_key.to_user_string(), d.column_name) for d in deps)
        for col, deps in sorted(value.deps_by_column.items())
    }


def governed_asset(node) -> GovernedAsset:
    schema = column_schema_of(node)
    columns = tuple(
        {
            "name": c.name,
            "dtype": c.type,
            "description": c.description or "",
            "classification": column_classification(c),
            "glossary": (c.tags or {}).get("glossary"),
        }
        for c in (schema.columns if schema else [])
    )
    files = metadata_text((node.metadata or {}).get(FILES))
    tags = node.tags or {}
    return GovernedAsset(
        key=node.key.to_user_string(),
        group=node.group_name,
        description=(node.description or "").strip(),
        owners=tuple(sorted(node.owners or ())),
        domain=tags.get("domain"),
        criticality=tags.get("criticality"),
        audience=tags.get(AUDIENCE_TAG),
        columns=columns,
        layout=warehouse_layout(node),
        files=tuple(files.split(":", 1)) if files and ":" in files else None,
        upstream=tuple(sorted(p.to_user_string() for p in node.parent_keys)),
        column_lineage=_lineage(node),
    )


def asset_graph_of(source: dg.Definitions | dg.RepositoryDefinition):
    return source.resolve_asset_graph() if isinstance(source, dg.Definitions) else source.asset_graph


def inventory(source: dg.Definitions | dg.RepositoryDefinition) -> list[GovernedAsset]:
    """Every asset of the definitions or repository, sorted by key (so exports are deterministic)."""
    graph = asset_graph_of(source)
    keys = sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string())
    return [governed_asset(graph.get(k)) for k in keys]
