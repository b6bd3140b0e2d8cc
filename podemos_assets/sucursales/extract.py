"""The extraction of one branch-day: read the six tables, add lineage, split valid rows from quarantine.

Pure functions over a `BranchReader` and pyarrow tables, so the Dagster asset, the CLI and the tests
share one code path. Validation runs once over many partitions (pandera per call costs milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
import pandera.errors as pe
import pyarrow as pa
import pyarrow.compute as pc

from podemos_assets.contracts.sucursales import BRANCH_TABLES, LINEAGE, MODELS, TABLAS, extract_schema
from podemos_assets.resources.branches import BranchReader
from podemos_assets.sucursales.partitions import day_window

KEYS_SCHEMA = pa.schema([("tabla", pa.string()), ("id", pa.int64())])  # the key index sidecar (lake.key_index)


def extract_key(fecha: date, sucursal: str) -> str:
    """The partition key and the `extraccion` lineage value: 'YYYY-MM-DD|suc_id'."""
    return f"{fecha.isoformat()}|{sucursal}"


def add_lineage(table: pa.Table, sucursal: str, zona: str, fecha: date) -> pa.Table:
    """Branch id, UTC time (ambiguous DST hour read as its first occurrence) and the extraction key."""
    n = table.num_rows
    local = pc.assume_timezone(table["updated_at"], zona, ambiguous="earliest", nonexistent="earliest")
    return (  # constants by pa.repeat: a Python list of a million strings took most of this function's time
        table.append_column("sucursal", pa.repeat(pa.scalar(sucursal, pa.string()), n))
        .append_column("updated_at_utc", local.cast(LINEAGE["updated_at_utc"]))
        .append_column("extraccion", pa.repeat(pa.scalar(extract_key(fecha, sucursal), pa.string()), n))
    )


@dataclass
class BranchDay:
    """What one partition read from its branch, before validation."""

    sucursal: str
    fecha: date
    tables: dict[str, pa.Table] = field(default_factory=dict)
    totals: dict[str, tuple[int, Decimal | None]] = field(default_factory=dict)
    extracted_at: datetime | None = None  # wall clock, for metadata only (never in the files)


def empty_extract(tabla: str) -> pa.Table:
    """What the reader returns for a table without rows in the window (same schema, same Parquet bytes)."""
    return pa.table({name: pa.array([], typ) for name, typ in BRANCH_TABLES[tabla].items()})


def read_branch_day(reader: BranchReader, sucursal: str, zona: str, fecha: date, reconcile: bool = True) -> BranchDay:
    """Read the six tables for the window of `fecha`, then re-query the branch's own totals.

    One query first counts each table's rows in the window; only tables with rows are read (a quiet
    branch-day is two queries, not twelve). A row committed to an uncounted table before the totals are
    re-queried is a reconciliation difference, exactly like one committed between a read and the totals."""
    start, end = day_window(fecha)
    day = BranchDay(sucursal, fecha)
    counts = reader.window_counts(start, end)
    for tabla in TABLAS:
        rows = reader.extract(tabla, start, end) if counts[tabla] else empty_extract(tabla)
        day.tables[tabla] = add_lineage(rows, sucursal, zona, fecha)
    if reconcile:  # after the reads: a row committed in between shows up as a mismatch, never as a loss
        day.totals = reader.window_totals(start, end)
    day.extracted_at = datetime.now()
    return day


def validate(tabla: str, table: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Split rows into (valid, quarantine with `motivo`) with the table's pandera model."""
    schema = extract_schema(tabla)
    table = table.select(schema.names).cast(schema)
    df = table.to_pandas(types_mapper=pd.ArrowDtype)
    try:
        MODELS[tabla].validate(df, lazy=True)
        return table, pa.Table.from_batches([], extract_schema(tabla, quarantine=True))
    except pe.SchemaErrors as err:
        cases = err.failure_cases.dropna(subset=["index"])
        reasons: dict[int, list[str]] = {}
        for col, check, case, idx in zip(cases["column"], cases["check"], cases["failure_case"], cases["index"]):
            reasons.setdefault(int(idx), []).append(f"{col}: {check} (valor={case})")
        bad = sorted(reasons)
        if len(cases) != len(err.failure_cases):  # a table-level failure (wrong column/type): reject all rows
            whole = "; ".join(str(c) for c in err.failure_cases["check"].unique())
            bad, reasons = list(range(table.num_rows)), {i: [f"tabla: {whole}"] for i in range(table.num_rows)}
        mask = pa.array([i in reasons for i in range(table.num_rows)])
        quarantine = table.filter(mask).append_column(
            "motivo", pa.array(["; ".join(dict.fromkeys(reasons[i])) for i in bad], pa.string()))
        return table.filter(pc.invert(mask)), quarantine


def money_sum(table: pa.Table) -> Decimal:
    if "monto" not in table.column_names or table.num_rows == 0:
        return Decimal("0.00")
    value = pc.sum(table["monto"]).as_py()
    return Decimal("0.00") if value is None else Decimal(value).quantize(Decimal("0.01"))


def reconcile(tabla: str, valid: pa.Table, quarantine: pa.Table, source: tuple[int, Decimal | None]) -> str | None:
    """None when every source row is in the extract or the quarantine (count and SUM(monto)); else why not."""
    count, total = source
    got = valid.num_rows + quarantine.num_rows
    if got != count:
        return f"{tabla}: branch reports {count} rows, extract+quarantine hold {got}"
    if total is not None and money_sum(valid) + money_sum(quarantine) != total:
        return f"{tabla}: branch SUM(monto)={total}, extract+quarantine={money_sum(valid) + money_sum(quarantine)}"
    return None
