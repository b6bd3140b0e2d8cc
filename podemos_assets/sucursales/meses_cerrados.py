"""`sucursales/meses_cerrados`: one branch's closed month (older than the daily window) re-extracted whole.

The daily partitions keep a rolling window (partitions.py); a month before it is one partition of this
asset per branch. It writes the very same files as the daily extraction (one per table and day, their
quarantines, fingerprints and key indexes: the same code, `extract_box`), so everything downstream reads
old and new days alike; `pagos_historicos` depends on it by month (pagos/partitions.py), so the days of a
re-extracted month are merged again by the automation, as a settled day of the window is.

Requested by `sucursales_automatizacion` when a fingerprint finds a difference in a closed month, or from
the UI (select the branch and the months) / `podemos backfill` for a per-branch backfill of old months.
"""

import calendar
from datetime import date, timedelta

import dagster as dg

from podemos_assets.config import GO_LIVE
from podemos_assets.contracts import lake as paths
from podemos_assets.contracts import schema_metadata
from podemos_assets.contracts.sucursales import TABLAS
from podemos_assets.resources.branches import BranchesResource
from podemos_assets.resources.lake import LakeResource
from podemos_assets.sucursales.assets import extract_box
from podemos_assets.sucursales.checks import CLOSED_MONTH_CHECKS
from podemos_assets.sucursales.partitions import BRANCH_MONTH_PARTITIONS, split_key
from podemos_assets.sucursales.schemas import MESES_CERRADOS, MesCerrado


def month_days(mes: date) -> list[date]:
    """The days of `mes` from go-live on (a go-live in mid-month starts its first month there)."""
    first = max(mes.replace(day=1), date.fromisoformat(GO_LIVE))
    last = mes.replace(day=calendar.monthrange(mes.year, mes.month)[1])
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dg.asset(
    key=MESES_CERRADOS,
    partitions_def=BRANCH_MONTH_PARTITIONS,
    group_name="sucursales",
    pool="sucursales",
    kinds={"mysql", "parquet"},
    metadata=schema_metadata(MesCerrado),
    check_specs=CLOSED_MONTH_CHECKS,
    description="A closed month of one branch (older than the daily window) re-extracted whole: the six "
    f"tables' day files ({paths.branch_extract('{tabla}', 'YYYY-MM-DD', 'suc_NNN')}), quarantines, "
    "fingerprints and key indexes, as the daily extraction writes them. Requested for fingerprint "
    "differences older than the window and for per-branch backfills of old months.",
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
)
def meses_cerrados(context: dg.AssetExecutionContext, lake: LakeResource,
                   branches: BranchesResource) -> dg.MaterializeResult:
    mes, suc = split_key(context.partition_key)
    days = month_days(mes)
    out = extract_box(lake, branches, [f"{d.isoformat()}|{suc}" for d in days], log=context.log.info)
    if out.failures:
        first = next(iter(out.failures.values()))
        raise dg.Failure(f"{suc}: {len(out.failures)} of {len(days)} days of {mes:%Y-%m} could not be "
                         f"extracted ({first}); the month stays as it was and can be requested again.")
    rows = {t: 0 for t in TABLAS}
    for tabla, _, metadata in out.materializations:
        rows[tabla] += metadata["filas"].value
    problems = [p for t in TABLAS for p in out.mismatches[t]]
    verdict = dg.AssetCheckResult(check_name="conciliacion", passed=not problems, metadata={
        "dias": len(days), "diferencias": dg.MetadataValue.json(problems[:50])},
        description=f"{suc} {mes:%Y-%m}: " + (f"{len(problems)} table-days differ from the branch (first: "
                                              f"{problems[0]})" if problems else "every day equals the branch"))
    return dg.MaterializeResult(check_results=[verdict], metadata={
        "dias": len(days),
        **{f"filas_{t}": dg.MetadataValue.int(n) for t, n in rows.items()},
        "filas_cuarentena": dg.MetadataValue.int(sum(out.quarantined.values())),
        "conciliacion": (f"DIFERENCIA en {len(problems)} tabla-días: " + "; ".join(problems[:10])) if problems
        else "ok: lake + quarantine equal the branch, every day",
    })
