"""Contracts: what every capability agrees on, defined once and imported everywhere else.

- `vocabulary`: classifications, audiences, metadata keys and `column()`, the way every table is documented;
- `types`: the column types (pandera over exact Arrow types);
- `sucursales`: the branch tables, one model each, from which the extractor's Arrow schema is derived;
- `lake`: the lake layout, as functions from a table and a day to a path.

Imports no capability and no resource: capabilities and resources import it. The vocabulary's names are
re-exported lazily, so `contracts.lake` stays a light import (the ingestion service and the Lambda handler
use it without loading Dagster or pandera).
"""

import importlib

__all__ = [
    "AUDIENCE_TAG",
    "SORT_KEY",
    "Audience",
    "Classification",
    "Criticality",
    "analyst_facing",
    "arrow_schema",
    "column",
    "column_lineage",
    "columns_of",
    "redshift_comment_statements",
    "report_files",
    "schema_metadata",
    "table_schema",
    "warehouse_table",
]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("podemos_assets.contracts.vocabulary"), name)
    raise AttributeError(f"module 'podemos_assets.contracts' has no attribute {name!r}")
