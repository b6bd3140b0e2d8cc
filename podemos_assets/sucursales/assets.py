"""The branch extraction multi-asset: six tables per (fecha, sucursal) partition, to the raw lake.

One run may cover many partitions (a box of days x branches). Each partition succeeds or fails on its
own: the asset records a materialization per partition it wrote, and fails the run at the end naming
the branches it could not reach, so Dagster marks exactly those partitions failed (per-branch
isolation without one process per partition; numbers in docs/sucursales.md). The partitions are read,
validated and written in chunks by a worker thread while the op reports the ones already written: an
unexpected error (a full disk) fails the run and keeps the materializations of what was written before it.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from podemos_assets.contracts import lake as paths
from podemos_assets.contracts import schema_metadata
from podemos_assets.contracts.sucursales import BRANCH_TABLES, TABLAS
from podemos_assets.event_batches import log_materializations
from podemos_assets.resources.branches import BranchesResource, BranchQueryError, BranchUnreachable
from podemos_assets.resources.lake import LakeResource
from podemos_assets.sucursales.checks import EXTRACTION_CHECKS
from podemos_assets.sucursales.extract import (
    KEYS_SCHEMA,
    BranchDay,
    money_sum,
    read_branch_day,
    reconcile,
    validate,
)
from podemos_assets.sucursales.partitions import BRANCH_DAY_PARTITIONS, BRANCHES, split_key
from podemos_assets.sucursales.schemas import KEYS, MODELS

DESCRIPTIONS = {
    "grupos": "Lending groups changed that branch-local day",
    "clientes": "Clients (PII) changed that branch-local day",
    "miembros": "Group memberships changed that branch-local day",
    "cuentas": "Group loan accounts changed that branch-local day",
    "calendario_pagos": "Weekly instalments changed that branch-local day (PAR comes from these)",
    "transacciones": "Payments and reversals changed that branch-local day",
}
SPECS = [
    dg.AssetSpec(
        KEYS[t],
        description=f"{DESCRIPTIONS[t]}: rows of the branch table `{t}` whose updated_at falls in the day "
        f"[fecha 00:00, fecha+1 00:00) in the branch's zone, with lineage columns. Lake: "
        f"{paths.branch_extract(t, 'YYYY-MM-DD', 'suc_NNN')}.",
        group_name="sucursales",
        partitions_def=BRANCH_DAY_PARTITIONS,
        metadata=schema_metadata(MODELS[t]),
        kinds={"mysql", "parquet"},
        skippable=True,  # materializations are reported per partition (see module docstring)
    )
    for t in TABLAS
]



def _read(branches: BranchesResource, key: str):
    fecha, suc = split_key(key)
    branch = BRANCHES[suc]
    try:
        reader = branches.reader(suc, branch.connection_url(branches.home_path))
        return read_branch_day(reader, suc, branch.zona_horaria, fecha)
    except (BranchUnreachable, BranchQueryError) as exc:
        return exc


def _write(lake: LakeResource, tabla: str, day: BranchDay, valid: pa.Table, quarantine: pa.Table) -> dict:
    path = paths.branch_extract(tabla, day.fecha, day.sucursal)
    uri = lake.write_parquet(path, valid)
    qpath = paths.branch_extract(tabla, day.fecha, day.sucursal, root="cuarentena")
    if quarantine.num_rows:
        lake.write_parquet(qpath, quarantine)
    else:
        lake.delete(qpath)  # a re-run that finds the row fixed must not leave the old quarantine behind
    ts = valid["updated_at"]
    return {
        "filas": dg.MetadataValue.int(valid.num_rows),
        "filas_cuarentena": dg.MetadataValue.int(quarantine.num_rows),
        "updated_at_min": str(pc.min(ts).as_py()) if valid.num_rows else "",
        "updated_at_max": str(pc.max(ts).as_py()) if valid.num_rows else "",
        "extraido_en": day.extracted_at.isoformat(timespec="seconds"),
        "ruta": dg.MetadataValue.path(uri),
    }


@dataclass
class BoxOutcome:
    """What a run over a box of partitions did: per-partition materializations and per-run check inputs."""

    materializations: list[tuple[str, str, dict]] = field(default_factory=list)  # (tabla, partition, metadata)
    failures: dict[str, Exception] = field(default_factory=dict)
    mismatches: dict[str, list[str]] = field(default_factory=lambda: {t: [] for t in TABLAS})
    quarantined: dict[str, int] = field(default_factory=lambda: {t: 0 for t in TABLAS})
    schema_ok: dict[str, bool] = field(default_factory=lambda: {t: True for t in TABLAS})
    stale: list[str] = field(default_factory=list)
    partitions: int = 0


def _write_sidecars(lake: LakeResource, day: BranchDay, held: dict[str, list[pa.Table]]) -> None:
    """The branch-day's fingerprint (what the lake holds now) and its key index (every id ever held)."""
    fingerprint = {t: {"filas": sum(p.num_rows for p in parts),
                       "monto": str(sum((money_sum(p) for p in parts), Decimal("0.00")))}
                   for t, parts in sorted(held.items())}
    lake.write_bytes(paths.fingerprint(day.sucursal, day.fecha), json.dumps(fingerprint, sort_keys=True).encode())
    path = paths.key_index(day.sucursal, day.fecha)
    new = pa.concat_tables([
        pa.table({"tabla": pa.repeat(pa.scalar(t, pa.string()), p.num_rows), "id": p["id"].cast(pa.int64())},
                 schema=KEYS_SCHEMA)
        for t, parts in held.items() if "id" in BRANCH_TABLES[t] for p in parts
    ] + ([lake.read_parquet(path).cast(KEYS_SCHEMA)] if lake.exists(path) else []))
    # one thread: Acero's thread pool costs more than it saves on a branch-day's keys (and sorted just below)
    new = new.filter(pc.is_valid(new["id"])).group_by(["tabla", "id"], use_threads=False).aggregate([])
    lake.write_parquet(path, new.sort_by([("tabla", "ascending"), ("id", "ascending")]).select(KEYS_SCHEMA.names))


# Partitions read, validated and written together: pandera costs milliseconds per call, so it runs once per
# chunk and table, not per partition; and the first chunk's materializations are reported while the next
# chunks are still being read and written (Dagster stores each event on its own, which is most of a
# 200-branch run: docs/sucursales.md, "Measured").
CHUNK = 25


def _validate_chunk(days: dict[str, BranchDay], out: BoxOutcome) -> dict[str, dict[str, tuple[pa.Table, pa.Table]]]:
    """One pandera validation per table over the chunk's partitions, split back per partition."""
    split: dict[str, dict[str, tuple[pa.Table, pa.Table]]] = {k: {} for k in days}
    for tabla in TABLAS:
        valid, quarantine = validate(tabla, pa.concat_tables([d.tables[tabla] for d in days.values()]))
        if quarantine.num_rows:  # when nothing was set aside, `valid` is exactly what validate() just passed
            try:
                MODELS[tabla].validate(valid.to_pandas(types_mapper=pd.ArrowDtype))
            except Exception:
                out.schema_ok[tabla] = False
        out.quarantined[tabla] += quarantine.num_rows
        for key in days:
            split[key][tabla] = (valid.filter(pc.equal(valid["extraccion"], key)),
                                 quarantine.filter(pc.equal(quarantine["extraccion"], key)))
    return split


def _write_partition(lake: LakeResource, key: str, day: BranchDay,
                     tables: dict[str, tuple[pa.Table, pa.Table]]) -> list[tuple[str, str, dict, str | None]]:
    """Write one partition's six extracts (and quarantines) and reconcile them, then its sidecars: the
    partition's materializations as (tabla, partition, metadata, reconciliation problem or None)."""
    written = []
    for tabla in TABLAS:
        v, q = tables[tabla]
        metadata = _write(lake, tabla, day, v, q)
        problem = reconcile(tabla, v, q, day.totals[tabla])
        # The day's own verdicts, stored with its materialization: the run's check result covers the
        # whole box, these stay readable per branch-day in the UI (asset > Partitions > that day).
        metadata["conciliacion"] = f"DIFERENCIA: {problem}" if problem else "ok: lake + quarantine equal the branch"
        if tabla == "transacciones":
            metadata["con_pagos"] = v.num_rows > 0
        written.append((tabla, key, metadata, problem))
    _write_sidecars(lake, day, {t: list(vq) for t, vq in tables.items()})
    return written


def _produce(lake: LakeResource, branches: BranchesResource, keys: list[str], out: BoxOutcome,
             results: queue.Queue, stop: threading.Event) -> None:
    """Chunk by chunk: read (in parallel), validate, write (in parallel); each chunk's written partitions go
    to `results` together, in key order, then None. An unexpected error goes to `results` after what was
    written before it, and ends the work."""
    pool = ThreadPoolExecutor(max_workers=max(1, branches.parallel_branches))
    try:
        chunks = [keys[i:i + CHUNK] for i in range(0, len(keys), CHUNK)]
        reads = [pool.submit(_read, branches, k) for k in chunks[0]] if chunks else []
        for n, chunk in enumerate(chunks):
            read = dict(zip(chunk, (f.result() for f in reads)))
            days = {k: r for k, r in read.items() if isinstance(r, BranchDay)}
            out.failures.update({k: r for k, r in read.items() if not isinstance(r, BranchDay)})
            out.partitions += len(days)
            tables = _validate_chunk(days, out) if days else {}
            writes = [pool.submit(_write_partition, lake, k, d, tables[k]) for k, d in days.items()]
            # the next chunk's reads queue behind these writes: the first materializations come early
            reads = [pool.submit(_read, branches, k) for k in chunks[n + 1]] if n + 1 < len(chunks) else []
            done = []  # the chunk's partitions, handed over together: one batch of events per table
            try:
                for f in writes:
                    done.extend(f.result())
            finally:  # a write that failed: what was written before it is still reported
                if done:
                    results.put(done)
            if stop.is_set():
                break
        results.put(None)
    except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread, which raises it
        results.put(exc)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def iter_box(lake: LakeResource, branches: BranchesResource, keys: list[str],
             out: BoxOutcome) -> Iterator[list[tuple[str, str, dict]]]:
    """Extract, validate, write and reconcile every partition in `keys`, yielding the materializations
    (tabla, partition, metadata) of the partitions written so far as soon as there are any, in key order
    (the consumer stores them together: one batch of Dagster events per table); the per-run check inputs
    accumulate in `out`. Failures are per partition."""
    results: queue.Queue = queue.Queue()
    stop = threading.Event()
    worker = threading.Thread(target=_produce, args=(lake, branches, keys, out, results, stop),
                              name="extraccion_sucursales", daemon=True)
    worker.start()
    try:
        failure: BaseException | None = None
        finished = False
        while not finished and failure is None:
            written: list[tuple[str, str, dict]] = []
            item = results.get()  # wait for one chunk, then take whatever else is already written
            while True:
                if item is None:
                    finished = True
                    break
                if isinstance(item, BaseException):
                    failure = item  # raised once what was written before it is reported
                    break
                for tabla, key, metadata, problem in item:
                    if problem:
                        out.mismatches[tabla].append(f"{key}: {problem}")
                    if metadata.get("con_pagos") is False:
                        out.stale.append(key)
                written.extend(m[:3] for m in item)
                try:
                    item = results.get_nowait()
                except queue.Empty:
                    break
            out.materializations.extend(written)
            if written:
                yield written
        if failure is not None:
            raise failure
    finally:
        stop.set()  # the consumer stopped early (an error): finish the chunk in hand, start no other
        worker.join()


def extract_box(lake: LakeResource, branches: BranchesResource, keys: list[str], log=None) -> BoxOutcome:
    """`iter_box` to the end: the outcome of every partition in `keys`."""
    out = BoxOutcome()
    t0 = time.perf_counter()
    for _ in iter_box(lake, branches, keys, out):
        pass
    if log:
        log(f"extracted {out.partitions} of {len(keys)} branch-days in {time.perf_counter() - t0:.1f} s")
    return out


@dg.multi_asset(
    name="extraccion_sucursales",
    specs=SPECS,
    check_specs=EXTRACTION_CHECKS,
    partitions_def=BRANCH_DAY_PARTITIONS,
    pool="sucursales",
    can_subset=False,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=200),
)
def extraccion_sucursales(context, lake: LakeResource, branches: BranchesResource):
    """Extract every partition of the run; unreachable branches fail only their own partitions."""
    keys = sorted(str(k) for k in context.partition_keys)
    out = BoxOutcome()
    t0 = time.perf_counter()
    for written in iter_box(lake, branches, keys, out):  # reported while later partitions are still written
        for tabla in TABLAS:
            log_materializations(context, [dg.AssetMaterialization(KEYS[tabla], partition=key, metadata=metadata)
                                           for t, key, metadata in written if t == tabla])
    context.log.info(f"extracted {out.partitions} of {len(keys)} branch-days in {time.perf_counter() - t0:.1f} s")
    # The branch-days of the run in every description: a check's history then says which days it judged.
    span = keys[0] if len(keys) == 1 else f"{len(keys)} branch-days {keys[0]} .. {keys[-1]}"
    for tabla in TABLAS:
        yield dg.AssetCheckResult(
            asset_key=KEYS[tabla], check_name="esquema", passed=out.schema_ok[tabla],
            description=f"{span}: the valid rows {'match' if out.schema_ok[tabla] else 'do NOT match'} the "
            f"{tabla} contract; {out.quarantined[tabla]} row(s) quarantined with their reason",
            metadata={"particiones": out.partitions, "filas_cuarentena": out.quarantined[tabla]},
        )
        yield dg.AssetCheckResult(
            asset_key=KEYS[tabla], check_name="conciliacion", passed=not out.mismatches[tabla],
            description=(f"{span}: {len(out.mismatches[tabla])} difference(s) with the branch, first: "
                         f"{out.mismatches[tabla][0]}" if out.mismatches[tabla]
                         else f"{span}: lake + quarantine equal the branch's counts and sums"),
            metadata={"particiones": out.partitions, "diferencias": dg.MetadataValue.md(
                "\n".join(f"- {m}" for m in out.mismatches[tabla][:50]) or "none")},
        )
    yield dg.AssetCheckResult(
        asset_key=KEYS["transacciones"], check_name="frescura", passed=not out.stale,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"{len(out.stale)} branch-day(s) without any payment: {', '.join(out.stale[:5])}"
                     if out.stale else f"{span}: payments every branch-day"),
        metadata={"sin_pagos": dg.MetadataValue.md("\n".join(f"- {k}" for k in out.stale[:50]) or "none")},
    )
    if out.failures:
        lines = "\n".join(f"- {k}: {exc}" for k, exc in sorted(out.failures.items()))
        raise dg.Failure(
            description=f"{len(out.failures)} of {out.partitions + len(out.failures)} branch-day(s) not extracted (the others were written):\n{lines}",
            metadata={"fallidas": dg.MetadataValue.json(sorted(out.failures))},
            allow_retries=False,  # the catch-up sensor re-requests them when the branch answers again
        )
