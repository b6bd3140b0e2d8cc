"""Branch extracts written exactly as the lake contract says (docs/architecture.md), from rows we make up.

Independent of the branch ETL's code: a row is a dict of the source table's columns in branch-local
time; `write_extract` adds the lineage columns and writes `raw/sucursales/{tabla}/fecha=/sucursal=/`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa

from podemos_assets.pagos.extracts import BAJAS_SCHEMA, INPUT_SCHEMAS
from podemos_assets.resources.lake import LakeResource

ZONES = {"suc_001": "America/Mexico_City", "suc_002": "America/Tijuana", "suc_003": "America/Cancun",
         "suc_170": "America/Cancun"}  # suc_001 and suc_170 as in the real registry (end-to-end tests)

# Full source columns (the branch ETL writes all of them; we read a subset).
EXTRA = {"transacciones": {}, "cuentas": {}, "calendario_pagos": {},
         "clientes": {"nombre": pa.string(), "curp": pa.string(), "rfc": pa.string(), "telefono": pa.string(),
                      "fecha_nacimiento": pa.date32(), "created_at": pa.timestamp("us")}}


def to_utc(local: datetime, zone: str) -> datetime:
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)  # fold=0, as the branch extractor does


def write_extract(lake: LakeResource, tabla: str, fecha: str, suc: str, rows: list[dict]) -> str:
    schema = INPUT_SCHEMAS[tabla]
    fields = [f for f in schema if f.name not in ("sucursal", "updated_at_utc", "extraccion")]
    fields += [pa.field(n, t) for n, t in EXTRA[tabla].items()]
    data = {f.name: [r.get(f.name) for r in rows] for f in fields}
    data["sucursal"] = [suc] * len(rows)
    data["updated_at_utc"] = [to_utc(r["updated_at"], ZONES[suc]) for r in rows]
    data["extraccion"] = [f"{fecha}|{suc}"] * len(rows)
    full = pa.schema([*fields, *[schema.field(n) for n in ("sucursal", "updated_at_utc", "extraccion")]])
    key = f"raw/sucursales/{tabla}/fecha={fecha}/sucursal={suc}/part-0.parquet"
    lake.write_parquet(key, pa.table(data, schema=full))
    return key


def write_bajas(lake: LakeResource, tabla: str, suc: str, fecha: str, ids: list[int]) -> str:
    key = f"raw/sucursales/_bajas/{tabla}/sucursal={suc}/fecha={fecha}/part-0.parquet"
    lake.write_parquet(key, pa.table({"tabla": [tabla] * len(ids), "id": ids, "sucursal": [suc] * len(ids),
                                      "fecha": [date.fromisoformat(fecha)] * len(ids)}, schema=BAJAS_SCHEMA))
    return key


def tx(id, cuenta, cliente, fecha: datetime, monto: str, updated_at: datetime | None = None, canal="ventanilla"):
    return {"id": id, "cuenta_id": cuenta, "cliente_id": cliente, "fecha": fecha, "monto": Decimal(monto),
            "canal": canal, "updated_at": updated_at or fecha}


def cuenta(id, updated_at: datetime, saldo="1000.00", estatus="ACTIVA", grupo=1):
    return {"id": id, "grupo_id": grupo, "monto": Decimal("5000.00"), "saldo": Decimal(saldo), "estatus": estatus,
            "fecha_desembolso": date(2026, 9, 1), "updated_at": updated_at}


def cliente(id, updated_at: datetime):
    return {"id": id, "updated_at": updated_at, "nombre": f"Cliente {id}", "curp": "XEXX010101MDFXXX09",
            "rfc": "XEXX010101000", "telefono": "5550000000", "fecha_nacimiento": date(1990, 1, 1),
            "created_at": updated_at}


def cuota(id, cuenta_id, num, vence: date, updated_at: datetime, monto="250.00", estatus="PENDIENTE"):
    return {"id": id, "cuenta_id": cuenta_id, "num_pago": num, "monto": Decimal(monto), "fecha_pago": vence,
            "estatus": estatus, "updated_at": updated_at}


def gid(source_id: int, suc: str) -> int:
    return source_id * 1000 + int(suc[4:])
