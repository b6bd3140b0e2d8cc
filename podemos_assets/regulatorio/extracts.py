"""Ingest one source for one day: read, validate (pandera), reconcile its control totals, then keep a version.

Every accepted content is a new version of the source-day, never overwritten:
`raw/regulatorio/{fuente}/fecha={D}/v{N}/part-0.parquet` + `v{N}/_control.json` (its arrival time, the
sha256 it came from), then `fecha={D}/_control.json`, the pointer to the current version (written last:
its presence means the day has a good extract). A content already current makes no version and keeps
its first arrival time. A refused file writes nothing there, so the previous good version stays; the
refusal is recorded once per content in `cuarentena/regulatorio/{fuente}/fecha={D}/{sha256}.json`.

Sources: files in the drop zone (sha256 of the bytes), Parquet of another capability in the lake (sha256
of each file), or the payments warehouse (`format: warehouse`: `pagos_historicos` by `fecha_pago`;
sha256 of the rows read, plus a cheap fingerprint the arrival sensor compares without reading rows).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pandas as pd
import pandera.pandas as pda
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from podemos_assets.contracts import arrow_schema
from podemos_assets.contracts import lake as paths
from podemos_assets.contracts.vocabulary import pii_columns
from podemos_assets.regulatorio.errors import (
    ControlTotalsMismatch,
    SourceFileRejected,
    SourceMissing,
    SourceRowError,
    SourceSchemaDrift,
)
from podemos_assets.regulatorio.readers import FIX, READERS
from podemos_assets.regulatorio.registry import Source
from podemos_assets.regulatorio.schemas import SOURCE_MODELS
from podemos_assets.resources import WarehouseResource

ROW_OFFSET = {"csv": 2, "fixed": 2, "xlsx": 2, "json": 1, "db": 1, "lake": 1, "warehouse": 1}  # data row i -> file row


def extract_key(source: str, fecha: str, name: str = "part-0.parquet", version: int | None = None) -> str:
    """Key of a file of a source-day; `version` set: inside that version's folder (`_control.json` without
    a version is the pointer to the current one)."""
    return paths.regulatory_day_prefix(source, fecha) + (f"v{version}/" if version else "") + name


_VERSION = re.compile(r"/v(\d+)/_control\.json$")


def extract_versions(source: str, fecha: str, lake) -> list[int]:
    """The kept versions of a source-day (a version exists once its `_control.json` does)."""
    keys = lake.list(paths.regulatory_day_prefix(source, fecha))
    return sorted(int(m.group(1)) for k in keys if (m := _VERSION.search(k)))


def read_extract_version(source: str, fecha: str, version: int, lake) -> Extract:
    control = json.loads(lake.read_bytes(extract_key(source, fecha, "_control.json", version)))
    return Extract(source, fecha, lake.read_parquet(extract_key(source, fecha, version=version)), control)


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


# The warehouse source: the payments as the warehouse holds them (latest version, no quarantined or
# deleted payment), by the branch-local payment date `fecha_pago`; canal from the JSON of other attributes.
# The engine's own SQL (JSON access, epoch microseconds) comes from the warehouse resource.
def warehouse_rows_sql(warehouse: WarehouseResource, fecha: str) -> str:
    canal = warehouse.json_text("otros_datos", "canal")
    return (f"SELECT id_pago AS id, id_prestamo AS cuenta_id, monto, coalesce({canal}, '') AS canal, "
            f"sucursal FROM pagos_historicos WHERE fecha_pago = DATE '{fecha}' ORDER BY id_pago")


def warehouse_fingerprint_sql(warehouse: WarehouseResource, where: str) -> str:
    """One GROUP BY over the table: per payment date, a fingerprint that changes with any insert, update
    (a new winning version has a later updated_at) or delete. Cheap: no row leaves the warehouse."""
    return (f"SELECT CAST(fecha_pago AS VARCHAR), count(*), CAST(sum(monto) AS VARCHAR), CAST(sum(id_pago) AS VARCHAR), "
            f"CAST(sum({warehouse.epoch_micros('updated_at_utc')}) AS VARCHAR) FROM pagos_historicos WHERE {where} "
            "GROUP BY 1")


def fingerprints(warehouse: WarehouseResource, since: str) -> dict[str, str]:
    """fecha_pago -> fingerprint, for every payment date since `since` ({} while the table does not exist)."""
    try:
        rows = warehouse.fetch_all(warehouse_fingerprint_sql(warehouse, f"fecha_pago >= DATE '{since}'"))
    except Exception as exc:  # the table is created by the first pagos merge
        if "pagos_historicos" in str(exc) or "does not exist" in str(exc):
            return {}
        raise
    return {r[0]: "|".join(str(v) for v in r[1:]) for r in rows}


def _read_warehouse(source: Source, fecha: str, warehouse: WarehouseResource | None,
                    schema: pa.Schema) -> tuple[pa.Table, dict, str, str]:
    if warehouse is None:
        raise SourceMissing(f"{source.file}: no warehouse resource to read {fecha} from")
    if not warehouse.exists():
        raise SourceMissing(f"{source.file}: the warehouse does not exist yet")
    try:  # rows and fingerprint from one snapshot
        table, fp = warehouse.read_tables(warehouse_rows_sql(warehouse, fecha),
                                          warehouse_fingerprint_sql(warehouse, f"fecha_pago = DATE '{fecha}'"))
    except Exception as exc:
        if "pagos_historicos" in str(exc):
            raise SourceMissing(f"{source.file}: the table does not exist yet") from None
        raise
    try:
        table = table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError) as exc:
        raise SourceSchemaDrift(source.file, None, None, f"types do not match the contract: {exc}", FIX) from None
    control = {"filas": table.num_rows, "sumas": {c: pc.sum(table[c]).as_py() or Decimal("0.00") for c in source.control}}
    huella = "|".join(str(column[0].as_py()) for column in fp.columns[1:]) if fp.num_rows else "vacio"
    return table, control, content_sha(table), huella


def content_sha(table: pa.Table) -> str:
    """sha256 of a table's rows (Arrow IPC stream of its columns: same rows, same order, same digest)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema.remove_metadata()) as writer:
        writer.write_table(table.replace_schema_metadata(None).combine_chunks())
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


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


def _now_iso(now: datetime | None) -> str | None:
    return None if now is None else now.isoformat(timespec="seconds")


def source_sha(source: Source, fecha: str, sources, lake) -> str | None:
    """The sha256 the ingestion of this source-day would record now (None: nothing there). File sources only
    hash bytes; lake sources hash each Parquet file. Warehouse sources are compared by `fingerprints`."""
    if source.format == "lake":
        keys = sorted(k for k in lake.list(source.path(fecha)) if k.endswith(".parquet"))
        if not keys:
            return None
        digest = hashlib.sha256()
        for key in keys:
            digest.update(key.encode() + hashlib.sha256(lake.read_bytes(key)).digest())
        return digest.hexdigest()
    key = source.path(fecha)
    return hashlib.sha256(sources.read_bytes(key)).hexdigest() if sources.exists(key) else None


def ingest(source: Source, fecha: str, sources, lake, now: datetime | None = None, warehouse=None) -> Extract:
    """Read, validate and keep one source-day as a new version; raises SourceMissing or a SourceFileRejected
    subclass. The content already current: nothing is written (its arrival time stays the first one)."""
    schema = arrow_schema(SOURCE_MODELS[source.schema], nullability=False)
    huella = None
    if source.format == "warehouse":
        file = f"{source.file} (fecha_pago {fecha})"
        table, declared, sha, huella = _read_warehouse(source, fecha, warehouse, schema)
        arrival = _now_iso(now)
    elif source.format == "lake":
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
            _quarantine(lake, source, fecha, sha, file, exc, arrival, now)
            raise
    current = load_extract(source.name, fecha, lake)
    if current is not None and current.control["sha256"] == sha:
        if huella is not None and current.control.get("huella") != huella:  # same rows, new fingerprint
            control = {**current.control, "huella": huella}
            lake.write_bytes(extract_key(source.name, fecha, "_control.json", control["version"]), _dumps(control))
            lake.write_bytes(extract_key(source.name, fecha, "_control.json"), _dumps(control))
            return Extract(source.name, fecha, current.table, control)
        return current
    try:
        validate(table, SOURCE_MODELS[source.schema], file, ROW_OFFSET[source.format])
        read = reconcile_control(table, declared, source, file)
    except SourceFileRejected as exc:
        _quarantine(lake, source, fecha, sha, file, exc, arrival, now)
        raise
    version = (extract_versions(source.name, fecha, lake) or [0])[-1] + 1
    control = {
        "fuente": source.name, "fecha": fecha, "version": version, "archivo": file, "sha256": sha,
        "llegada": arrival, "ingerido_en": _now_iso(now), "declarado": _jsonable(declared), "leido": _jsonable(read),
        "parquet": extract_key(source.name, fecha, version=version),
        **({"huella": huella} if huella is not None else {}),
    }
    lake.write_parquet(control["parquet"], table)
    if not lake.create_bytes(extract_key(source.name, fecha, "_control.json", version), _dumps(control)):
        raise FileExistsError(f"{lake.uri(extract_key(source.name, fecha, version=version))} exists: two ingestions "
                              "of the same source-day at once; versions are never overwritten")
    lake.write_bytes(extract_key(source.name, fecha, "_control.json"), _dumps(control))  # the pointer, last
    return Extract(source.name, fecha, table, control)


def load_extract(source: str, fecha: str, lake) -> Extract | None:
    """The current good extract of a source-day, or None when there is none."""
    if not lake.exists(extract_key(source, fecha, "_control.json")):
        return None
    control = json.loads(lake.read_bytes(extract_key(source, fecha, "_control.json")))
    return Extract(source, fecha, lake.read_parquet(control.get("parquet") or extract_key(source, fecha)), control)


def refusals(source: str, fecha: str, lake) -> list[dict]:
    """Every refused content of a source-day (one record per sha256), oldest arrival first."""
    records = [json.loads(lake.read_bytes(k)) for k in lake.list(paths.regulatory_refusals_prefix(source, fecha))
               if k.endswith(".json")]
    return sorted(records, key=lambda r: (r.get("llegada") or "", r["sha256"]))


def _quarantine(lake, source: Source, fecha: str, sha: str, file: str, exc: SourceFileRejected,
                arrival: str | None, now: datetime | None) -> None:
    """Record a refusal once per content: a re-drop of the same broken file keeps its first arrival."""
    record = {"fuente": source.name, "fecha": fecha, "archivo": file, "sha256": sha, "motivo": str(exc),
              "tipo": type(exc).__name__, "detalle": exc.spanish(), "fila": exc.row, "columna": exc.column,
              "llegada": arrival, "rechazado_en": _now_iso(now)}
    lake.create_bytes(f"{paths.regulatory_refusals_prefix(source.name, fecha)}{sha}.json", _dumps(record))


def _jsonable(control: dict) -> dict:
    return {"filas": control["filas"], "sumas": {k: f"{v:.2f}" for k, v in control["sumas"].items()}}


def _dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")


