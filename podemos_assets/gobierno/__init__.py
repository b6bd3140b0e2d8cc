"""Governance (`gobierno`): the metadata vocabulary, group policies, the catalog and the CI gate."""

import dagster as dg

from podemos_assets.gobierno.policies import GROUP_POLICIES, apply_group_policies
from podemos_assets.gobierno.vocabulary import Classification, Criticality, column, schema_metadata, table_schema

__all__ = [
    "GROUP_POLICIES",
    "Classification",
    "Criticality",
    "apply_group_policies",
    "column",
    "defs",
    "schema_metadata",
    "table_schema",
]

defs = dg.Definitions()
