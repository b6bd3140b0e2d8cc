"""Reading one day of branch extracts (and tombstones) from the lake, per the contract in docs/architecture.md."""

from __future__ import annotations

import re

import pyarrow as pa

from podemos_assets.contracts import lake as paths
from podemos_assets.contracts.sucursales import BAJAS_SCHEMA, BRANCH_TABLES, LINEAGE
from podemos_assets.resources.lake import LakeResource

# The columns this capability reads from each branch table (the extract's other columns are not read);
# their types are the branch contract's.
READ_COLUMNS = {
    "transacciones": ("id", "cuenta_id", "cliente_id", "fecha", "monto", "canal", "updated_at"),
    "cuentas": ("id", "grupo_id", "monto", "saldo", "estatus", "fecha_desembolso", "updated_at"),
    "clientes": ("id", "updated_at"),
    "calendario_pagos": ("id", "cuenta_id", "num_pago", "monto", "fecha_pago", "estatus", "updated_at"),
}
INPUT_SCHEMAS: dict[str, pa.Schema] = {
    t: pa.schema([(c, BRANCH_TABLES[t][c]) for c in cols] + list(LINEAGE.items())) for t, cols in READ_COLUMNS.items()
}
BRANCH_CODE = re.compile(r"^suc_(\d{1,3})$")  # the branch number becomes the last 3 digits of global ids


class ExtractContractError(ValueError):
    """A branch extract in the lake breaks the contract (missing column, wrong type, wrong branch code).

    The message names the file and the column; fix the extract (re-materialize the branch partition)
    rather than the warehouse.
    """


def _conform(table: pa.Table, schema: pa.Schema, uri: str) -> pa.Table:
    columns = []
    for field in schema:
        if field.name not in table.column_names:
            raise ExtractContractError(
                f"{uri}: column {field.name!r} is missing (expected {field.type}); re-run the branch extract "
                "partition so it follows docs/architecture.md."
            )
        col = table[field.name]
        try:
            columns.append(col.cast(field.type) if col.type != field.type else col)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ExtractContractError(
                f"{uri}: column {field.name!r} has type {col.type}, expected {field.type} ({exc})."
            ) from None
    return pa.Table.from_arrays(columns, schema=schema)


def _check_branch(table: pa.Table, key: str, uri: str) -> None:
    path_branch = next((p.split("=", 1)[1] for p in key.split("/") if p.startswith("sucursal=")), None)
    for value in table["sucursal"].unique().to_pylist():
        if value is None or not BRANCH_CODE.match(value) or (path_branch and value != path_branch):
            raise ExtractContractError(
                f"{uri}: sucursal {value!r} does not match the file's partition {path_branch!r} or the "
                "branch code format suc_NNN; fix the branch registry or the extract."
            )


def read_day(lake: LakeResource, fecha: str) -> tuple[dict[str, pa.Table], dict[str, int]]:
    """The extracts of local day `fecha` for every branch, and the tombstones detected that day.

    Returns ({"transacciones": ..., ..., "bajas": ...}, {relation: files read}).
    """
    out, files = {}, {}
    for tabla, schema in INPUT_SCHEMAS.items():
        keys = [k for k in lake.list(paths.branch_day_prefix(tabla, fecha)) if k.endswith(".parquet")]
        parts = []
        for key in keys:
            part = _conform(lake.read_parquet(key), schema, lake.uri(key))
            _check_branch(part, key, lake.uri(key))
            parts.append(part)
        out[tabla] = pa.concat_tables(parts) if parts else schema.empty_table()
        files[tabla] = len(keys)
    bajas = []
    for tabla in INPUT_SCHEMAS:
        for key in lake.list(paths.tombstones_prefix(tabla)):
            if f"/fecha={fecha}/" in key and key.endswith(".parquet"):
                part = _conform(lake.read_parquet(key), BAJAS_SCHEMA, lake.uri(key))
                _check_branch(part, key, lake.uri(key))
                bajas.append(part)
    out["bajas"] = pa.concat_tables(bajas) if bajas else BAJAS_SCHEMA.empty_table()
    files["bajas"] = len(bajas)
    return out, files
