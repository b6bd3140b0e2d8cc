"""The warehouse tables of `pagos`, one pandera model each: the single source of their documentation.

Dagster's column schema, the Redshift DDL and its `COMMENT ON` statements (sql/redshift/) and the PII
rules are all derived from these models. Dtypes are Arrow types, which map one-to-one to SQL types.
"""

from __future__ import annotations

from typing import NamedTuple

import pandera.pandas as pda

from podemos_assets.contracts import Classification as C
from podemos_assets.contracts import column
from podemos_assets.contracts.types import Date, Instant, Int, Int32, LocalTime, Money, Text

STATUS_PAGO = ["APLICADO", "REVERSO"]
QUARANTINE_REASONS = ["baja_en_sucursal", "sucursal_desconocida", "prestamo_desconocido", "cliente_desconocido"]


# Lineage columns (where each row came from), shared by every table merged from the branch extracts.
_LINEAGE = {
    "sucursal": ("Branch code (suc_NNN) of the source database.", C.PUBLICO),
    "id_origen": ("Primary key of the row in its branch database.", C.SENSIBLE),
    "updated_at_origen": ("Source `updated_at`, branch-local time as the branch stored it.", C.PUBLICO),
    "updated_at_utc": ("Source `updated_at` as a UTC instant: the version order.", C.PUBLICO),
    "extraccion": ("Extraction that delivered this version (`YYYY-MM-DD|suc_NNN`).", C.PUBLICO),
}


def lineage(name: str):
    description, classification = _LINEAGE[name]
    return column(description, classification, glossary="sucursal" if name == "sucursal" else None)


class PagosHistoricos(pda.DataFrameModel):
    """One row per payment (a branch `transacciones` row), the latest version of it."""

    id_pago: Int = column(
        "Payment id unique across branches: source id * 1000 + branch number.", C.SENSIBLE, glossary="pago", unique=True
    )
    id_prestamo: Int = column("Loan account (cuentas) the payment applies to, global id.", C.SENSIBLE)
    id_cliente: Int = column("Client (member of the group) who paid, global id.", C.SENSIBLE, glossary="cliente")
    monto: Money = column("Amount in MXN; negative for a reversal.", C.SENSIBLE, glossary="monto")
    fecha_pago: Date = column("Payment date in the branch's local time (the business day).", C.PUBLICO)
    sucursal: Text = lineage("sucursal")
    status_pago: Text = column("APLICADO or REVERSO (negative amount).", C.PUBLICO, isin=STATUS_PAGO)
    otros_datos: Text = column("Other source attributes as JSON (the channel: canal).", C.PUBLICO, nullable=True)
    fecha_pago_utc: Instant = column(
        "The payment's instant in UTC (local time and branch zone); NULL only for an unknown branch.", C.PUBLICO, nullable=True
    )
    id_origen: Int = lineage("id_origen")
    updated_at_origen: LocalTime = lineage("updated_at_origen")
    updated_at_utc: Instant = lineage("updated_at_utc")
    extraccion: Text = lineage("extraccion")


class PagosCuarentena(PagosHistoricos):
    """Latest versions that cannot be published, with the reason; they leave when the reason goes away."""

    motivo: Text = column("Why the payment is held back.", C.PUBLICO, isin=QUARANTINE_REASONS)


class PagosPorCliente(pda.DataFrameModel):
    """The client-ordered projection of pagos_historicos: a client's history reads one or two row groups."""

    id_cliente: Int = column("Client who paid, global id.", C.SENSIBLE, glossary="cliente")
    fecha_pago: Date = column("Payment date, branch-local.", C.PUBLICO)
    id_pago: Int = column("Payment id (pagos_historicos.id_pago).", C.SENSIBLE, unique=True)
    id_prestamo: Int = column("Loan account, global id.", C.SENSIBLE)
    monto: Money = column("Amount in MXN; negative for a reversal.", C.SENSIBLE)
    status_pago: Text = column("APLICADO or REVERSO.", C.PUBLICO, isin=STATUS_PAGO)
    sucursal: Text = column("Branch code.", C.PUBLICO)


class PagosDiarioSucursal(pda.DataFrameModel):
    """Rollup: payments per local day, branch and status; what the broad reports read."""

    fecha_pago: Date = column("Payment date, branch-local.", C.PUBLICO)
    sucursal: Text = column("Branch code.", C.PUBLICO)
    status_pago: Text = column("APLICADO or REVERSO.", C.PUBLICO, isin=STATUS_PAGO)
    pagos: Int = column("Number of payments.", C.SENSIBLE, ge=0)
    monto: Money = column("Sum of amounts in MXN.", C.SENSIBLE)
    # The merge's directory: source ids grow with time, so a stored version is looked for only on the days
    # whose id range can hold it, not in the whole table (merge.py).
    id_origen_min: Int = column("Lowest source id (id_origen) among these payments.", C.SENSIBLE)
    id_origen_max: Int = column("Highest source id (id_origen) among these payments.", C.SENSIBLE)


class Cuentas(pda.DataFrameModel):
    """Loan accounts (latest version), the dimension payments are checked against."""

    id_prestamo: Int = column("Loan account id unique across branches.", C.SENSIBLE, unique=True)
    id_grupo: Int = column("Lending group, global id.", C.SENSIBLE)
    monto_otorgado: Money = column("Amount lent in MXN.", C.SENSIBLE)
    saldo: Money = column("Outstanding balance in MXN.", C.SENSIBLE)
    estatus: Text = column("ACTIVA, CERRADA or CASTIGADA.", C.PUBLICO, isin=["ACTIVA", "CERRADA", "CASTIGADA"])
    fecha_desembolso: Date = column("Disbursement date.", C.PUBLICO)
    sucursal: Text = lineage("sucursal")
    id_origen: Int = lineage("id_origen")
    updated_at_origen: LocalTime = lineage("updated_at_origen")
    updated_at_utc: Instant = lineage("updated_at_utc")
    extraccion: Text = lineage("extraccion")


class CalendarioPagos(pda.DataFrameModel):
    """Weekly instalments of each loan (latest version): the basis of portfolio at risk."""

    id_cuota: Int = column("Instalment id unique across branches.", C.SENSIBLE, unique=True)
    id_prestamo: Int = column("Loan account, global id.", C.SENSIBLE)
    num_pago: Int32 = column("Instalment number within the loan.", C.PUBLICO, ge=1)
    monto: Money = column("Instalment amount due in MXN.", C.SENSIBLE)
    fecha_vencimiento: Date = column("Due date (source calendario_pagos.fecha_pago).", C.PUBLICO)
    estatus: Text = column(
        "PENDIENTE, PAGADO, ATRASADO or PARCIAL.", C.PUBLICO, isin=["PENDIENTE", "PAGADO", "ATRASADO", "PARCIAL"]
    )
    sucursal: Text = lineage("sucursal")
    id_origen: Int = lineage("id_origen")
    updated_at_origen: LocalTime = lineage("updated_at_origen")
    updated_at_utc: Instant = lineage("updated_at_utc")
    extraccion: Text = lineage("extraccion")


class Clientes(pda.DataFrameModel):
    """Known clients, without PII: names, CURP, RFC, phone and birth date stay in the branch and the lake."""

    id_cliente: Int = column("Client id unique across branches.", C.SENSIBLE, unique=True)
    sucursal: Text = lineage("sucursal")
    id_origen: Int = lineage("id_origen")
    updated_at_origen: LocalTime = lineage("updated_at_origen")
    updated_at_utc: Instant = lineage("updated_at_utc")
    extraccion: Text = lineage("extraccion")


class PagosBajas(pda.DataFrameModel):
    """Tombstones seen so far (kept so a redelivered old version never resurrects a deleted row)."""

    tabla: Text = column("Source table of the deleted row.", C.PUBLICO)
    sucursal: Text = column("Branch code.", C.PUBLICO)
    id_origen: Int = column("Primary key of the deleted row in its branch.", C.SENSIBLE)
    fecha_baja: Date = column("Latest day the deletion was detected.", C.PUBLICO)


class WarehouseTable(NamedTuple):
    """A warehouse table of this capability: its model, physical layout and description (defined once:
    the asset metadata, the DuckDB tables and the Redshift DDL all read it)."""

    model: type[pda.DataFrameModel]
    sort_key: tuple[str, ...]
    dist_key: str | None  # Redshift DISTKEY (None: DISTSTYLE AUTO, the small dimensions)
    description: str
    analysts: bool  # analysts read it (PII masked where they do)


TABLES: dict[str, WarehouseTable] = {
    "pagos_historicos": WarehouseTable(
        PagosHistoricos, ("fecha_pago", "id_cliente"), "id_cliente",
        "Historical payments: one row per payment (latest version), all branches, merged daily.", True),
    "pagos_cuarentena": WarehouseTable(
        PagosCuarentena, ("fecha_pago", "id_cliente"), "id_cliente",
        "Payments held back with a reason (unknown loan, client or branch; deleted at the branch); "
        "they leave when the reason goes away.", False),
    "pagos_por_cliente": WarehouseTable(
        PagosPorCliente, ("id_cliente", "fecha_pago"), "id_cliente",
        "Client-ordered projection of pagos_historicos, for a client's payment history. Append-only between "
        "compactions: it holds its rows minus those in pagos_por_cliente_retirados (read it through the "
        "historial_pagos_cliente view).", True),
    "pagos_diario_sucursal": WarehouseTable(
        PagosDiarioSucursal, ("fecha_pago", "sucursal"), None,
        "Rollup per day, branch and status, recomputed for exactly the days that changed.", True),
    "cuentas": WarehouseTable(Cuentas, ("id_prestamo",), None, "Loan accounts, latest version (dimension).", True),
    "clientes": WarehouseTable(
        Clientes, ("id_cliente",), None,
        "Known clients without PII (PII stays in the branch databases and the raw lake).", True),
    "calendario_pagos": WarehouseTable(
        CalendarioPagos, ("id_prestamo", "num_pago"), None,
        "Weekly instalments, latest version (dimension; basis of portfolio at risk).", True),
    "pagos_bajas": WarehouseTable(
        PagosBajas, ("tabla", "sucursal", "id_origen"), None,
        "Tombstones received from the branch ETL (deleted source rows).", False),
}
