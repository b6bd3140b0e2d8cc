"""Pandera models of the six branch extracts (one source of truth per table: docs, Dagster schema, checks).

Columns are the branch table's (exact Arrow types from `resources.branches.BRANCH_TABLES`) plus the
lineage columns of the lake contract: `sucursal`, `updated_at_utc`, `extraccion`.
"""

from __future__ import annotations

from typing import Annotated

import dagster as dg
import pandas as pd
import pandera.pandas as pda
import pyarrow

from podemos_assets.gobierno import Classification as C
from podemos_assets.gobierno import column

Int = Annotated[pd.ArrowDtype, pyarrow.int64()]
Text = Annotated[pd.ArrowDtype, pyarrow.string()]
Money = Annotated[pd.ArrowDtype, pyarrow.decimal128(15, 2)]
Date = Annotated[pd.ArrowDtype, pyarrow.date32()]
Local = Annotated[pd.ArrowDtype, pyarrow.timestamp("us")]
Utc = Annotated[pd.ArrowDtype, pyarrow.timestamp("us", "UTC")]

ESTATUS_CUENTA = ["ACTIVA", "CERRADA", "CASTIGADA"]
ESTATUS_PAGO = ["PENDIENTE", "PAGADO", "ATRASADO", "PARCIAL"]
CANALES = ["VENTANILLA", "CORRESPONSAL_OXXO", "SPEI", "ASESOR_CAMPO"]


class _Extract(pda.DataFrameModel):
    updated_at: Local = column("Last change at the branch, branch-local time (the extraction window)", C.PUBLICO)
    sucursal: Text = column("Branch id (suc_NNN) the row was extracted from", C.PUBLICO, str_matches=r"^suc_\d{3}$")
    updated_at_utc: Utc = column("updated_at converted to UTC from the branch's zone", C.PUBLICO)
    extraccion: Text = column("Partition key of the extraction (YYYY-MM-DD|suc_id)", C.PUBLICO)

    class Config:
        strict = "filter"  # column order is fixed by the reader; unknown columns never reach the lake
        coerce = False


class Grupos(_Extract):
    id: Int = column("Lending group id (per branch)", C.SENSIBLE, ge=1)
    nombre: Text = column("Group name chosen by its members", C.PUBLICO)
    sucursal_id: Text = column("Branch id as stored by the branch application", C.PUBLICO)
    created_at: Local = column("Group creation, branch-local time", C.PUBLICO)


class Clientes(_Extract):
    id: Int = column("Client id (per branch)", C.SENSIBLE, ge=1)
    nombre: Text = column("Client's full name", C.PII)
    curp: Text = column("CURP (18 characters)", C.PII, str_matches=r"^[A-Z]{4}\d{6}[HM][A-Z]{5}[0-9A-Z]\d$")
    rfc: Text = column("RFC with homoclave (13 characters)", C.PII, str_length={"min_value": 12, "max_value": 13})
    telefono: Text = column("10-digit phone number", C.PII, nullable=True)
    fecha_nacimiento: Date = column("Birth date", C.PII)
    created_at: Local = column("Client registration, branch-local time", C.PUBLICO)


class Miembros(_Extract):
    grupo_id: Int = column("Group id", C.SENSIBLE)
    cliente_id: Int = column("Client id, member of the group", C.SENSIBLE)


class Cuentas(_Extract):
    id: Int = column("Loan account id (per branch)", C.SENSIBLE, ge=1)
    grupo_id: Int = column("Group that shares the loan", C.SENSIBLE)
    monto: Money = column("Disbursed amount, MXN", C.SENSIBLE, glossary="monto_desembolsado", gt=0)
    saldo: Money = column("Outstanding balance, MXN", C.SENSIBLE, ge=0)
    estatus: Text = column("Account status", C.PUBLICO, isin=ESTATUS_CUENTA)
    fecha_desembolso: Date = column("Disbursement date", C.PUBLICO)


class CalendarioPagos(_Extract):
    id: Int = column("Instalment id", C.SENSIBLE, ge=1)
    cuenta_id: Int = column("Loan account", C.SENSIBLE)
    num_pago: Int = column("Instalment number (1 = first week)", C.PUBLICO, ge=1)
    monto: Money = column("Instalment amount due, MXN", C.SENSIBLE, gt=0)
    fecha_pago: Date = column("Due date of the instalment", C.PUBLICO)
    estatus: Text = column("Instalment status", C.PUBLICO, isin=ESTATUS_PAGO)


class Transacciones(_Extract):
    id: Int = column("Payment id (per branch)", C.SENSIBLE, ge=1)
    cuenta_id: Int = column("Loan account paid", C.SENSIBLE)
    cliente_id: Int = column("Member who paid", C.SENSIBLE)
    fecha: Local = column("When the payment was made, branch-local time", C.PUBLICO)
    monto: Money = column("Amount, MXN (negative = reversal)", C.SENSIBLE)
    canal: Text = column("Payment channel", C.PUBLICO, isin=CANALES)


MODELS: dict[str, type[_Extract]] = {
    "grupos": Grupos,
    "clientes": Clientes,
    "miembros": Miembros,
    "cuentas": Cuentas,
    "calendario_pagos": CalendarioPagos,
    "transacciones": Transacciones,
}


# The capability's asset keys (the extracted tables, the tombstones, the fingerprint differences).
KEYS: dict[str, dg.AssetKey] = {t: dg.AssetKey(["sucursales", t]) for t in MODELS}
BAJAS = dg.AssetKey(["sucursales", "bajas"])
HUELLAS = dg.AssetKey(["sucursales", "huellas"])
