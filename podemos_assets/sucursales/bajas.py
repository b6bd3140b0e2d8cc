"""Hard-delete detection: a periodic key reconciliation per branch writes tombstones for the warehouse.

Keys ever extracted to the lake (up to the partition's day) minus the keys the branch holds now minus
keys already tombstoned = rows deleted at the branch. `miembros` has a composite key and the tombstone
contract an `id`, so memberships are not reconciled (a deleted membership only matters through its loan).
"""

from __future__ import annotations

import posixpath
from datetime import date
from typing import Annotated

import dagster as dg
import pandas as pd
import pandera.pandas as pda
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from podemos_assets.gobierno import Classification as C
from podemos_assets.gobierno import column, schema_metadata
from podemos_assets.resources.branches import BranchesResource, BranchQueryError, BranchUnreachable
from podemos_assets.resources.lake import LakeResource
from podemos_assets.sucursales.assets import KEYS
from podemos_assets.sucursales.extract import TABLAS, tombstone_path
from podemos_assets.sucursales.partitions import BRANCHES, PARTITIONS, split_key
from podemos_assets.sucursales.schemas import Text

RECONCILED = tuple(t for t in TABLAS if t != "miembros")
SCHEMA = pa.schema([("tabla", pa.string()), ("id", pa.int64()), ("sucursal", pa.string()), ("fecha", pa.date32())])
BAJAS = dg.AssetKey(["sucursales", "bajas"])


class Bajas(pda.DataFrameModel):
    tabla: Text = column("Branch table the row was deleted from", C.PUBLICO)
    id: Annotated[pd.ArrowDtype, pa.int64()] = column("Key of the deleted row", C.SENSIBLE)
    sucursal: Text = column("Branch id", C.PUBLICO)
    fecha: Annotated[pd.ArrowDtype, pa.date32()] = column("Day the deletion was detected", C.PUBLICO)


def _lake_ids(lake: LakeResource, keys: list[str], suc: str, until: date) -> set[int]:
    """ids of branch `suc` in the extract files `keys` whose fecha= is <= until (Hive path parsing).

    The path puts fecha before sucursal, so a listing covers every branch; only this branch's files are
    read (reading them all made a box of N branches cost N^2 file reads)."""
    ids: set[int] = set()
    for key in keys:
        parts = dict(p.split("=", 1) for p in posixpath.dirname(key).split("/") if "=" in p)
        if parts["sucursal"] == suc and date.fromisoformat(parts["fecha"]) <= until:
            ids.update(lake.read_parquet(key).column("id").to_pylist())
    return ids


def detect_deletes(lake: LakeResource, reader, tabla: str, suc: str, fecha: date,
                   extracted: list[str] | None = None) -> pa.Table:
    """Tombstones for `tabla` at `suc`; `extracted` is the listing of the table's extract files, if the
    caller already has it (one listing per run instead of one per branch)."""
    keys = extracted if extracted is not None else list(lake.list(f"raw/sucursales/{tabla}/"))
    seen = _lake_ids(lake, keys, suc, fecha)
    earlier = {
        i for k in lake.list(f"raw/sucursales/_bajas/{tabla}/sucursal={suc}/")
        if f"fecha={fecha.isoformat()}" not in k for i in lake.read_parquet(k).column("id").to_pylist()
    }
    gone = sorted(seen - set(reader.keys(tabla).column("id").to_pylist()) - earlier)
    n = len(gone)
    return pa.table([pa.array([tabla] * n), pa.array(gone, pa.int64()), pa.array([suc] * n), pa.array([fecha] * n, pa.date32())],
                    schema=SCHEMA)


@dg.asset(
    key=BAJAS,
    deps=[KEYS[t] for t in RECONCILED],
    partitions_def=PARTITIONS,
    group_name="sucursales",
    pool="sucursales",
    description="Tombstones of rows hard-deleted at a branch, found by reconciling every key extracted so far "
    "against the keys the branch holds now. Lake: raw/sucursales/_bajas/{tabla}/sucursal=/fecha=/part-0.parquet.",
    metadata=schema_metadata(Bajas),
    kinds={"mysql", "parquet"},
)
def bajas_sucursales(context, lake: LakeResource, branches: BranchesResource):
    """Run weekly, or after a branch reports a cleanup; cheap enough to run with each daily box."""
    failures, found = {}, 0
    extracted = {tabla: list(lake.list(f"raw/sucursales/{tabla}/")) for tabla in RECONCILED}
    for key in sorted(str(k) for k in context.partition_keys):
        fecha, suc = split_key(key)
        try:
            reader = branches.reader(suc, BRANCHES[suc].connection_url(branches.home_path))
            for tabla in RECONCILED:
                table = detect_deletes(lake, reader, tabla, suc, fecha, extracted[tabla])
                path = tombstone_path(tabla, suc, fecha)
                if table.num_rows:
                    lake.write_parquet(path, table)
                    found += table.num_rows
                    context.log.warning(f"{suc}: {table.num_rows} row(s) deleted from {tabla}: {table['id'].to_pylist()}")
                else:
                    lake.delete(path)
        except (BranchUnreachable, BranchQueryError) as exc:
            failures[key] = exc
    context.log.info(f"{found} tombstone(s) written")
    if failures:
        raise dg.Failure(description="\n".join(f"- {k}: {e}" for k, e in failures.items()))
    return dg.MaterializeResult(metadata={"bajas": found})
