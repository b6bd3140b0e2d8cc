"""Readers of the source formats: bytes in, (Arrow table typed by the model, declared control totals) out.

Formats (registry `format`): `db` (SQLite snapshot with a `_control` table), `csv` (header, trailer line
`#CONTROL,filas=N,col=sum`), `fixed` (records 0 header / 1 detail / 9 trailer), `json` (`control` +
`registros`), `xlsx` (sheets `datos` and `control`). Every refusal names the file, the row and the column.
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import tempfile
import zipfile
from decimal import Decimal, InvalidOperation

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from podemos_assets.regulatorio.errors import SourceEncodingError, SourceRowError, SourceSchemaDrift
from podemos_assets.regulatorio.registry import Source

CONTROL_PREFIX = "#CONTROL"
FIX = "Ask the sender to re-send the file; the previous good extract of the day is kept."


def decode(data: bytes, source: Source, file: str) -> str:
    """Decode strictly; a Latin-1 file that is really UTF-8 (or has control bytes) is refused too."""
    enc = source.encoding.lower()
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        return _encoding_error(data, exc.start, file, f"byte 0x{data[exc.start]:02x} is not valid {enc}", source)
    if enc in ("latin-1", "latin1", "iso-8859-1"):
        bad = re.search(rb"[\xc2-\xf4][\x80-\xbf]|[\x80-\x9f]", data)  # UTF-8 sequences / C1 controls
        if bad:
            _encoding_error(data, bad.start(), file, "the bytes look like UTF-8 (or contain control characters), "
                            "not Latin-1", source)
    return text


def column_at(data: bytes, pos: int, source: Source | None) -> str | None:
    """The column a byte offset falls in: CSV by the commas before it on its line (named by the header),
    fixed width by the layout (character position); None when the format has no columns on a line."""
    line_start = data.rfind(b"\n", 0, pos) + 1
    if source is None or line_start == 0 and source.format == "csv":
        return None  # the header line itself
    if source.format == "csv":
        header = data[:data.find(b"\n")].decode("latin-1").split(",")
        index = data.count(b",", line_start, pos)
        return header[index] if index < len(header) else None
    if source.format == "fixed":
        # characters before the offset: bytes of a single-byte encoding, UTF-8 lead bytes otherwise
        chars = len(data[line_start:pos].decode("utf-8", errors="replace"))
        return next((c for c, (start, width) in source.layout.items() if start <= chars < start + width), None)
    return None


def _encoding_error(data: bytes, pos: int, file: str, problem: str, source: Source | None = None):
    row = data.count(b"\n", 0, pos) + 1
    column = column_at(data, pos, source)
    if column is None:
        line_start = data.rfind(b"\n", 0, pos) + 1
        column = f"byte {pos - line_start + 1} of the line"
    raise SourceEncodingError(file, row, column, problem, FIX)


def _control_from_pairs(pairs: dict[str, str], source: Source, file: str, row: int | None) -> dict:
    try:
        control = {"filas": int(pairs["filas"]), "sumas": {c: Decimal(pairs[c]) for c in source.control}}
    except (KeyError, ValueError, InvalidOperation) as exc:
        raise SourceRowError(file, row, "control", f"the control totals are incomplete or unreadable ({exc})", FIX) from None
    return control


def _check_header(names: list[str], expected: list[str], file: str, row: int | None = 1) -> None:
    if names == expected:
        return
    missing = [c for c in expected if c not in names]
    extra = [c for c in names if c not in expected]
    col = (missing or extra or [next(n for n, e in zip(names, expected) if n != e)])[0]
    raise SourceSchemaDrift(
        file, row, col,
        f"the columns changed: expected {expected}, got {names} (missing {missing}, unexpected {extra})",
        "Update fuentes.yaml / schemas.py if the sender changed its layout on purpose, else ask for a re-send.",
    )


def typed(columns: dict[str, pa.Array], schema: pa.Schema, file: str, row_offset: int) -> pa.Table:
    """Cast raw (mostly string) columns to the model's types; the first value that fails names its row."""
    arrays = []
    for field in schema:
        raw = columns[field.name]
        if raw.type == field.type:
            arrays.append(raw)
            continue
        try:
            arrays.append(pc.cast(raw, field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            for i, value in enumerate(raw.to_pylist()):
                try:
                    pc.cast(pa.array([value], raw.type), field.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raise SourceRowError(
                        file, i + row_offset, field.name, f"value {value!r} is not a valid {field.type}", FIX
                    ) from None
            raise
    return pa.Table.from_arrays(arrays, schema=schema)


def read_csv(data: bytes, source: Source, schema: pa.Schema, file: str) -> tuple[pa.Table, dict]:
    text = decode(data, source, file)
    body, _, last = text.rstrip("\n").rpartition("\n")
    if not last.startswith(CONTROL_PREFIX):
        raise SourceRowError(file, text.count("\n") + 1, None, f"the last line is not the {CONTROL_PREFIX} trailer "
                             "(file truncated?)", FIX)
    pairs = dict(p.split("=", 1) for p in last.split(",")[1:] if "=" in p)
    control = _control_from_pairs(pairs, source, file, body.count("\n") + 2)
    header = body.split("\n", 1)[0].split(",")
    _check_header(header, schema.names, file)
    try:
        table = pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in header}, strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        for i, line in enumerate(body.split("\n")[1:], start=2):
            if line.count(",") != len(header) - 1:
                # the row's text is not quoted: it may hold PII (names, CURP)
                raise SourceRowError(file, i, None, f"expected {len(header)} fields, got {line.count(',') + 1}",
                                     FIX) from None
        raise SourceRowError(file, None, None, f"unreadable CSV: {exc}", FIX) from None
    return typed({n: table[n].combine_chunks() for n in header}, schema, file, 2), control


def read_fixed(data: bytes, source: Source, schema: pa.Schema, file: str) -> tuple[pa.Table, dict]:
    text = decode(data, source, file)
    lines = text.rstrip("\n").split("\n")
    if not lines[-1].startswith("9"):
        raise SourceRowError(file, len(lines), None, "the last record is not the trailer (type 9): file truncated?", FIX)
    trailer = lines[-1]
    pairs = {"filas": trailer[1:11]}
    for i, col in enumerate(source.control):
        cents = trailer[11 + 18 * i: 29 + 18 * i]
        pairs[col] = f"{cents[:-2]}.{cents[-2:]}" if cents.strip().isdigit() else "?"
    control = _control_from_pairs(pairs, source, file, len(lines))
    width = max(start + w for start, w in source.layout.values())
    details = pa.array(lines[1:-1], pa.string())
    lengths = pc.utf8_length(details)
    bad = pc.indices_nonzero(pc.or_(pc.not_equal(lengths, width), pc.not_equal(pc.utf8_slice_codeunits(details, 0, 1), "1")))
    if len(bad):
        i = bad[0].as_py()
        n = lengths[i].as_py()
        col = next((c for c, (s, w) in source.layout.items() if s + w > n), None)
        raise SourceRowError(file, i + 2, col, f"record of {n} characters (expected {width}, type 1)", FIX)
    cols = {}
    for name, (start, w) in source.layout.items():
        raw = pc.utf8_trim_whitespace(pc.utf8_slice_codeunits(details, start, start + w))
        if pa.types.is_decimal(schema.field(name).type):  # amounts in cents, implied decimals
            raw = pc.binary_join_element_wise(
                pc.utf8_slice_codeunits(raw, 0, -2), pc.utf8_slice_codeunits(raw, -2, 1 << 30), "."
            )
        cols[name] = raw
    return typed(cols, schema, file, 2), control


def read_json(data: bytes, source: Source, schema: pa.Schema, file: str) -> tuple[pa.Table, dict]:
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        record, field = json_position(data, exc.start, schema.names)
        raise SourceEncodingError(file, record, field, "not valid UTF-8 (JSON must be UTF-8)", FIX) from None
    except json.JSONDecodeError as exc:
        record, field = json_position(data, len(exc.doc[:exc.pos].encode("utf-8")), schema.names)
        raise SourceRowError(file, record, field, f"broken JSON ({exc.msg}, text line {exc.lineno})", FIX) from None
    if not isinstance(doc, dict) or "registros" not in doc or "control" not in doc:
        raise SourceSchemaDrift(file, None, "registros", "expected an object with 'control' and 'registros'", FIX)
    c = doc["control"]
    control = _control_from_pairs({"filas": c.get("filas"), **(c.get("sumas") or {})}, source, file, None)
    expected = set(schema.names)
    for i, rec in enumerate(doc["registros"], start=1):
        if set(rec) != expected:
            col = sorted(set(rec) ^ expected)[0]
            raise SourceSchemaDrift(file, i, col, f"record {i} has fields {sorted(rec)}, expected {sorted(expected)}",
                                    FIX)
    cols = {n: pa.array([None if r[n] is None else str(r[n]) for r in doc["registros"]], pa.string())
            for n in schema.names}
    return typed(cols, schema, file, 1), control


def json_position(data: bytes, pos: int, names: list[str]) -> tuple[int | None, str | None]:
    """(record number, field) of a byte offset in a `registros` document: the record is counted by the
    objects opened in the list before it, the field is the last key written before it."""
    head = data[:pos]
    start = head.find(b'"registros"')
    if start < 0:
        return None, "control" if b'"control"' in head else None
    record = head.count(b"{", start)
    keys = re.findall(rb'"([A-Za-z_][A-Za-z0-9_]*)"\s*:', head[start:])
    field = next((k.decode() for k in reversed(keys) if k.decode() in names), None)
    return (record or None), field


def read_xlsx(data: bytes, source: Source, schema: pa.Schema, file: str) -> tuple[pa.Table, dict]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise SourceEncodingError(file, None, None, f"not a readable XLSX workbook ({exc})", FIX) from None
    for sheet in ("datos", "control"):
        if sheet not in wb.sheetnames:
            raise SourceSchemaDrift(file, None, f"sheet {sheet}", f"sheet {sheet!r} is missing (has {wb.sheetnames})", FIX)
    rows = list(wb["datos"].iter_rows(values_only=True))
    _check_header([str(h) for h in rows[0]] if rows else [], schema.names, file)
    pairs = {str(k): str(v) for k, v, *_ in wb["control"].iter_rows(values_only=True) if k is not None}
    control = _control_from_pairs(pairs, source, file, None)

    def text(v, col):  # numbers in Excel are binary floats: keep exactly what the cell shows, to the cent
        if isinstance(v, float) and pa.types.is_decimal(schema.field(col).type):
            return f"{Decimal(repr(v)):.2f}" if Decimal(repr(v)) == round(Decimal(repr(v)), 2) else repr(v)
        return None if v is None else str(v)

    cols = {n: pa.array([text(r[j], n) for r in rows[1:]], pa.string()) for j, n in enumerate(schema.names)}
    return typed(cols, schema, file, 2), control


def read_db(data: bytes, source: Source, schema: pa.Schema, file: str) -> tuple[pa.Table, dict]:
    """A SQLite snapshot of the source table (locally; in production the same SELECT runs on the DB)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "snapshot.sqlite")
        with open(path, "wb") as f:
            f.write(data)
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            names = [r[1] for r in con.execute(f"PRAGMA table_info({source.table})")]
        except sqlite3.DatabaseError as exc:
            raise SourceEncodingError(file, None, None, f"not a readable database snapshot ({exc})", FIX) from None
        try:
            if not names:
                raise SourceSchemaDrift(file, None, source.table, f"table {source.table!r} is missing", FIX)
            _check_header(names, schema.names, file, None)
            pairs = {k: v for k, v in con.execute("SELECT medida, valor FROM _control")}
            control = _control_from_pairs(pairs, source, file, None)
            cur = con.execute(f"SELECT {', '.join(names)} FROM {source.table} ORDER BY rowid")
            rows = cur.fetchall()
        except sqlite3.DatabaseError as exc:
            raise SourceRowError(file, None, None, f"unreadable table ({exc})", FIX) from None
        finally:
            con.close()
    cols = {n: pa.array([None if r[j] is None else str(r[j]) for r in rows], pa.string()) for j, n in enumerate(names)}
    return typed(cols, schema, file, 1), control


READERS = {"csv": read_csv, "fixed": read_fixed, "json": read_json, "xlsx": read_xlsx, "db": read_db}
