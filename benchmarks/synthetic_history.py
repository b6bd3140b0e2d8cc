"""Fill a Dagster instance with years of the platform's history in minutes (issue 16 item 2).

What a night of production leaves in the instance, for every night of `--years` up to yesterday:
  - per branch zone block (the runs `sucursales_automatizacion` requests): one extraction run and one
    reconciliation run, each a SUCCESS run record with the sensor's tags (partition range, motivo);
  - per branch-day: a planned and a materialization event for each of the 8 branch assets (6 tables,
    `bajas`, `huellas`) with the metadata the real assets write (filas, rutas, verdicts);
  - ~1% of branch-days offline: a FAILURE run (planned events only) and the next night's catch-up run;
  - per run, one evaluation per check of the assets it materialized (~1% failed);
  - per day, one run materializing every daily-partitioned asset (pagos, campo, regulatorio) and the
    unpartitioned ones, with their checks.
Events are written through the event log storage's own insert statements and asset indexes (the rows
Dagster writes, batched in one transaction per few thousand events) rather than through 3 years of real
runs. Left out: the per-run event logs (compute steps, logs) that only a run's own page reads; on SQLite
they live in one file per run and no cross-run query reads them.

Use: .venv/bin/python benchmarks/synthetic_history.py --dagster-home DIR [--years 3] [--branches 200]
(DIR/dagster.yaml decides the storage: SQLite by default, Postgres as deploy/dagster.prod.yaml).
benchmarks/instance_history.py fills SQLite and Postgres instances with it and measures them.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dagster as dg  # noqa: E402

# No public API writes events in bulk with chosen timestamps; these are the storage's own row builders.
from dagster._core.events import (  # noqa: E402
    AssetMaterializationPlannedData,
    DagsterEvent,
    DagsterEventType,
    StepMaterializationData,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus  # noqa: E402
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable  # noqa: E402
from dagster._serdes import serialize_value  # noqa: E402

from podemos_assets.event_batches import insert_events, store_asset_events  # noqa: E402  (what the storages do)

JOB = "__ASSET_JOB"
BATCH = 4000
OFFLINE_RATE = 0.01
FAILED_CHECK_RATE = 0.01


@dataclass
class Shape:
    """The graph the history is written for, read from the definitions (so it follows the code)."""

    branch_assets: list[dg.AssetKey]  # fecha x sucursal: the six tables, then bajas and huellas
    daily_assets: list[dg.AssetKey]
    other_assets: list[dg.AssetKey]
    checks: dict[dg.AssetKey, list[str]]
    blocks: list[list[str]]  # branch ids per run, as the night sensor groups them

    @classmethod
    def of(cls, defs: dg.Definitions, branch_ids: list[str]) -> Shape:
        from podemos_assets.sucursales.automation import zones
        from podemos_assets.sucursales.partitions import BRANCHES, contiguous_blocks
        from podemos_assets.sucursales.schemas import BAJAS, HUELLAS

        graph = defs.resolve_asset_graph()
        branch, daily, other = [], [], []
        for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
            pd = graph.get(key).partitions_def
            if isinstance(pd, dg.MultiPartitionsDefinition):
                if "fecha" in pd.partition_dimension_names:  # closed months (`mes`) have no nightly history
                    branch.append(key)
            else:
                (daily if pd else other).append(key)
        checks: dict[dg.AssetKey, list[str]] = {}
        for ck in sorted(graph.asset_check_keys, key=lambda c: (c.asset_key.to_user_string(), c.name)):
            checks.setdefault(ck.asset_key, []).append(ck.name)
        wanted = set(branch_ids)
        blocks = []
        for zone in zones():
            ids = [b for b in BRANCHES if BRANCHES[b].zona_horaria == zone and b in wanted]
            for b0, b1 in contiguous_blocks(ids) if ids else []:
                order = list(BRANCHES)
                blocks.append(order[order.index(b0): order.index(b1) + 1])
        recon = [BAJAS, HUELLAS]  # materialized by the nightly reconciliation run, the rest by the extraction
        return cls([k for k in branch if k not in recon] + recon, daily, other, checks, blocks)


@dataclass
class Writer:
    """Batched writes of runs and asset/check events with chosen timestamps."""

    instance: dg.DagsterInstance
    events: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    written: int = 0
    runs: int = 0

    def run(self, run_id: str, status: dg.DagsterRunStatus, tags: dict[str, str]) -> None:
        self.instance.run_storage.add_run(dg.DagsterRun(job_name=JOB, run_id=run_id, status=status, tags=tags))
        self.runs += 1

    def event(self, run_id: str, at: float, event_type: DagsterEventType, data, step: str) -> None:
        de = DagsterEvent(event_type_value=event_type.value, job_name=JOB, step_key=step, event_specific_data=data)
        self.events.append(dg.EventLogEntry(user_message="", level=20, job_name=JOB, run_id=run_id, error_info=None,
                                            timestamp=at, step_key=step, dagster_event=de))
        if len(self.events) >= BATCH:
            self.flush()

    def check(self, run_id: str, at: float, key: dg.AssetKey, name: str, passed: bool) -> None:
        evaluation = dg.AssetCheckEvaluation(asset_key=key, check_name=name, passed=passed,
                                             metadata={"particiones": 1})
        de = DagsterEvent(event_type_value=DagsterEventType.ASSET_CHECK_EVALUATION.value, job_name=JOB,
                          event_specific_data=evaluation)
        self.checks.append(dg.EventLogEntry(user_message="", level=20, job_name=JOB, run_id=run_id,
                                            error_info=None, timestamp=at, dagster_event=de))

    def flush(self) -> None:
        storage = self.instance.event_log_storage
        events, checks, self.events, self.checks = self.events, self.checks, [], []
        with storage.index_transaction() as conn:
            if events:
                store_asset_events(storage, conn, events)
            if checks:
                ids = insert_events(storage, conn, checks)
                conn.execute(AssetCheckExecutionsTable.insert(), [{
                    "asset_key": ev.dagster_event.event_specific_data.asset_key.to_string(),
                    "check_name": ev.dagster_event.event_specific_data.check_name,
                    "run_id": ev.run_id,
                    "execution_status": (AssetCheckExecutionRecordStatus.SUCCEEDED if ev.dagster_event.event_specific_data.passed
                                         else AssetCheckExecutionRecordStatus.FAILED).value,
                    "evaluation_event": serialize_value(ev),
                    "evaluation_event_timestamp": datetime.fromtimestamp(ev.timestamp, UTC).replace(tzinfo=None),
                    "evaluation_event_storage_id": eid,
                } for ev, eid in zip(checks, ids, strict=True)])
        self.written += len(events) + len(checks)


def materialize(w: Writer, run_id: str, at: float, key: dg.AssetKey, partition: str | None,
                metadata: dict, tags: dict[str, str] | None = None) -> None:
    step = "__".join(key.path)
    w.event(run_id, at, DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
            AssetMaterializationPlannedData(key, partition=partition), step)
    w.event(run_id, at + 1, DagsterEventType.ASSET_MATERIALIZATION,
            StepMaterializationData(dg.AssetMaterialization(key, partition=partition, metadata=metadata, tags=tags)),
            step)


def planned_only(w: Writer, run_id: str, at: float, key: dg.AssetKey, partition: str) -> None:
    w.event(run_id, at, DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
            AssetMaterializationPlannedData(key, partition=partition), "__".join(key.path))


def nights(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def fill(instance: dg.DagsterInstance, shape: Shape, first: date, last: date, seed: int = 7,
         progress=print) -> Writer:
    """Write the history of the branch-days [first, last] and of their daily assets."""
    rng = random.Random(seed)
    w = Writer(instance)
    t0 = time.perf_counter()
    recon = set(shape.branch_assets[-2:])  # bajas, huellas: materialized by the reconciliation run
    tables = [a for a in shape.branch_assets if a not in recon]
    late = []  # (day, branch) offline on its night, caught up the next night
    for n, day in enumerate(nights(first, last)):
        # The night after `day`, 01:00 Mexico City (07:00 UTC).
        at = datetime(day.year, day.month, day.day, 7, tzinfo=UTC).timestamp() + 86400
        for block in shape.blocks:
            offline = {s for s in block if rng.random() < OFFLINE_RATE}
            run_id = str(uuid.uuid4())
            ok = [s for s in block if s not in offline]
            status = dg.DagsterRunStatus.FAILURE if offline else dg.DagsterRunStatus.SUCCESS
            w.run(run_id, status, {"dagster/asset_partition_range_start": f"{day}|{block[0]}",
                                   "dagster/asset_partition_range_end": f"{day}|{block[-1]}",
                                   "podemos/motivo": "noche"})
            for suc in block:
                if suc in offline:
                    for asset in tables:
                        planned_only(w, run_id, at, asset, f"{day}|{suc}")
                    late.append((day, suc))
                    continue
                for asset in tables:
                    materialize(w, run_id, at, asset, f"{day}|{suc}", {"filas": rng.randint(0, 400),
                                "filas_cuarentena": 0, "ruta": f"raw/{asset.to_user_string()}/fecha={day}/sucursal={suc}",
                                "conciliacion": "ok: filas y monto iguales"},
                                {"dagster/partition/fecha": day.isoformat(), "dagster/partition/sucursal": suc})
            for asset in tables:
                for name in shape.checks.get(asset, []):
                    w.check(run_id, at + 2, asset, name, passed=not offline and rng.random() > FAILED_CHECK_RATE)
            recon_id = str(uuid.uuid4())
            w.run(recon_id, dg.DagsterRunStatus.SUCCESS, {"podemos/motivo": "conciliacion"})
            for suc in ok:
                for asset in recon:
                    materialize(w, recon_id, at + 60, asset, f"{day}|{suc}", {"filas": 0, "dias_distintos": []},
                                {"dagster/partition/fecha": day.isoformat(), "dagster/partition/sucursal": suc})
            for asset in recon:
                for name in shape.checks.get(asset, []):
                    w.check(recon_id, at + 62, asset, name, passed=True)
        for old_day, suc in [x for x in late if x[0] < day]:
            run_id = str(uuid.uuid4())
            w.run(run_id, dg.DagsterRunStatus.SUCCESS, {"podemos/motivo": "recuperacion"})
            for asset in shape.branch_assets:
                metadata = {"filas": 0, "dias_distintos": []} if asset in recon else {"filas": rng.randint(0, 400)}
                materialize(w, run_id, at + 600, asset, f"{old_day}|{suc}", metadata,
                            {"dagster/partition/fecha": old_day.isoformat(), "dagster/partition/sucursal": suc})
            late.remove((old_day, suc))
        daily_id = str(uuid.uuid4())
        w.run(daily_id, dg.DagsterRunStatus.SUCCESS, {"podemos/motivo": "diario"})
        for asset in shape.daily_assets:
            materialize(w, daily_id, at + 3600, asset, day.isoformat(), {"filas": rng.randint(0, 10_000)})
            for name in shape.checks.get(asset, []):
                w.check(daily_id, at + 3602, asset, name, passed=rng.random() > FAILED_CHECK_RATE)
        for asset in shape.other_assets:
            materialize(w, daily_id, at + 3700, asset, None, {"filas": rng.randint(0, 10_000)})
        if n % 30 == 29:
            w.flush()
            rate = w.written / (time.perf_counter() - t0)
            progress(f"    {day}: {w.runs:,} runs, {w.written:,} events ({rate:,.0f} events/s)")
    w.flush()
    return w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dagster-home", required=True, type=Path)
    parser.add_argument("--years", type=float, default=3)
    parser.add_argument("--branches", type=int, default=200)
    args = parser.parse_args()
    import os

    os.environ["DAGSTER_HOME"] = str(args.dagster_home.resolve())
    from podemos_assets.definitions import defs
    from podemos_assets.sucursales.partitions import BRANCHES

    last = date.today() - timedelta(days=1)
    first = last - timedelta(days=round(365 * args.years) - 1)
    if args.branches > len(BRANCHES):
        from podemos_assets.config import load_settings

        raise SystemExit(f"--branches {args.branches}: the registry {load_settings().branch_registry} has "
                         f"{len(BRANCHES)}; give a registry with as many (PODEMOS_BRANCH_REGISTRY, or "
                         "benchmarks/instance_history.py, which writes one)")
    shape = Shape.of(defs, list(BRANCHES)[: args.branches])
    with dg.DagsterInstance.get() as instance:
        t0 = time.perf_counter()
        w = fill(instance, shape, first, last)
        print(f"{first}..{last}: {w.runs:,} runs, {w.written:,} events in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
