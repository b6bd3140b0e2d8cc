"""Pandera models of the 15 regulatory sources and of the report's sections (one source of truth each).

Types are Arrow types (exact Decimal money, int64 ids, date32 dates); readers cast each file to these
types and the models validate the values.
"""

from __future__ import annotations

import pandera.pandas as pda

from podemos_assets.contracts import Classification as C
from podemos_assets.contracts import column
from podemos_assets.contracts.types import Date, Int, Money, Text


class _Strict(pda.DataFrameModel):
    class Config:
        strict = True  # a new or missing column is schema drift, never silently dropped
        coerce = False


class CoreCreditos(_Strict):
    cuenta_id: Int = column("Loan account id in the core system", C.SENSIBLE, unique=True)
    sucursal: Text = column("Branch id (suc_NNN)", C.PUBLICO, str_matches=r"^suc_\d{3}$")
    producto: Text = column("Loan product", C.PUBLICO, isin=["GRUPAL", "INDIVIDUAL", "EMERGENTE"])
    saldo: Money = column("Outstanding balance, MXN", C.SENSIBLE, ge=0)
    dias_atraso: Int = column("Days past due of the oldest unpaid instalment", C.SENSIBLE, ge=0)
    estatus: Text = column("Account status", C.PUBLICO, isin=["ACTIVA", "CASTIGADA"])


class SucursalesPagos(_Strict):
    id: Int = column("Transaction id in the branch database", C.SENSIBLE)
    cuenta_id: Int = column("Loan account paid", C.SENSIBLE)
    monto: Money = column("Amount paid, MXN (negative = reversal)", C.SENSIBLE)
    canal: Text = column("Channel of the payment at the branch", C.PUBLICO)
    sucursal: Text = column("Branch id", C.PUBLICO)


class AppCampo(_Strict):
    event_id: Text = column("Client-generated UUID of the field event", C.SENSIBLE)
    monto: Money = column("Amount collected in the field, MXN", C.SENSIBLE)


class ClientesKyc(_Strict):
    cliente_id: Int = column("Client id", C.SENSIBLE, unique=True)
    sucursal: Text = column("Branch id", C.PUBLICO, str_matches=r"^suc_\d{3}$")
    curp: Text = column("CURP of the client", C.PII, str_length={"min_value": 18, "max_value": 18})
    nivel_riesgo: Text = column("PLD risk level", C.SENSIBLE, isin=["BAJO", "MEDIO", "ALTO"])
    fecha_alta: Date = column("Date the client was onboarded", C.PUBLICO)


class ContabilidadGl(_Strict):
    cuenta_contable: Text = column("Ledger account code", C.PUBLICO)
    descripcion: Text = column("Ledger account name (Spanish, accents)", C.PUBLICO)
    debe: Money = column("Debits of the day, MXN", C.SENSIBLE, ge=0)
    haber: Money = column("Credits of the day, MXN", C.SENSIBLE, ge=0)


class Tesoreria(_Strict):
    cuenta_bancaria: Text = column("Bank account (masked CLABE)", C.SENSIBLE)
    banco: Text = column("Bank", C.PUBLICO)
    saldo_inicial: Money = column("Opening balance, MXN", C.SENSIBLE)
    saldo_final: Money = column("Closing balance, MXN", C.SENSIBLE)


class Spei(_Strict):
    clave_rastreo: Text = column("SPEI tracking key", C.SENSIBLE, unique=True)
    tipo: Text = column("E = sent (disbursement), R = received", C.PUBLICO, isin=["E", "R"])
    sucursal: Text = column("Branch id", C.PUBLICO, str_matches=r"^suc_\d{3}$")
    cuenta_id: Int = column("Loan account", C.SENSIBLE)
    monto: Money = column("Amount, MXN", C.SENSIBLE, gt=0)
    banco: Text = column("Counterparty bank code (Banxico)", C.PUBLICO)


class Corresponsales(_Strict):
    folio: Text = column("Correspondent receipt number", C.SENSIBLE, unique=True)
    corresponsal: Text = column("Correspondent network", C.PUBLICO)
    cuenta_id: Int = column("Loan account paid", C.SENSIBLE)
    monto: Money = column("Amount paid, MXN", C.SENSIBLE, gt=0)


class BuroCredito(_Strict):
    cliente_id: Int = column("Client id", C.SENSIBLE)
    score: Int = column("Bureau score", C.SENSIBLE, in_range={"min_value": 300, "max_value": 850})
    cuentas_abiertas: Int = column("Open credit lines reported", C.SENSIBLE, ge=0)


class PldAlertas(_Strict):
    alerta_id: Text = column("AML alert id", C.SENSIBLE, unique=True)
    cliente_id: Int = column("Client id", C.SENSIBLE)
    tipo: Text = column("Alert type", C.PUBLICO, isin=["RELEVANTE", "INUSUAL", "PREOCUPANTE"])
    monto: Money = column("Amount of the operation, MXN", C.SENSIBLE, ge=0)


class Cobranza(_Strict):
    gestion_id: Int = column("Collection visit id", C.SENSIBLE, unique=True)
    cuenta_id: Int = column("Loan account", C.SENSIBLE)
    resultado: Text = column("Outcome of the visit", C.PUBLICO, isin=["PROMESA", "PAGO", "SIN_CONTACTO"])
    monto_promesa: Money = column("Amount promised, MXN", C.SENSIBLE, ge=0)


class Seguros(_Strict):
    poliza: Text = column("Policy number", C.SENSIBLE, unique=True)
    cliente_id: Int = column("Insured client", C.SENSIBLE)
    prima: Money = column("Premium charged, MXN", C.SENSIBLE, gt=0)


class QuejasCondusef(_Strict):
    folio: Text = column("CONDUSEF complaint number", C.SENSIBLE, unique=True)
    cliente_id: Int = column("Client id", C.SENSIBLE)
    causa: Text = column("Cause (REDECO catalog)", C.PUBLICO)
    estatus: Text = column("Status", C.PUBLICO, isin=["ABIERTA", "CERRADA"])
    monto_reclamado: Money = column("Amount claimed, MXN", C.SENSIBLE, ge=0)


class Asesores(_Strict):
    asesor_id: Int = column("Field-officer id", C.SENSIBLE, unique=True)
    nombre: Text = column("Field officer's name", C.PII)
    sucursal: Text = column("Branch id", C.PUBLICO, str_matches=r"^suc_\d{3}$")


class CatalogosCnbv(_Strict):
    catalogo: Text = column("Catalog name", C.PUBLICO)
    clave: Text = column("Key", C.PUBLICO)
    descripcion: Text = column("Description (Spanish, accents)", C.PUBLICO)


SOURCE_MODELS: dict[str, type[pda.DataFrameModel]] = {
    m.__name__: m
    for m in (CoreCreditos, SucursalesPagos, AppCampo, ClientesKyc, ContabilidadGl, Tesoreria, Spei, Corresponsales,
              BuroCredito, PldAlertas, Cobranza, Seguros, QuejasCondusef, Asesores, CatalogosCnbv)
}


# --- the report -------------------------------------------------------------------------------------
class SeccionCartera(pda.DataFrameModel):
    """Section `cartera`: loan portfolio by branch and product with PAR buckets (the report's main table)."""

    sucursal: str = column("Branch id", C.PUBLICO)
    producto: str = column("Loan product", C.PUBLICO)
    creditos: int = column("Active loan accounts", C.SENSIBLE, ge=0)
    saldo: str = column("Outstanding balance, MXN (2 decimals)", C.SENSIBLE)
    par_1_30: str = column("Balance 1-30 days past due", C.SENSIBLE)
    par_31_60: str = column("Balance 31-60 days past due", C.SENSIBLE)
    par_61_90: str = column("Balance 61-90 days past due", C.SENSIBLE)
    par_90_mas: str = column("Balance over 90 days past due", C.SENSIBLE)
