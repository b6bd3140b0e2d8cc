"""The nightly reconciliation of each branch against what the lake holds, over the whole history.

Two questions per branch, answered with one connection in the same run as its daily extraction:
- **bajas** (hard deletes): the key index (every id ever extracted, `contracts.lake.key_index`; it only grows, so
  a re-extraction that no longer sees a row cannot erase the evidence) minus the keys the branch holds
  now minus keys already tombstoned = rows deleted at the branch. `miembros` has a composite key and the
  tombstone contract an `id`, so memberships are not reconciled (a deleted membership matters through its loan).
- **huellas** (settling of any age): row count and SUM(monto) per `updated_at` day from one GROUP BY per
  table, against the fingerprint the extraction wrote for that branch-day. A day that differs (a row
  committed late with an old `updated_at`, an update that moved a row to another day, a delete) or that
  has rows and was never extracted is re-extracted, exactly that branch-day, by `sucursales_automatizacion`.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import dagster as dg
import pandas as pd
import pandera.pandas as pda
import pyarrow as pa
import pyarrow.compute as pc

from podemos_assets.config import GO_LIVE
from podemos_assets.contracts import lake as paths
from podemos_assets.contracts import schema_metadata
from podemos_assets.contracts.sucursales import BAJAS_SCHEMA, RECONCILED, TABLAS
from podemos_assets.resources.branches import BranchesResource, BranchQueryError, BranchReader, BranchUnreachable
from podemos_assets.resources.lake import LakeResource
from podemos_assets.sucursales.checks import MASS_DELETE_ROWS, MASS_DELETE_SHARE, RECONCILIATION_CHECKS
from podemos_assets.sucursales.extract import KEYS_SCHEMA
from podemos_assets.sucursales.partitions import BRANCH_DAY_PARTITIONS, BRANCHES, SETTLING_DAYS, split_key
from podemos_assets.sucursales.schemas import BAJAS, DIFF_SCHEMA, HUELLAS, KEYS, Bajas, Huellas


# --- bajas ---------------------------------------------------------------------------------------------
def key_index(lake: LakeResource, suc: str, until: date) -> dict[str, set[int]]:
    """Every id ever extracted for branch `suc` from days <= until, per table."""
    files = [k for k in lake.list(paths.key_index_prefix(suc)) if k.endswith(".parquet") and paths.hive_fecha(k) <= until]
    index: dict[str, set[int]] = {t: set() for t in RECONCILED}
    if files:
        table = pa.concat_tables([lake.read_parquet(k).cast(KEYS_SCHEMA) for k in files])
        for tabla in RECONCILED:
            index[tabla] = set(table.filter(pc.equal(table["tabla"], tabla))["id"].to_pylist())
    return index


def detect_deletes(lake: LakeResource, reader: BranchReader, tabla: str, suc: str, fecha: date,
                   index: dict[str, set[int]] | None = None) -> pa.Table:
    """Tombstones for `tabla` at `suc` detected on `fecha`: ids the lake ever held that the branch no longer has."""
    seen = (index if index is not None else key_index(lake, suc, fecha))[tabla]
    earlier = {
        i for k in lake.list(paths.tombstones_prefix(tabla, suc))
        if f"fecha={fecha.isoformat()}" not in k for i in lake.read_parquet(k).column("id").to_pylist()
    }
    gone = sorted(seen - set(reader.keys(tabla).column("id").to_pylist()) - earlier)
    n = len(gone)
    return pa.table([pa.array([tabla] * n), pa.array(gone, pa.int64()), pa.array([suc] * n),
                     pa.array([fecha] * n, pa.date32())], schema=BAJAS_SCHEMA)


# --- huellas -------------------------------------------------------------------------------------------
def lake_fingerprints(lake: LakeResource, suc: str) -> dict[date, dict[str, tuple[int, Decimal]]]:
    """The fingerprint of every branch-day of `suc` the lake holds: {fecha: {tabla: (rows, SUM(monto))}}."""
    out = {}
    for key in lake.list(paths.fingerprint_prefix(suc)):
        if key.endswith("huella.json"):
            raw = json.loads(lake.read_bytes(key))
            out[paths.hive_fecha(key)] = {t: (v["filas"], Decimal(v["monto"])) for t, v in raw.items()}
    return out


def compare_fingerprints(lake: LakeResource, reader: BranchReader, suc: str, first: date, last: date) -> pa.Table:
    """Branch-days in [first, last] whose source totals differ from the lake's, one row per (tabla, fecha)."""
    held = lake_fingerprints(lake, suc)
    rows = []
    for tabla in TABLAS:
        source = reader.daily_totals(tabla)
        for day in sorted(d for d in set(source) | set(held) if first <= d <= last):
            n, total = source.get(day, (0, Decimal("0.00")))
            total = total if total is not None else Decimal("0.00")
            lake_n, lake_total = held.get(day, {}).get(tabla, (-1, None)) if day in held else (-1, None)
            if lake_n == -1 and n == 0:
                continue  # nothing at the branch, nothing extracted: nothing to settle
            if (lake_n, lake_total) != (n, total) or lake_n == -1:
                money = tabla in ("cuentas", "calendario_pagos", "transacciones")
                rows.append({"tabla": tabla, "fecha": day, "filas_fuente": n, "filas_lago": lake_n,
                             "monto_fuente": str(total) if money else "",
                             "monto_lago": str(lake_total) if money and lake_total is not None else ""})
    return pa.Table.from_pylist(rows, schema=DIFF_SCHEMA)


def compared_range(fecha: date) -> tuple[date, date]:
    """The days a reconciliation on `fecha` compares: everything older than the nightly settling window
    (the window itself is being re-extracted in the same night)."""
    return date.fromisoformat(GO_LIVE), fecha - timedelta(days=SETTLING_DAYS + 1)


# --- the asset -----------------------------------------------------------------------------------------


@dg.multi_asset(
    name="conciliacion_sucursales",
    specs=[
        dg.AssetSpec(BAJAS, deps=[KEYS[t] for t in RECONCILED], group_name="sucursales", partitions_def=BRANCH_DAY_PARTITIONS,
                     description="Tombstones of rows hard-deleted at a branch: every key the lake ever held "
                     "(the key index) against the keys the branch holds now. Lake: "
                     f"{paths.tombstones('{tabla}', 'suc_NNN', 'YYYY-MM-DD')}.",
                     metadata=schema_metadata(Bajas), kinds={"mysql", "parquet"}, skippable=True),
        dg.AssetSpec(HUELLAS, deps=[KEYS[t] for t in TABLAS], group_name="sucursales", partitions_def=BRANCH_DAY_PARTITIONS,
                     description="Settling of any age: the branch-days older than the nightly window whose row count "
                     "or SUM(monto) per updated_at day differ from the lake's (one GROUP BY per table). Lake: "
                     f"{paths.fingerprint_differences('suc_NNN', 'YYYY-MM-DD')}.",
                     metadata=schema_metadata(Huellas), kinds={"mysql", "parquet"}, skippable=True),
    ],
    check_specs=RECONCILIATION_CHECKS,
    partitions_def=BRANCH_DAY_PARTITIONS,
    pool="sucursales",
    can_subset=False,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=200),
)
def conciliacion_sucursales(context, lake: LakeResource, branches: BranchesResource):
    """One night's reconciliation per branch of the run; an unreachable branch fails only its partitions."""
    failures, all_bajas, mass, stale = {}, [], [], {}
    for key in sorted(str(k) for k in context.partition_keys):
        fecha, suc = split_key(key)
        try:
            reader = branches.reader(suc, BRANCHES[suc].connection_url(branches.home_path))
            index = key_index(lake, suc, fecha)
            found = {}
            for tabla in RECONCILED:
                table = detect_deletes(lake, reader, tabla, suc, fecha, index)
                path = paths.tombstones(tabla, suc, fecha)
                if table.num_rows:
                    lake.write_parquet(path, table)
                    context.log.warning(f"{suc}: {table.num_rows} row(s) deleted from {tabla} at the branch")
                    if table.num_rows > max(MASS_DELETE_ROWS, MASS_DELETE_SHARE * len(index[tabla])):
                        mass.append(f"{suc} {tabla}: {table.num_rows} of {len(index[tabla])}")
                else:
                    lake.delete(path)
                found[tabla] = table.num_rows
                all_bajas.append(table)
            diff = compare_fingerprints(lake, reader, suc, *compared_range(fecha))
            lake.write_parquet(paths.fingerprint_differences(suc, fecha), diff)
        except (BranchUnreachable, BranchQueryError) as exc:
            failures[key] = exc
            continue
        days = sorted({d.isoformat() for d in diff["fecha"].to_pylist()})
        if days:
            stale[suc] = days
            context.log.info(f"{suc}: {len(days)} older branch-day(s) differ from the lake: {', '.join(days[:10])}")
        context.log_event(dg.AssetMaterialization(BAJAS, partition=key, metadata={
            "bajas": sum(found.values()), "por_tabla": dg.MetadataValue.json(found)}))
        context.log_event(dg.AssetMaterialization(HUELLAS, partition=key, metadata={
            "dias_distintos": dg.MetadataValue.json(days), "sucursal": suc,
            "ruta": dg.MetadataValue.path(lake.uri(paths.fingerprint_differences(suc, fecha)))}))
    bajas = pa.concat_tables(all_bajas) if all_bajas else BAJAS_SCHEMA.empty_table()
    try:
        Bajas.validate(bajas.to_pandas(types_mapper=pd.ArrowDtype))
        schema_ok = True
    except pda.errors.SchemaError:
        schema_ok = False
    yield dg.AssetCheckResult(asset_key=BAJAS, check_name="esquema", passed=schema_ok,
                              description=f"{bajas.num_rows} tombstone(s) "
                              f"{'match' if schema_ok else 'do NOT match'} the Bajas contract",
                              metadata={"bajas": bajas.num_rows})
    yield dg.AssetCheckResult(asset_key=BAJAS, check_name="borrado_masivo", passed=not mass,
                              severity=dg.AssetCheckSeverity.WARN,
                              description="; ".join(mass) if mass else "no mass delete",
                              metadata={"borrados_masivos": dg.MetadataValue.json(mass)})
    yield dg.AssetCheckResult(asset_key=HUELLAS, check_name="huella_igual", passed=not stale,
                              severity=dg.AssetCheckSeverity.WARN,
                              description=(f"{sum(map(len, stale.values()))} branch-day(s) differ and are re-extracted"
                                           if stale else "every older branch-day matches the branch"),
                              metadata={"dias_distintos": dg.MetadataValue.json(stale)})
    if failures:
        raise dg.Failure(description=f"{len(failures)} branch(es) not reconciled (they are retried the next night):\n"
                         + "\n".join(f"- {k}: {e}" for k, e in sorted(failures.items())),
                         allow_retries=False)
