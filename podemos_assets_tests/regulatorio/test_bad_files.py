"""Refused files, one family per format: the message names file, row and column; nothing good is lost."""

from __future__ import annotations

import io
import json
import sqlite3
import tempfile
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from podemos_assets.demo import regulatorio as gen
from podemos_assets.regulatorio.errors import (
    ControlTotalsMismatch,
    SourceEncodingError,
    SourceRowError,
    SourceSchemaDrift,
)
from podemos_assets.regulatorio.extracts import extract_key, extract_versions, ingest, load_extract
from podemos_assets.regulatorio.registry import load_sources

FECHA = "2026-10-07"
NOW = datetime(2026, 10, 8, 7, 0, tzinfo=UTC)


def _lines(data: bytes, i: int, fn) -> bytes:
    lines = data.split(b"\n")
    lines[i] = fn(lines[i])
    return b"\n".join(lines)


def _in_records(data: bytes, old: bytes, new: bytes, nth: int) -> bytes:
    """Replace the nth occurrence of `old` inside the `registros` list (the control block comes first)."""
    i = data.index(b'"registros"')
    for _ in range(nth):
        i = data.index(old, i) + 1
    return data[:i - 1] + new + data[i - 1 + len(old):]


def _json(data: bytes, fn) -> bytes:
    doc = json.loads(data)
    fn(doc)
    return json.dumps(doc).encode()


def _sqlite(data: bytes, sql: str) -> bytes:
    with tempfile.NamedTemporaryFile(suffix=".sqlite") as f:
        f.write(data)
        f.flush()
        con = sqlite3.connect(f.name)
        con.executescript(sql)
        con.commit()
        con.close()
        return open(f.name, "rb").read()


def _xlsx_header(data: bytes) -> bytes:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data))
    wb["datos"]["B1"] = "institucion"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


CASES = [
    # (source, mutation, error type, row, column)
    ("contabilidad_gl", lambda d: _lines(d, 3, lambda l: l.replace(b"Bancos", "Bancos ñ".encode())
                                         if b"Bancos" in l else l + "é".encode()),
     SourceEncodingError, 4, ("descripcion", "haber")),
    ("contabilidad_gl", lambda d: _lines(d, 0, lambda l: l.replace(b"haber", b"abono")), SourceSchemaDrift, 1, "haber"),
    ("contabilidad_gl", lambda d: _lines(d, 5, lambda l: l + b",99"), SourceRowError, 6, None),
    ("contabilidad_gl", lambda d: _lines(d, 7, lambda l: l.rsplit(b",", 1)[0] + b",12.3x"), SourceRowError, 8, "haber"),
    ("corresponsales", lambda d: _lines(d, 2, lambda l: l + b"\xff"), SourceEncodingError, 3, "monto"),
    ("buro_credito", lambda d: _lines(d, 3, lambda l: l[:12] + "é".encode() + l[14:]), SourceEncodingError, 4,
     "score"),
    ("corresponsales", lambda d: d.replace(b"#CONTROL,filas=", b"#CONTROL,filas=1"), ControlTotalsMismatch, None, "filas"),
    ("spei", lambda d: _lines(d, 4, lambda l: l[:-9]), SourceRowError, 5, "monto"),
    ("spei", lambda d: _lines(d, -2, lambda l: l[:-1] + b"9"), ControlTotalsMismatch, None, "monto"),
    ("buro_credito", lambda d: _lines(d, 3, lambda l: l[:11] + b"999" + l[14:]), SourceRowError, 4, "score"),
    ("pld_alertas", lambda d: _in_records(d, b'"tipo": "', b'"tipo": "\n', 2), SourceRowError, 2, "tipo"),
    ("pld_alertas", lambda d: _in_records(d, b'"monto": "', b'"monto": "\xff', 3), SourceEncodingError, 3, "monto"),
    ("pld_alertas", lambda d: _json(d, lambda doc: doc["registros"][2].update(importe=doc["registros"][2].pop("monto"))),
     SourceSchemaDrift, 3, "importe"),
    ("quejas_condusef", lambda d: _json(d, lambda doc: doc["registros"][0].update(estatus="EN_PROCESO")),
     SourceRowError, 1, "estatus"),
    ("tesoreria", lambda d: d[:200], SourceEncodingError, None, None),
    ("tesoreria", _xlsx_header, SourceSchemaDrift, 1, "banco"),
    ("core_creditos", lambda d: _sqlite(d, "ALTER TABLE cartera RENAME COLUMN saldo TO saldo_insoluto;"),
     SourceSchemaDrift, None, "saldo"),
    ("core_creditos", lambda d: _sqlite(d, "UPDATE cartera SET saldo = '-5.00' WHERE rowid = 3;"), SourceRowError, 3, "saldo"),
    ("cobranza", lambda d: b"this is not a database" + d[22:], SourceEncodingError, None, None),
]


@pytest.mark.parametrize("name,mutate,error,row,column", CASES, ids=[f"{c[0]}-{c[2].__name__}-{i}" for i, c in enumerate(CASES)])
def test_bad_file_is_refused_naming_file_row_column_and_good_extract_kept(resources, name, mutate, error, row, column):
    sources, lake = resources["sources"], resources["lake"]
    source = load_sources()[name]
    good = gen.source_bytes(name, FECHA, scale=0.05)
    gen.write_source(sources, name, FECHA, good, NOW)
    ingest(source, FECHA, sources, lake)
    kept = lake.read_bytes(extract_key(name, FECHA, "_control.json"))

    gen.write_source(sources, name, FECHA, mutate(good), NOW)  # the sender re-sends a broken file
    with pytest.raises(error) as info:
        ingest(source, FECHA, sources, lake)
    exc, message = info.value, str(info.value)
    assert source.file in message and source.file in exc.file
    assert exc.row == row, message
    if column:
        columns = column if isinstance(column, tuple) else (column,)
        assert exc.column in columns, message  # a column of the file, never a byte offset
        assert exc.column in message
    assert "re-send" in message or "Update fuentes.yaml" in message  # says what to do
    assert lake.read_bytes(extract_key(name, FECHA, "_control.json")) == kept  # the good version is still current
    assert extract_versions(name, FECHA, lake) == [1]
    quarantined = list(lake.list(f"cuarentena/regulatorio/{name}/fecha={FECHA}/"))
    assert len(quarantined) == 1
    record = json.loads(lake.read_bytes(quarantined[0]))
    assert record["tipo"] == type(exc).__name__
    # the officer's text: Spanish, the file's name (no internal path), row and column
    detalle = record["detalle"]
    assert detalle.startswith(source.file) and "/" not in detalle and "://" not in detalle
    assert (row is None or f"fila {row}" in detalle) and (not column or f"«{exc.column}»" in detalle)
    assert "re-send" not in detalle and "reenvío" in detalle


def test_lake_source_with_a_changed_contract_is_refused(resources):
    lake = resources["lake"]
    gen.write_lake_sources(lake, FECHA, scale=0.05, only=("app_campo",))
    key = f"curated/campo/pagos/fecha_evento={FECHA}/part-0.parquet"
    table = pq.read_table(io.BytesIO(lake.read_bytes(key))).rename_columns(["event_id", "importe"])
    lake.write_parquet(key, table)
    with pytest.raises(SourceSchemaDrift, match="monto") as info:
        ingest(load_sources()["app_campo"], FECHA, resources["sources"], lake)
    assert key in info.value.file


def test_a_missing_control_trailer_is_a_truncated_file(resources):
    sources = resources["sources"]
    good = gen.source_bytes("seguros", FECHA, scale=0.05)
    gen.write_source(sources, "seguros", FECHA, good.rsplit(b"#CONTROL", 1)[0], NOW)
    with pytest.raises(SourceRowError, match="trailer"):
        ingest(load_sources()["seguros"], FECHA, sources, resources["lake"])
    assert load_extract("seguros", FECHA, resources["lake"]) is None


def test_every_format_round_trips_its_declared_control_totals(resources):
    """The generator's files in every real format are read back to exactly the sender's totals."""
    sources, lake = resources["sources"], resources["lake"]
    gen.write_lake_sources(lake, FECHA, scale=0.05)
    for name, source in load_sources().items():
        if source.format == "warehouse":
            continue  # read from pagos_historicos: test_warehouse_payments.py
        if source.format != "lake":
            gen.write_source(sources, name, FECHA, gen.source_bytes(name, FECHA, scale=0.05), NOW)
        extract = ingest(source, FECHA, sources, lake)
        table = gen.expected_table(name, FECHA, scale=0.05)
        assert extract.rows == table.num_rows
        assert extract.control["declarado"] == extract.control["leido"]
        if source.format != "lake":
            assert extract.table.equals(table.cast(extract.table.schema)), name
        assert isinstance(extract.table.schema, pa.Schema)


def test_refusal_messages_never_quote_pii(resources):
    """A CURP that fails the schema is named by row and column, its value masked."""
    sources = resources["sources"]
    good = gen.source_bytes("clientes_kyc", FECHA, scale=0.05)
    curp = "GOMA" + "1" * 13  # 17 characters: fails the length check
    bad = _sqlite(good, f"UPDATE clientes SET curp = '{curp}' WHERE rowid = 4;")
    gen.write_source(sources, "clientes_kyc", FECHA, bad, NOW)
    with pytest.raises(SourceRowError) as info:
        ingest(load_sources()["clientes_kyc"], FECHA, sources, resources["lake"])
    assert info.value.row == 4 and info.value.column == "curp"
    assert curp not in str(info.value) and "masked" in str(info.value)
