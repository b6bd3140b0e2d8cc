"""Governance (`gobierno`): the metadata vocabulary, group policies, the catalog, the PII scan and the CI gate."""

import dagster as dg

from podemos_assets.gobierno.policies import GROUP_POLICIES, apply_group_policies
from podemos_assets.gobierno.vocabulary import (
    AUDIENCE_TAG,
    SORT_KEY,
    Audience,
    Classification,
    Criticality,
    analyst_facing,
    column,
    column_lineage,
    columns_of,
    redshift_comment_statements,
    report_files,
    schema_metadata,
    table_schema,
    warehouse_table,
)

__all__ = [
    "AUDIENCE_TAG",
    "GROUP_POLICIES",
    "SORT_KEY",
    "Audience",
    "Classification",
    "Criticality",
    "analyst_facing",
    "apply_group_policies",
    "column",
    "column_lineage",
    "columns_of",
    "defs",
    "redshift_comment_statements",
    "report_files",
    "schema_metadata",
    "table_schema",
    "warehouse_table",
]


def _build_defs() -> dg.Definitions:
    # Imported here so that capabilities importing the vocabulary do not load the assets' dependencies.
    from podemos_assets.gobierno.assets import catalogo_datos, escaneo_pii

    return dg.Definitions(assets=[catalogo_datos, escaneo_pii])


defs = _build_defs()
