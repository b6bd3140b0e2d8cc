"""dbt models under the governance vocabulary: a dagster-dbt translator that surfaces layout and classification.

dagster-dbt exposes a model's columns (with their dbt `tags`) and materialization, but not its
Redshift layout config. Subclass `GovernedDbtTranslator` instead of `DagsterDbtTranslator` and a
model's `config(sort=[...], dist=...)` becomes `podemos/sort_key` / `podemos/dist_key` metadata (the
gate requires a sort key on every table model), and a column's `meta: {classification: pii}` or
`tags: [pii]` becomes its classification tag in the UI and the catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator

from podemos_assets.contracts.vocabulary import CLASSIFICATIONS, COLUMN_SCHEMA, DIST_KEY, MATERIALIZATION, SORT_KEY


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def governed_column_schema(props: Mapping[str, Any]) -> dg.TableSchema | None:
    columns = []
    for name, info in (props.get("columns") or {}).items():
        tags = {t: "" for t in info.get("tags", [])}
        meta = info.get("meta") or {}
        classification = meta.get("classification") or next((t for t in tags if t in CLASSIFICATIONS), None)
        if classification:
            tags = {k: v for k, v in tags.items() if k not in CLASSIFICATIONS} | {"classification": classification}
        if meta.get("glossary"):
            tags["glossary"] = meta["glossary"]
        columns.append(dg.TableColumn(name=name, type=info.get("data_type") or "?", description=info.get("description"), tags=tags))
    return dg.TableSchema(columns=columns) if columns else None


def dbt_governance_metadata(props: Mapping[str, Any]) -> dict[str, Any]:
    """The vocabulary's metadata for one dbt resource (model/seed/snapshot) from its manifest entry."""
    config = props.get("config") or {}
    meta: dict[str, Any] = {}
    materialized = config.get("materialized")
    if materialized:
        meta[MATERIALIZATION] = "view" if materialized in ("view", "ephemeral") else "table"
    sort = _as_list(config.get("sort"))
    if sort:
        meta[SORT_KEY] = ",".join(sort)
    if config.get("dist") and config["dist"] not in ("even", "all", "auto"):
        meta[DIST_KEY] = config["dist"]
    schema = governed_column_schema(props)
    if schema is not None:
        meta[COLUMN_SCHEMA] = schema
    return meta


class GovernedDbtTranslator(DagsterDbtTranslator):
    """`DagsterDbtTranslator` plus the governance metadata (sort/dist key, materialization, classification)."""

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        return {**super().get_metadata(dbt_resource_props), **dbt_governance_metadata(dbt_resource_props)}
