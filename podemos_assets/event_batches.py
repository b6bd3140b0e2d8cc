"""Dagster events written a batch at a time: the switch, the write both storages share, and the marker the
branch extraction puts on its reported materializations (docs/sucursales.md, "Measured").

Why: Dagster stores each event on its own (on SQLite two connections and two commits, on Postgres three
committed statements), and a night run of 200 branch-days writes ~2,450 of them: 1,213 planned events when it
is created, 1,200 materializations while it runs. Dagster can hand events it marks as one batch to the
storage's `store_event_batch` (its `DAGSTER_EVENT_BATCH_SIZE` switch, off by default); our storages
(instance_storage.py for Postgres, instance_storage_sqlite.py for the embedded SQLite) write such a batch as
one INSERT and one transaction.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import dagster as dg
from dagster._core.events import DagsterEvent, DagsterEventBatchMetadata, generate_event_batch_id
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable

EVENT_BATCH_SIZE = 500  # rows per INSERT: 7 bind parameters each (SQLite allows 32,766; Postgres 65,535)

# Written at once; any other event type goes through the storage's own path.
BATCHED = {dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, dg.DagsterEventType.ASSET_MATERIALIZATION,
           dg.DagsterEventType.ASSET_OBSERVATION}


def enable_event_batching() -> None:
    """Turn Dagster's batching on in this process (a storage that writes batches at once calls it); an
    operator who sets DAGSTER_EVENT_BATCH_SIZE keeps the value (0: off)."""
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", str(EVENT_BATCH_SIZE))


def split_batch(events: Sequence[EventLogEntry]) -> tuple[list[EventLogEntry], list[EventLogEntry]]:
    """The events of a batch written at once (asset events), and the others."""
    batched: list[EventLogEntry] = []
    others: list[EventLogEntry] = []
    for event in events:  # one pass: a run's planned events are a batch of over a thousand
        is_asset_event = event.dagster_event_type in BATCHED and event.dagster_event.asset_key
        (batched if is_asset_event else others).append(event)
    return batched, others


def insert_events(storage, conn, events: Sequence[EventLogEntry]) -> list[int]:
    """The events' rows as the storage builds them, their ids in the order of `events`. SQLAlchemy's
    "insertmanyvalues" with `sort_by_parameter_order`: on Postgres multi-row INSERTs whose RETURNING is
    ordered; on SQLite, where no INSERT form ties new rowids to the rows' order, one INSERT per row (cheap
    inside one transaction: no commit, no fsync each)."""
    rows = [storage._event_to_row(event) for event in events]  # noqa: SLF001 (prepare_insert_event's row)
    result = conn.execute(SqlEventLogStorageTable.insert().returning(SqlEventLogStorageTable.c.id,
                                                                     sort_by_parameter_order=True), rows)
    return [int(row[0]) for row in result.fetchall()]


def store_asset_events(storage, conn, events: Sequence[EventLogEntry]) -> list[int]:
    """In `conn`'s transaction on the storage's index: the events, their indexed tags, and one asset-row
    update per asset and event type with the values of its last event (what one-by-one updates leave).
    Their ids, in the order of `events`."""
    ids = insert_events(storage, conn, events)
    storage._store_asset_event_tags(conn, events, ids)  # noqa: SLF001 (what store_event calls per event)
    last = {(e.dagster_event.asset_key, e.dagster_event_type): (i, e) for e, i in zip(events, ids)}
    for event_id, event in sorted(last.values(), key=lambda pair: pair[0]):  # in the order they happened
        storage._store_asset_event(conn, event, event_id)  # noqa: SLF001
    return ids


def log_materializations(context: dg.AssetExecutionContext, materializations: list[dg.AssetMaterialization]) -> None:
    """`context.log_event` for materializations of one asset, marked as one batch of Dagster events (as
    Dagster marks the materializations of one partitioned output, execute_step.py). With batching off,
    Dagster stores them one by one."""
    step = context.op_execution_context.get_step_execution_context()
    batch = generate_event_batch_id()
    for i, materialization in enumerate(materializations):
        end = DagsterEventBatchMetadata(batch, is_end=i == len(materializations) - 1)
        # what log_event does: the event is stored on creation, then handed to the step's event stream
        context.op_execution_context._events.append(  # noqa: SLF001
            DagsterEvent.asset_materialization(step, materialization, end))
