"""The governance vocabulary every capability uses: classifications, teams, domains, and `column()`.

A table's pandera `DataFrameModel` is its single source of truth. Each field is declared with
`column(description, classification, ...)`, and everything else (Dagster's column schema, Redshift
`COMMENT ON`, the catalog, PII masking) is derived from it by the functions here and in `gobierno`.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import dagster as dg
import pandera.pandas as pa


class Classification(str, Enum):
    PII = "pii"  # identifies a person: names, CURP, RFC, phone, exact GPS, birth date
    SENSIBLE = "sensible"  # confidential business data: amounts, balances, account ids
    PUBLICO = "publico"  # may be shown to any employee: catalogs, dates, branch codes

    def __str__(self) -> str:
        return self.value


class Criticality(str, Enum):
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
    return pa.Field(description=description, metadata=metadata, **field_kwargs)


def columns_of(model: type[pa.DataFrameModel]) -> list[dict[str, Any]]:
    """Each column of a model: name, dtype, nullable, description, classification, glossary."""
    schema = model.to_schema()
    out = []
    for name, col in schema.columns.items():
        meta = col.metadata or {}
        out.append(
            {
                "name": name,
                "dtype": str(col.dtype),
                "nullable": bool(col.nullable),
                "description": col.description,
                "classification": meta.get("classification"),
                "glossary": meta.get("glossary"),
            }
        )
    return out


def table_schema(model: type[pa.DataFrameModel]) -> dg.TableSchema:
    """Dagster's column schema (shown in the UI) derived from the pandera model."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c["name"],
                type=c["dtype"],
                description=c["description"],
                constraints=dg.TableColumnConstraints(nullable=c["nullable"]),
                tags={k: v for k, v in (("classification", c["classification"]), ("glossary", c["glossary"])) if v},
            )
            for c in columns_of(model)
        ]
    )


def schema_metadata(model: type[pa.DataFrameModel]) -> dict[str, Any]:
    """Definition metadata for an asset whose table is `model`: its column schema and the model name."""
    return {
        **dg.TableMetadataSet(column_schema=table_schema(model)),
        "podemos/schema_model": f"{model.__module__}.{model.__qualname__}",
    }


def pii_columns(model: type[pa.DataFrameModel]) -> list[str]:
    return [c["name"] for c in columns_of(model) if c["classification"] == Classification.PII.value]


def redshift_comment_statements(model: type[pa.DataFrameModel], table: str, table_description: str) -> list[str]:
    """`COMMENT ON` statements for a Redshift table, derived from the model (never written by hand)."""

    def quote(text: str) -> str:
        return "'" + (text or "").replace("'", "''") + "'"

    statements = [f"COMMENT ON TABLE {table} IS {quote(table_description)};"]
    for c in columns_of(model):
        text = f"{c['description']} [{c['classification']}]"
        statements.append(f"COMMENT ON COLUMN {table}.{c['name']} IS {quote(text)};")
    return statements
