"""The column vocabulary every capability uses: classifications, audiences, metadata keys, and `column()`.

A table's pandera `DataFrameModel` is its single source of truth. Each field is declared with
`column(description, classification, ...)`, and everything else (Dagster's column schema, Redshift
`COMMENT ON`, the catalog, PII masking) is derived from it by the functions here and in `gobierno`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

import dagster as dg
import pandera.pandas as pda
import pyarrow as pa
import pyarrow.types as patypes


class Classification(StrEnum):
    PII = "pii"  # identifies a person: names, CURP, RFC, phone, exact GPS, birth date
    SENSIBLE = "sensible"  # confidential business data: amounts, balances, account ids
    PUBLICO = "publico"  # may be shown to any employee: catalogs, dates, branch codes


CLASSIFICATIONS = frozenset(c.value for c in Classification)


class Audience(StrEnum):
    """Who reads an asset's output; `ANALISTAS` outputs are scanned for PII and must be masked."""

    ANALISTAS = "analistas"  # analysts and BI: PII must never appear raw
    CUMPLIMIENTO = "cumplimiento"  # compliance/AML: may read PII
    SISTEMAS = "sistemas"  # internal pipeline data, read by code only


# Metadata and tag keys of the vocabulary (documented in docs/gobierno.md).
AUDIENCE_TAG = "podemos/audience"  # tag: an Audience value
SORT_KEY = "podemos/sort_key"  # metadata: comma-separated sort-key columns of a warehouse table
DIST_KEY = "podemos/dist_key"  # metadata: Redshift DISTKEY column (optional)
MATERIALIZATION = "podemos/materialization"  # metadata: "table" (default) or "view"
FILES = "podemos/files"  # metadata: "<resource>:<prefix>" where an asset writes files people read
TABLE_NAME = "dagster/table_name"  # Dagster's own key: the warehouse relation an asset writes
COLUMN_LINEAGE = "dagster/column_lineage"
COLUMN_SCHEMA = "dagster/column_schema"
SCHEMA_MODEL = "podemos/schema_model"


class Criticality(StrEnum):
    ALTA = "alta"  # regulator or money depends on it
    MEDIA = "media"
    BAJA = "baja"


def column(
    description: str,
    classification: Classification,
    *,
    glossary: str | None = None,
    **field_kwargs: Any,
) -> Any:
    """A pandera field that carries its description and classification (and a glossary term).

    Extra keyword arguments are pandera's checks and options (`ge=0`, `isin=[...]`, `nullable=True`).
    """
    metadata = {"classification": Classification(classification).value}
    if glossary:
        metadata["glossary"] = glossary
    return pda.Field(description=description, metadata=metadata, **field_kwargs)


def columns_of(model: type[pda.DataFrameModel]) -> list[dict[str, Any]]:
    """Each column of a model: name, dtype, nullable, description, classification, glossary."""
    schema = model.to_schema()
    out = []
    for name, col in schema.columns.items():
        meta = col.metadata or {}
        out.append(
            {
                "name": name,
                "dtype": str(col.dtype),
                "arrow": arrow_type(col.dtype),  # the pyarrow type (None for a non-Arrow dtype)
                "nullable": bool(col.nullable),
                "description": col.description,
                "classification": meta.get("classification"),
                "glossary": meta.get("glossary"),
            }
        )
    return out


def arrow_type(dtype):
    """The pyarrow type behind a pandera column dtype (`pd.ArrowDtype`), or None."""
    return getattr(getattr(dtype, "type", None), "pyarrow_dtype", None)


def arrow_schema(model: type[pda.DataFrameModel], nullability: bool = True) -> pa.Schema:
    """The Arrow schema of a model's table, in the model's column order. `nullability=False` leaves every
    field nullable: for reading outside files, whose nulls the model's validation then names."""
    return pa.schema([pa.field(name, arrow_type(col.dtype), nullable=not nullability or bool(col.nullable))
                      for name, col in model.to_schema().columns.items()])


def readable_type(dtype) -> str:
    """A column type as an analyst reads it: `decimal(18,2)`, `timestamp(UTC)`, `date`, `string`, `int64`
    (pandas prints Arrow-backed types as `decimal128(18, 2)[pyarrow]`)."""
    arrow = arrow_type(dtype)
    if arrow is None:
        return str(dtype)
    if patypes.is_decimal(arrow):
        return f"decimal({arrow.precision},{arrow.scale})"
    if patypes.is_timestamp(arrow):
        return f"timestamp({arrow.tz})" if arrow.tz else "timestamp"
    if patypes.is_date(arrow):
        return "date"
    if patypes.is_string(arrow) or patypes.is_large_string(arrow):
        return "string"
    return str(arrow)


def table_schema(model: type[pda.DataFrameModel]) -> dg.TableSchema:
    """Dagster's column schema (shown in the UI) derived from the pandera model."""
    dtypes = model.to_schema().columns
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c["name"],
                type=readable_type(dtypes[c["name"]].dtype),
                description=c["description"],
                constraints=dg.TableColumnConstraints(nullable=c["nullable"]),
                tags={k: v for k, v in (("classification", c["classification"]), ("glossary", c["glossary"])) if v},
            )
            for c in columns_of(model)
        ]
    )


def schema_metadata(model: type[pda.DataFrameModel]) -> dict[str, Any]:
    """Definition metadata for an asset whose table is `model`: its column schema and the model name."""
    return {
        # Dagster's standard key (TableMetadataSet is not exported by dagster 1.13's public API).
        COLUMN_SCHEMA: table_schema(model),
        SCHEMA_MODEL: f"{model.__module__}.{model.__qualname__}",
    }


def pii_columns(model: type[pda.DataFrameModel]) -> list[str]:
    return [c["name"] for c in columns_of(model) if c["classification"] == Classification.PII.value]


def redshift_comment_statements(model: type[pda.DataFrameModel], table: str, table_description: str) -> list[str]:
    """`COMMENT ON` statements for a Redshift table, derived from the model (never written by hand)."""

    def quote(text: str) -> str:
        return "'" + (text or "").replace("'", "''") + "'"

    statements = [f"COMMENT ON TABLE {table} IS {quote(table_description)};"]
    for c in columns_of(model):
        text = f"{c['description']} [{c['classification']}]"
        statements.append(f"COMMENT ON COLUMN {table}.{c['name']} IS {quote(text)};")
    return statements


def column_classification(col: dg.TableColumn) -> str | None:
    """A column's classification from its tags: `classification=<c>` (ours) or a bare dbt tag `pii`."""
    value = (col.tags or {}).get("classification")
    if value:
        return value
    bare = [t for t in (col.tags or {}) if t in CLASSIFICATIONS]
    return bare[0] if len(bare) == 1 else None


def analyst_facing() -> dict[str, str]:
    """Tags for an asset whose output analysts read (scanned for PII, masked from the classification)."""
    return {AUDIENCE_TAG: Audience.ANALISTAS.value}


def warehouse_table(
    table: str,
    sort_key: Sequence[str],
    *,
    dist_key: str | None = None,
    materialization: str = "table",
) -> dict[str, Any]:
    """Definition metadata of an asset that writes a warehouse relation, with its layout.

    Every warehouse table declares its sort key (Redshift `SORTKEY`, DuckDB insertion order) so that
    layout is reviewed, not discovered at 2 billion rows; views declare `materialization="view"`.
    """
    if materialization not in ("table", "view"):
        raise ValueError(f"materialization must be 'table' or 'view', not {materialization!r}")
    meta: dict[str, Any] = {TABLE_NAME: table, MATERIALIZATION: materialization}
    if materialization == "table":
        meta[SORT_KEY] = ",".join(sort_key)
    if dist_key:
        meta[DIST_KEY] = dist_key
    return meta


def report_files(resource_key: str, prefix: str) -> dict[str, str]:
    """Definition metadata of an asset that writes files under `prefix` of the `resource_key` resource."""
    return {FILES: f"{resource_key}:{prefix}"}


def column_lineage(deps: Mapping[str, Iterable[tuple[dg.AssetKey | str | Sequence[str], str]]]) -> dict[str, Any]:
    """`dagster/column_lineage` metadata: {column: [(upstream asset key, upstream column), ...]}.

    Put it in an asset's definition metadata (the catalog exports it) or in its materialization.
    """
    return {
        COLUMN_LINEAGE: dg.TableColumnLineage(
            deps_by_column={
                col: [dg.TableColumnDep(asset_key=dg.AssetKey.from_coercible(k), column_name=c) for k, c in upstream]
                for col, upstream in deps.items()
            }
        )
    }
