"""The branch tables: one pandera model per table of the branch application (sql/branch/mysql.sql).

Each model is the extract of that table as the lake holds it: the branch's columns with exact types, then
the lineage columns the extractor adds. The reader's Arrow schema (`BRANCH_TABLES`), the extract's
Parquet schema, what `pagos` and the Spark job read, the Dagster column schema and the checks all come
from these models.
"""

from __future__ import annotations

import pandera.pandas as pda
import pyarrow as pa

from podemos_assets.contracts.types import BranchMoney, Date, Instant, Int, LocalTime, Text
from podemos_assets.contracts.vocabulary import Classification as C
from podemos_assets.contracts.vocabulary import arrow_schema, column

ESTATUS_CUENTA = ["ACTIVA", "CERRADA", "CASTIGADA"]
ESTATUS_PAGO = ["PENDIENTE", "PAGADO", "ATRASADO", "PARCIAL"]
CANALES = ["VENTANILLA", "CORRESPONSAL_OXXO", "SPEI", "ASESOR_CAMPO"]
BRANCH_CODE = r"^suc_\d{3}$"


class _Extract(pda.DataFrameModel):
    """The lineage columns the extractor appends to every branch table."""

    sucursal: Text = column("Branch id (suc_NNN) the row was extracted from", C.PUBLICO, str_matches=BRANCH_CODE)
    updated_at_utc: Instant = column("updated_at converted to UTC from the branch's zone", C.PUBLICO)
    extraccion: Text = column("Partition key of the extraction (YYYY-MM-DD|suc_id)", C.PUBLICO)

    class Config:
        strict = "filter"  # column order is fixed by the reader; unknown columns never reach the lake
        coerce = False


def _updated_at():
    return column("Last change at the branch, branch-local time (the extraction window)", C.PUBLICO)


class Grupos(_Extract):
    id: Int = column("Lending group id (per branch)", C.SENSIBLE, ge=1)
    nombre: Text = column("Group name chosen by its members", C.PUBLICO)
    sucursal_id: Text = column("Branch id as stored by the branch application", C.PUBLICO)
    created_at: LocalTime = column("Group creation, branch-local time", C.PUBLICO)
    updated_at: LocalTime = _updated_at()


class Clientes(_Extract):
    id: Int = column("Client id (per branch)", C.SENSIBLE, ge=1)
    nombre: Text = column("Client's full name", C.PII)
    curp: Text = column("CURP (18 characters)", C.PII, str_matches=r"^[A-Z]{4}\d{6}[HM][A-Z]{5}[0-9A-Z]\d$")
    rfc: Text = column("RFC with homoclave (13 characters)", C.PII, str_length={"min_value": 12, "max_value": 13})
    telefono: Text = column("10-digit phone number", C.PII, nullable=True)
    fecha_nacimiento: Date = column("Birth date", C.PII)
    created_at: LocalTime = column("Client registration, branch-local time", C.PUBLICO)
    updated_at: LocalTime = _updated_at()


class Miembros(_Extract):
    grupo_id: Int = column("Group id", C.SENSIBLE)
    cliente_id: Int = column("Client id, member of the group", C.SENSIBLE)
    updated_at: LocalTime = _updated_at()


class Cuentas(_Extract):
    id: Int = column("Loan account id (per branch)", C.SENSIBLE, ge=1)
    grupo_id: Int = column("Group that shares the loan", C.SENSIBLE)
    monto: BranchMoney = column("Disbursed amount, MXN", C.SENSIBLE, glossary="monto_desembolsado", gt=0)
    saldo: BranchMoney = column("Outstanding balance, MXN", C.SENSIBLE, ge=0)
    estatus: Text = column("Account status", C.PUBLICO, isin=ESTATUS_CUENTA)
    fecha_desembolso: Date = column("Disbursement date", C.PUBLICO)
    updated_at: LocalTime = _updated_at()


class CalendarioPagos(_Extract):
    id: Int = column("Instalment id", C.SENSIBLE, ge=1)
    cuenta_id: Int = column("Loan account", C.SENSIBLE)
    num_pago: Int = column("Instalment number (1 = first week)", C.PUBLICO, ge=1)
    monto: BranchMoney = column("Instalment amount due, MXN", C.SENSIBLE, gt=0)
    fecha_pago: Date = column("Due date of the instalment", C.PUBLICO)
    estatus: Text = column("Instalment status", C.PUBLICO, isin=ESTATUS_PAGO)
    updated_at: LocalTime = _updated_at()


class Transacciones(_Extract):
    id: Int = column("Payment id (per branch)", C.SENSIBLE, ge=1)
    cuenta_id: Int = column("Loan account paid", C.SENSIBLE)
    cliente_id: Int = column("Member who paid", C.SENSIBLE)
    fecha: LocalTime = column("When the payment was made, branch-local time", C.PUBLICO)
    monto: BranchMoney = column("Amount, MXN (negative = reversal)", C.SENSIBLE)
    canal: Text = column("Payment channel", C.PUBLICO, isin=CANALES)
    updated_at: LocalTime = _updated_at()


MODELS: dict[str, type[_Extract]] = {
    "grupos": Grupos,
    "clientes": Clientes,
    "miembros": Miembros,
    "cuentas": Cuentas,
    "calendario_pagos": CalendarioPagos,
    "transacciones": Transacciones,
}
TABLAS = tuple(MODELS)

# Arrow types, derived from the models. pandera lists a base class's fields first; the branch's own
# columns (in table order, the reader's SELECT list) are the model's minus the lineage.
LINEAGE: dict[str, pa.DataType] = {f.name: f.type for f in arrow_schema(_Extract)}
BRANCH_TABLES: dict[str, dict[str, pa.DataType]] = {
    t: {f.name: f.type for f in arrow_schema(m) if f.name not in LINEAGE} for t, m in MODELS.items()
}
KEY_COLUMNS = {t: ("grupo_id", "cliente_id") if t == "miembros" else ("id",) for t in TABLAS}
# `miembros` has a composite key and a tombstone an `id`: memberships are not reconciled (a deleted
# membership matters through its loan).
RECONCILED = tuple(t for t in TABLAS if t != "miembros")


def extract_schema(tabla: str, quarantine: bool = False) -> pa.Schema:
    """The Parquet schema of a branch extract (and, with `motivo`, of its quarantine)."""
    fields = [*BRANCH_TABLES[tabla].items(), *LINEAGE.items()]
    return pa.schema(fields + ([("motivo", pa.string())] if quarantine else []))


class Bajas(pda.DataFrameModel):
    """Tombstones: rows deleted at a branch, detected by the nightly reconciliation."""

    tabla: Text = column("Branch table the row was deleted from", C.PUBLICO, isin=list(RECONCILED))
    id: Int = column("Key of the deleted row", C.SENSIBLE)
    sucursal: Text = column("Branch id", C.PUBLICO, str_matches=BRANCH_CODE)
    fecha: Date = column("Day the deletion was detected", C.PUBLICO)


BAJAS_SCHEMA = arrow_schema(Bajas, nullability=False)
