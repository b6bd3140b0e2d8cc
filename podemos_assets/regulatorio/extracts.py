"""Ingest one source for one day: read, validate (pandera), reconcile its control totals, then write.

The extract lands in the lake at `raw/regulatorio/{fuente}/fecha={D}/part-0.parquet` with `_control.json`
beside it (written last: its presence means the extract is complete). Nothing is written unless the
whole file passed, so a refused file never overwrites the previous good extract; the refusal is
recorded in `cuarentena/regulatorio/{fuente}/fecha={D}/{sha256}.json`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timezone
from decimal import Decimal

import pandas as pd
import pandera.pandas as pda
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from podemos_assets.gobierno.vocabulary import pii_columns
from podemos_assets.regulatorio.errors import (
    ControlTotalsMismatch,
    SourceFileRejected,
    SourceMissing,
    SourceRowError,
    SourceSchemaDrift,
)
from podemos_assets.regulatorio.readers import FIX, READERS
from podemos_assets.regulatorio.registry import Source
from podemos_assets.regulatorio.schemas import SOURCE_MODELS, arrow_schema

ROW_OFFSET = {"csv": 2, "fixed": 2, "xlsx": 2, "json": 1, "db": 1, "lake": 1}  # data row i -> file row


def extract_key(source: str, fecha: str, name: str = "part-0.parquet") -> str:
    return f"raw/regulatorio/{source}/fecha={fecha}/{name}"


@dataclass(frozen=True)
class Extract:
    source: str
    fecha: str
    table: pa.Table
    control: dict  # what the sender declared, what was read, file, sha256, arrival

    @property
    def rows(self) -> int:
        return self.table.num_rows


def mtime(resource, key: str) -> str | None:
    """Arrival time of a file (its modification time) as ISO UTC."""
    when = resource.modified(key)
    return None if when is None else when.isoformat(timespec="seconds")


def _read_lake(source: Source, fecha: str, lake, schema: pa.Schema) -> tuple[pa.Table, dict, bytes, str | None]:
    """A source produced by another capability: the Parquet files of its partition in the lake."""
    keys = [k for k in lake.list(source.path(fecha)) if k.endswith(".parquet")]
    if not keys:
        raise SourceMissing(f"{lake.uri(source.path(fecha))}: no Parquet files for {fecha} yet")
    tables, digest, footer_rows = [], hashlib.sha256(), 0
    for key in keys:
        data = lake.read_bytes(key)
        digest.update(key.encode() + hashlib.sha256(data).digest())
        pf = pq.ParquetFile(pa.BufferReader(data))
        footer_rows += pf.metadata.num_rows
        missing = [n for n in schema.names if n not in pf.schema_arrow.names]
        if missing:
            raise SourceSchemaDrift(lake.uri(key), None, missing[0], f"columns {missing} are missing "
                                    f"(has {pf.schema_arrow.names})", "The producing capability changed its contract.")
        t = pf.read(columns=schema.names)
        try:
            tables.append(t.cast(schema))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise SourceSchemaDrift(lake.uri(key), None, None, f"types do not match the contract: {exc}", FIX) from None
    table = pa.concat_tables(tables)
    # No sender declares totals here: the row count is the producer's Parquet footers, sums are recomputed.
    control = {"filas": footer_rows, "sumas": {c: pc.sum(table[c]).as_py() or Decimal("0.00") for c in source.control}}
    return table, control, digest.digest(), mtime(lake, keys[-1])


def validate(table: pa.Table, model, file: str, row_offset: int) -> None:
    """Blocking pandera validation; the first failure names row and column, the count says how many."""
    try:
        model.validate(table.to_pandas(types_mapper=pd.ArrowDtype), lazy=True)
    except pda.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        first = cases.iloc[0]
        index = first["index"]
        row = None if index is None or pd.isna(index) else int(index) + row_offset
        value = "*** (PII, masked)" if first["column"] in pii_columns(model) else repr(first["failure_case"])
        raise SourceRowError(file, row, first["column"], f"value {value} fails {first['check']} "
                             f"({len(cases)} failing value(s) in the file)", FIX) from None


def reconcile_control(table: pa.Table, declared: dict, source: Source, file: str) -> dict:
    """Declared control totals vs what was read, in Decimal, to the cent. Returns what was read."""
    read = {"filas": table.num_rows, "sumas": {c: pc.sum(table[c]).as_py() or Decimal("0.00") for c in source.control}}
    if read["filas"] != declared["filas"]:
        raise ControlTotalsMismatch(file, None, "filas", f"declared {declared['filas']} rows, read {read['filas']} "
                                    f"(difference {read['filas'] - declared['filas']})", FIX)
    for col in source.control:
        if read["sumas"][col] != declared["sumas"][col]:
            diff = read["sumas"][col] - declared["sumas"][col]
            raise ControlTotalsMismatch(file, None, col, f"declared sum {declared['sumas'][col]}, read "
                                        f"{read['sumas'][col]} (difference {diff})", FIX)
    return read


def ingest(source: Source, fecha: str, sources, lake) -> Extract:
    """Read, validate and store one source-day; raises SourceMissing or a SourceFileRejected subclass."""
    schema = arrow_schema(SOURCE_MODELS[source.schema])
    if source.format == "lake":
        file = lake.uri(source.path(fecha))
        table, declared, sha, arrival = _read_lake(source, fecha, lake, schema)
        sha = sha.hex()
    else:
        key = source.path(fecha)
        file = sources.uri(key)
        if not sources.exists(key):
            raise SourceMissing(f"{file} has not arrived")
        data = sources.read_bytes(key)
        sha, arrival = hashlib.sha256(data).hexdigest(), mtime(sources, key)
        try:
            table, declared = READERS[source.format](data, source, schema, file)
        except SourceFileRejected as exc:
            _quarantine(lake, source, fecha, sha, file, exc)
            raise
    try:
        validate(table, SOURCE_MODELS[source.schema], file, ROW_OFFSET[source.format])
        read = reconcile_control(table, declared, source, file)
    except SourceFileRejected as exc:
        _quarantine(lake, source, fecha, sha, file, exc)
        raise
    control = {
        "fuente": source.name, "fecha": fecha, "archivo": file, "sha256": sha, "llegada": arrival,
        "declarado": _jsonable(declared), "leido": _jsonable(read),
    }
    lake.write_parquet(extract_key(source.name, fecha), table)
    lake.write_bytes(extract_key(source.name, fecha, "_control.json"), _dumps(control))
    return Extract(source.name, fecha, table, control)


def load_extract(source: str, fecha: str, lake) -> Extract | None:
    """The last good extract of a source-day, or None when there is none."""
    if not lake.exists(extract_key(source, fecha, "_control.json")):
        return None
    control = json.loads(lake.read_bytes(extract_key(source, fecha, "_control.json")))
    return Extract(source, fecha, lake.read_parquet(extract_key(source, fecha)), control)


def _quarantine(lake, source: Source, fecha: str, sha: str, file: str, exc: Exception) -> None:
    record = {"fuente": source.name, "fecha": fecha, "archivo": file, "sha256": sha, "motivo": str(exc),
              "tipo": type(exc).__name__}
    lake.write_bytes(f"cuarentena/regulatorio/{source.name}/fecha={fecha}/{sha}.json", _dumps(record))


def _jsonable(control: dict) -> dict:
    return {"filas": control["filas"], "sumas": {k: f"{v:.2f}" for k, v in control["sumas"].items()}}


def _dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")


