"""Scanning analyst-facing outputs for PII: warehouse relations (in DuckDB) and report files (in a lake).

Only matches leave this module, each with a masked sample; raw values are never returned or logged.
"""

from __future__ import annotations

import io
import posixpath

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from podemos_assets.gobierno.pii import ANY_PII, MASK, Finding, scan_values

MAX_VALUES = 10_000  # matching values inspected per column: enough to classify, bounded in time
TEXT_SUFFIXES = (".csv", ".txt", ".json", ".ndjson", ".jsonl", ".xml", ".dat", ".md", ".html")


def _duckdb_relation(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """The quoted relation name DuckDB knows for Dagster's table name, or None if it does not exist."""
    parts = table.split(".")
    for n in range(len(parts), 0, -1):
        candidate = parts[-n:]
        name = ".".join(f'"{p}"' for p in candidate)
        try:
            con.execute(f"SELECT * FROM {name} LIMIT 0")
            return name
        except duckdb.Error:
            continue
    return None


UNMASKED = "pii_sin_enmascarar"  # a column classified pii holds values other than the mask / null


def scan_relation(
    con: duckdb.DuckDBPyConnection, asset: str, table: str, pii_columns: list[str] = ()
) -> tuple[list[Finding], bool]:
    """Findings in a warehouse relation: PII patterns in every text column, and any column the
    classification marks `pii` that is not masked (names and birth dates match no pattern)."""
    relation = _duckdb_relation(con, table)
    if relation is None:
        return [], False
    rel = con.sql(f"SELECT * FROM {relation}")
    text_columns = [c for c, t in zip(rel.columns, rel.types) if str(t).upper().startswith("VARCHAR")]
    findings: list[Finding] = []
    for col in (c for c in pii_columns if c in rel.columns):
        n = con.execute(
            f"SELECT count(*) FROM {relation} WHERE \"{col}\" IS NOT NULL AND CAST(\"{col}\" AS VARCHAR) <> ?", [MASK]
        ).fetchone()[0]
        if n:
            findings.append(Finding(asset, table, col, UNMASKED, n, MASK))
    for col in text_columns:
        rows = con.execute(
            f'SELECT DISTINCT "{col}" FROM {relation} WHERE regexp_matches("{col}", ?) LIMIT {MAX_VALUES}', [ANY_PII]
        ).fetchall()
        findings += scan_values(asset, table, col, (r[0] for r in rows))
    return findings, True


def _scan_parquet(asset: str, key: str, data: bytes) -> list[Finding]:
    table = pq.read_table(io.BytesIO(data))
    findings: list[Finding] = []
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or pa.types.is_dictionary(col.type):
            findings += scan_values(asset, key, name, col.to_pylist())
    return findings


def scan_file(asset: str, key: str, data: bytes) -> list[Finding]:
    """Findings in one file: Parquet per column, text formats per line, other formats as raw text."""
    if key.endswith(".parquet"):
        return _scan_parquet(asset, key, data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # regulators' CSVs are often Latin-1
    if not key.endswith(TEXT_SUFFIXES) and "\x00" in text:
        return []  # binary (xlsx, zip): not readable by an analyst's text tools; listed as skipped upstream
    return scan_values(asset, key, "-", text.splitlines())


MAX_FILES = 400  # per prefix and run: Hive-style keys sort by date, so these are the newest partitions


def scan_files(lake, asset: str, prefix: str, max_files: int = MAX_FILES) -> tuple[list[Finding], int, int]:
    """Findings in the newest `max_files` files under `prefix`; (findings, files scanned, files present).

    A daily scan bounded this way keeps its cost flat as history grows; older files were scanned
    on the days they were new.
    """
    keys = [k for k in lake.list(prefix) if not posixpath.basename(k).startswith(".")]
    findings: list[Finding] = []
    for key in keys[-max_files:]:
        findings += scan_file(asset, key, lake.read_bytes(key))
    return findings, min(len(keys), max_files), len(keys)
