"""A tiny governed graph for gobierno's tests: a warehouse table with PII, an analyst view, a report file set."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pandera.pandas as pda

from podemos_assets.contracts.vocabulary import Classification as C
from podemos_assets.contracts.vocabulary import (
    analyst_facing,
    column,
    column_lineage,
    report_files,
    schema_metadata,
    warehouse_table,
)
from podemos_assets.gobierno import apply_group_policies


class Clientes(pda.DataFrameModel):
    id_cliente: int = column("Client id", C.SENSIBLE, glossary="cliente")
    nombre: str = column("Full name", C.PII)
    curp: str = column("CURP", C.PII, glossary="CURP")
    telefono: str = column("Mobile phone", C.PII, nullable=True)
    fecha_nacimiento: pd.Timestamp = column("Birth date", C.PII, nullable=True)
    sucursal: str = column("Branch id", C.PUBLICO)


class ResumenClientes(pda.DataFrameModel):
    sucursal: str = column("Branch id", C.PUBLICO)
    id_cliente: int = column("Client id", C.SENSIBLE, glossary="cliente")
    curp: str = column("CURP, masked for analysts", C.PII, glossary="CURP")
    nombre: str = column("Client name, masked for analysts", C.PII)


clientes = dg.AssetSpec(
    "clientes_wh",
    group_name="pagos",
    description="Clients in the warehouse.",
    metadata={**schema_metadata(Clientes), **warehouse_table("main.clientes_wh", ["sucursal", "id_cliente"], dist_key="id_cliente")},
)
resumen = dg.AssetSpec(
    "resumen_clientes",
    group_name="pagos",
    description="Per-branch client list analysts read.",
    deps=[clientes],
    tags=analyst_facing(),
    metadata={
        **schema_metadata(ResumenClientes),
        **warehouse_table("main.resumen_clientes", [], materialization="view"),
        **column_lineage({"curp": [("clientes_wh", "curp")], "id_cliente": [("clientes_wh", "id_cliente")]}),
    },
)
reporte = dg.AssetSpec(
    "reporte_analistas",
    group_name="regulatorio",
    description="CSV report files analysts open.",
    tags=analyst_facing(),
    metadata={**schema_metadata(ResumenClientes), **report_files("outbox", "analistas/")},
)

SPECS = [clientes, resumen, reporte]


def governed_defs(*extra, resources: dict | None = None) -> dg.Definitions:
    """The fixture graph plus `extra`, with resources, through the group policies (as definitions.py does)."""
    return apply_group_policies(dg.Definitions(assets=[*SPECS, *extra], resources=resources or {}))
