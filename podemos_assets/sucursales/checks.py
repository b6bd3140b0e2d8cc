"""The branch capability's checks: their specs live here, their results are computed by the runs that
extract and reconcile (one result per run, over the branch-days it covered; see docs/sucursales.md)."""

from __future__ import annotations

import dagster as dg

from podemos_assets.contracts.sucursales import TABLAS
from podemos_assets.sucursales.schemas import BAJAS, HUELLAS, KEYS, MESES_CERRADOS

# A branch that loses this many rows of a table in one night is more likely a bad cleanup script than
# ordinary deletes: the tombstones are written (the warehouse must not keep deleted rows), and a person looks.
MASS_DELETE_ROWS, MASS_DELETE_SHARE = 100, 0.01

EXTRACTION_CHECKS = [
    spec
    for t in TABLAS
    for spec in (
        dg.AssetCheckSpec("esquema", asset=KEYS[t], blocking=True,
                          description="Every written row passes the pandera model; failing rows are in quarantine"),
        dg.AssetCheckSpec("conciliacion", asset=KEYS[t],
                          description="COUNT and SUM(monto) re-queried from the branch equal extract + quarantine"),
    )
] + [dg.AssetCheckSpec("frescura", asset=KEYS["transacciones"],
                       description="Each branch-day has payments (newest updated_at inside the day)")]

RECONCILIATION_CHECKS = [
    dg.AssetCheckSpec("esquema", asset=BAJAS, blocking=True,
                      description="Every tombstone passes the pandera model (table, branch code, key, day)"),
    dg.AssetCheckSpec("borrado_masivo", asset=BAJAS,
                      description=f"No branch lost more than {MASS_DELETE_ROWS} rows or {MASS_DELETE_SHARE:.0%} of "
                      "a table in one night (the tombstones are written anyway; a person should look)"),
    dg.AssetCheckSpec("huella_igual", asset=HUELLAS,
                      description="Every older branch-day's row count and SUM(monto) at the branch equal the lake's; "
                      "differing days are re-extracted by sucursales_automatizacion"),
]

CLOSED_MONTH_CHECKS = [
    dg.AssetCheckSpec("conciliacion", asset=MESES_CERRADOS,
                      description="Every day of the re-extracted month: COUNT and SUM(monto) re-queried from the "
                      "branch equal extract + quarantine, per table"),
]
