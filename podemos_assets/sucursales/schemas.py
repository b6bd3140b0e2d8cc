"""The branch capability's tables: the six extracts (models in `contracts.sucursales`, shared with the
reader and `pagos`), the tombstones (`contracts.sucursales.Bajas`) and the fingerprint differences.
"""

from __future__ import annotations

import dagster as dg
import pandera.pandas as pda
import pyarrow as pa

from podemos_assets.contracts import Classification as C
from podemos_assets.contracts import arrow_schema, column
from podemos_assets.contracts.sucursales import MODELS, TABLAS, Bajas
from podemos_assets.contracts.types import Date, Int, Text

__all__ = ["BAJAS", "DIFF_SCHEMA", "HUELLAS", "KEYS", "MESES_CERRADOS", "MODELS", "Bajas", "Huellas", "MesCerrado"]


class Huellas(pda.DataFrameModel):
    """Branch-days whose rows or SUM(monto) at the branch differ from what the lake holds."""

    tabla: Text = column("Branch table compared", C.PUBLICO, isin=list(TABLAS))
    fecha: Date = column("Branch-local updated_at day that differs", C.PUBLICO)
    filas_fuente: Int = column("Rows the branch holds for that day", C.PUBLICO)
    filas_lago: Int = column("Rows the lake holds (extract + quarantine); -1 when the day was never extracted",
                             C.PUBLICO)
    monto_fuente: Text = column("SUM(monto) at the branch (empty for tables without monto)", C.SENSIBLE)
    monto_lago: Text = column("SUM(monto) in the lake (empty for tables without monto)", C.SENSIBLE)


DIFF_SCHEMA: pa.Schema = arrow_schema(Huellas, nullability=False)


class MesCerrado(pda.DataFrameModel):
    """What a closed month's re-extraction reports per table (its materialization's metadata). The files it
    writes are the six tables' day files, under those assets' own schemas and classifications."""

    tabla: Text = column("Branch table re-extracted", C.PUBLICO, isin=list(TABLAS))
    dias: Int = column("Branch-local days of the month re-extracted (from go-live on)", C.PUBLICO)
    filas: Int = column("Rows written to the month's day files", C.PUBLICO)
    filas_cuarentena: Int = column("Rows set aside in quarantine with a reason", C.PUBLICO)

# The capability's asset keys (the extracted tables, the tombstones, the fingerprint differences).
KEYS: dict[str, dg.AssetKey] = {t: dg.AssetKey(["sucursales", t]) for t in MODELS}
BAJAS = dg.AssetKey(["sucursales", "bajas"])
HUELLAS = dg.AssetKey(["sucursales", "huellas"])
MESES_CERRADOS = dg.AssetKey(["sucursales", "meses_cerrados"])  # closed months, re-extracted whole
