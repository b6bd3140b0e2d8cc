"""Mexican PII: detection by pattern (CURP, RFC, CLABE, phone, INE voter key) and masking from the classification.

Detection is the safety net for what the classification missed; masking is driven by the
classification (a column marked `pii` is masked whether or not its values look like PII). Patterns
are RE2-compatible so the same text runs inside DuckDB (`regexp_matches`) and in Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pda

from podemos_assets.contracts.vocabulary import Classification, columns_of

_STATES = "AS|BC|BS|CC|CL|CM|CS|CH|DF|DG|GT|GR|HG|JC|MC|MN|MS|NT|NL|OC|PL|QT|QR|SP|SL|SR|TC|TS|TL|VZ|YN|ZS|NE"

# name -> RE2/Python pattern; word boundaries keep ids and amounts embedded in longer tokens out.
PATTERNS: dict[str, str] = {
    "curp": rf"\b[A-Z][AEIOUX][A-Z]{{2}}\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[HMX](?:{_STATES})"
    r"[B-DF-HJ-NP-TV-Z]{3}[A-Z\d]\d\b",
    "clave_elector": r"\b[A-Z]{6}\d{8}[HMX]\d{3}\b",
    "rfc": r"\b[A-ZÑ&]{3,4}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[A-Z\d]{2}[A\d]\b",
    "clabe": r"\b\d{18}\b",
    "telefono": r"(?:\+?52[ -]?)?(?:\b\d{10}\b|\b\d{2}[ -]\d{4}[ -]\d{4}\b|\b\d{3}[ -]\d{3}[ -]\d{4}\b"
    r"|\(\d{2,3}\)[ -]?\d{3,4}[ -]?\d{4}\b)",
}
ANY_PII = "|".join(f"(?:{p})" for p in PATTERNS.values())
_COMPILED = {name: re.compile(p) for name, p in PATTERNS.items()}
MASK = "***"


def clabe_is_valid(digits: str) -> bool:
    """CLABE control digit: weights 3,7,1 over the first 17 digits, mod 10 (Banxico)."""
    if len(digits) != 18 or not digits.isdigit():
        return False
    total = sum((int(d) * w) % 10 for d, w in zip(digits[:17], [3, 7, 1] * 6))
    return (10 - total % 10) % 10 == int(digits[17])


def find_pii(text: str) -> list[tuple[str, str]]:
    """(kind, value) of every PII match in `text`; a CURP is not also reported as an RFC."""
    found: list[tuple[str, str]] = []
    taken: list[tuple[int, int]] = []
    for name, rx in _COMPILED.items():  # dict order = precedence: CURP before RFC (an RFC is a CURP prefix)
        for m in rx.finditer(text):
            if name == "clabe" and not clabe_is_valid(m.group()):
                continue
            if any(s <= m.start() < e or s < m.end() <= e for s, e in taken):
                continue
            taken.append(m.span())
            found.append((name, m.group()))
    return found


def hint(value: str) -> str:
    """A finding's sample without the PII: its first two characters and its length."""
    return f"{value[:2]}{'*' * max(len(value) - 2, 0)}"


@dataclass(frozen=True)
class Finding:
    """PII found in an analyst-facing output; `sample` is masked, never the raw value."""

    asset: str
    location: str  # warehouse relation or file key
    column: str  # column, or "-" for unstructured text
    kind: str
    matches: int
    sample: str


def scan_values(asset: str, location: str, column: str, values: Iterable[object]) -> list[Finding]:
    counts: dict[str, int] = {}
    samples: dict[str, str] = {}
    for value in values:
        if value is None:
            continue
        for kind, hit in find_pii(str(value)):
            counts[kind] = counts.get(kind, 0) + 1
            samples.setdefault(kind, hint(hit))
    return [Finding(asset, location, column, k, counts[k], samples[k]) for k in sorted(counts)]


# ---- masking, derived from the classification ------------------------------------------------------


def pii_columns_of_schema(columns: Iterable[dict]) -> list[str]:
    return [c["name"] for c in columns if c.get("classification") == Classification.PII.value]


def mask_frame(model: type[pda.DataFrameModel], df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` with every column the model classifies as PII masked (text -> '***', others -> null).

    Columns keep their dtype so the masked frame still writes with the same Arrow schema.
    """
    out = df.copy()
    for name in pii_columns_of_schema(columns_of(model)):
        if name not in out.columns:
            continue
        col = out[name]
        if pd.api.types.is_string_dtype(col.dtype) or col.dtype == object:
            out[name] = col.where(col.isna(), MASK).astype(col.dtype)
        else:
            out[name] = pd.Series(pd.NA, index=col.index, dtype=col.dtype)
    return out


def _is_text(dtype: str) -> bool:
    d = dtype.lower()
    return any(t in d for t in ("str", "object", "varchar", "text", "char"))


def masked_expression(name: str, dtype: str, classification: str | None) -> str:
    """SQL select item for one column: PII masked (same type family), the rest passed through."""
    quoted = f'"{name}"'
    if classification != Classification.PII.value:
        return quoted
    if _is_text(dtype):
        return f"CASE WHEN {quoted} IS NULL THEN NULL ELSE '{MASK}' END AS {quoted}"
    return f"NULL AS {quoted}"


def masking_select_sql(columns: Iterable[dict], source: str) -> str:
    """`SELECT` over `source` that masks its PII columns (DuckDB and Redshift both accept it)."""
    items = ",\n    ".join(masked_expression(c["name"], c["dtype"], c.get("classification")) for c in columns)
    return f"SELECT\n    {items}\nFROM {source}"


def masking_view_sql(model: type[pda.DataFrameModel], source: str, view: str) -> str:
    """`CREATE OR REPLACE VIEW view AS SELECT ...` exposing `source` to analysts with PII masked."""
    return f"CREATE OR REPLACE VIEW {view} AS\n{masking_select_sql(columns_of(model), source)};"


def mask_relation(relation, model: type[pda.DataFrameModel]):
    """A DuckDB relation with the model's PII columns masked (lazy; nothing is materialized)."""
    present = set(relation.columns)
    items = [masked_expression(c["name"], c["dtype"], c["classification"]) for c in columns_of(model) if c["name"] in present]
    extra = [f'"{c}"' for c in relation.columns if c not in {x["name"] for x in columns_of(model)}]
    return relation.project(", ".join(items + extra))
