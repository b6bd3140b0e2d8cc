"""Generated branch-extract lakes (hypothesis) for comparing the Spark job with the DuckDB path.

The strategy aims at the rules' edges: few ids (many versions per payment), tied `updated_at`,
local times inside DST overlaps and gaps of the border zones, a branch missing from the registry,
unknown loans and clients, tombstones before and after a version, odd `canal` text.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa
from hypothesis import strategies as st

from podemos_assets.resources.lake import LakeResource

# suc_005 writes extracts but is not in the registry (its payments go to quarantine).
BRANCH_ZONES = {
    "suc_001": "America/Tijuana",  # US DST rules: 2026-03-08 and 2026-11-01
    "suc_002": "America/Mexico_City",
    "suc_003": "America/Matamoros",
    "suc_004": "America/Hermosillo",
}
BRANCHES = (*BRANCH_ZONES, "suc_005")
DAYS = (date(2026, 3, 7), date(2026, 3, 8), date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2))
# Wall-clock times that fall in the spring gap / autumn overlap of the DST zones, and ordinary ones.
TIMES = (time(0, 0), time(1, 30), time(2, 30), time(1, 59, 59), time(12, 0), time(23, 59, 59, 999999))


@dataclass(frozen=True)
class Version:
    sucursal: str
    day: date  # extract day (the file it is in)
    id: int
    cuenta_id: int
    cliente_id: int
    fecha: datetime
    monto: Decimal
    canal: str
    updated_at: datetime


def _local_to_utc(local: datetime, sucursal: str) -> datetime:
    zone = ZoneInfo(BRANCH_ZONES.get(sucursal, "America/Mexico_City"))
    return local.replace(tzinfo=zone).astimezone(UTC)  # fold=0, as the branch extractor does


@st.composite
def versions(draw) -> Version:
    sucursal = draw(st.sampled_from(BRANCHES))
    day = draw(st.sampled_from(DAYS))
    # updated_at usually inside its extract day; sometimes the day before (a late-committed row).
    upd_day = day - timedelta(days=draw(st.sampled_from((0, 0, 0, 1))))
    fecha_day = draw(st.sampled_from((upd_day, upd_day - timedelta(days=1), date(1999, 6, 1))))
    return Version(
        sucursal=sucursal,
        day=day,
        id=draw(st.integers(1, 5)),
        cuenta_id=draw(st.integers(1, 3)),
        cliente_id=draw(st.integers(1, 3)),
        fecha=datetime.combine(fecha_day, draw(st.sampled_from(TIMES))),
        monto=Decimal(draw(st.integers(-99_999_999, 99_999_999))).scaleb(-2),
        canal=draw(st.sampled_from(("ventanilla", "OXXO", 'app "móvil"', "ñandú\\", ""))),
        updated_at=datetime.combine(upd_day, draw(st.sampled_from(TIMES[:4]))),
    )


@dataclass(frozen=True)
class LakeCase:
    versions: list[Version]
    cuentas: set[tuple[str, int, date]]  # (sucursal, id, extract day)
    clientes: set[tuple[str, int, date]]
    bajas: set[tuple[str, str, int, date]]  # (tabla, sucursal, id, detection day)
    desde: date
    hasta: date


@st.composite
def lake_cases(draw, max_versions: int = 40) -> LakeCase:
    dims = st.tuples(st.sampled_from(BRANCHES), st.integers(1, 3), st.sampled_from(DAYS))
    desde, hasta = sorted(draw(st.lists(st.sampled_from(DAYS), min_size=2, max_size=2)))
    return LakeCase(
        versions=draw(st.lists(versions(), max_size=max_versions)),
        cuentas=draw(st.sets(dims, max_size=10)),
        clientes=draw(st.sets(dims, max_size=10)),
        bajas=draw(st.sets(st.tuples(st.sampled_from(("transacciones", "cuentas")), st.sampled_from(BRANCHES),
                                     st.integers(1, 5), st.sampled_from(DAYS)), max_size=4)),
        desde=desde,
        hasta=hasta,
    )


TRANSACCIONES = pa.schema([
    ("id", pa.int64()), ("cuenta_id", pa.int64()), ("cliente_id", pa.int64()), ("fecha", pa.timestamp("us")),
    ("monto", pa.decimal128(15, 2)), ("canal", pa.string()), ("updated_at", pa.timestamp("us")),
    ("sucursal", pa.string()), ("updated_at_utc", pa.timestamp("us", "UTC")), ("extraccion", pa.string()),
])
DIM = pa.schema([("id", pa.int64()), ("updated_at", pa.timestamp("us")), ("sucursal", pa.string()),
                 ("updated_at_utc", pa.timestamp("us", "UTC")), ("extraccion", pa.string())])
CUENTAS = pa.schema([*DIM, ("grupo_id", pa.int64()), ("monto", pa.decimal128(15, 2)), ("saldo", pa.decimal128(15, 2)),
                     ("estatus", pa.string()), ("fecha_desembolso", pa.date32())])
BAJAS = pa.schema([("tabla", pa.string()), ("id", pa.int64()), ("sucursal", pa.string()), ("fecha", pa.date32())])


def renumber(sucursal: str, batch: int) -> str:
    """Branch `suc_00k` of case number `batch` in a batch of cases: its own branch numbers."""
    return f"suc_{batch * len(BRANCHES) + int(sucursal[4:]):03d}"


def write_lake(case: LakeCase, lake: LakeResource, batch: int = 0, tombstones=("transacciones", "cuentas")) -> dict[str, str]:
    """Write the case as the branch ETL would: one Parquet file per table, day and branch.

    `batch` renumbers the branches (`renumber`) so several cases can share one Spark run without sharing
    a key; returns the registry (branch → zone) under those numbers. Only `tombstones` tables get theirs.
    """
    prefix_of = lambda suc: renumber(suc, batch)  # noqa: E731
    files: dict[str, list[dict]] = defaultdict(list)
    for v in case.versions:
        utc = _local_to_utc(v.updated_at, v.sucursal)
        v = replace(v, sucursal=prefix_of(v.sucursal))
        row = {
            "id": v.id, "cuenta_id": v.cuenta_id, "cliente_id": v.cliente_id, "fecha": v.fecha, "monto": v.monto,
            "canal": v.canal, "updated_at": v.updated_at, "sucursal": v.sucursal,
            "updated_at_utc": utc, "extraccion": f"{v.day}|{v.sucursal}",
        }
        files[f"raw/sucursales/transacciones/fecha={v.day}/sucursal={v.sucursal}/part-0.parquet"].append(row)
    for table, rows in (("cuentas", case.cuentas), ("clientes", case.clientes)):
        for suc, id_, day in rows:
            upd = datetime.combine(day, time(12))
            utc, suc = _local_to_utc(upd, suc), prefix_of(suc)
            row = {"id": id_, "updated_at": upd, "sucursal": suc, "updated_at_utc": utc, "extraccion": f"{day}|{suc}"}
            if table == "cuentas":
                row |= {"grupo_id": 1, "monto": Decimal("1000.00"), "saldo": Decimal("500.00"), "estatus": "ACTIVA",
                        "fecha_desembolso": day}
            files[f"raw/sucursales/{table}/fecha={day}/sucursal={suc}/part-0.parquet"].append(row)
    for tabla, suc, id_, day in case.bajas:
        if tabla not in tombstones:
            continue
        suc = prefix_of(suc)
        files[f"raw/sucursales/_bajas/{tabla}/sucursal={suc}/fecha={day}/part-0.parquet"].append(
            {"tabla": tabla, "id": id_, "sucursal": suc, "fecha": day})
    for key, rows in files.items():
        schema = (TRANSACCIONES if "/transacciones/fecha=" in key else BAJAS if "/_bajas/" in key
                  else CUENTAS if "/cuentas/fecha=" in key else DIM)
        lake.write_parquet(key, pa.Table.from_pylist(rows, schema=schema))
    return {prefix_of(k): z for k, z in BRANCH_ZONES.items()}


def canonical(table: pa.Table) -> list[tuple]:
    """Rows as sorted tuples, every instant as an aware UTC datetime: engine-neutral for comparison."""
    def norm(value):
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    return sorted(tuple(norm(v) for v in row.values()) for row in table.to_pylist())
