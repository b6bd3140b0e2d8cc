"""Partitions of `pagos`: the branch-local business day since go-live, the `fecha` of the branch extracts.

One dimension (1,826 days after five years), so unlike the branch extracts it needs no window: a day
older than the branch window reads the closed month of its branches (`sucursales/meses_cerrados`).
"""

from __future__ import annotations

import warnings

import dagster as dg

from podemos_assets.config import GO_LIVE
from podemos_assets.sucursales.partitions import PARTITION_TZ
from podemos_assets.sucursales.schemas import MESES_CERRADOS

# The branch extracts' days (same zone, so the fecha -> day mapping is exact), from go-live.
PAYMENT_DAY_PARTITIONS = dg.DailyPartitionsDefinition(start_date=GO_LIVE, timezone=PARTITION_TZ)
SINGLE_RUN_BACKFILL = dg.BackfillPolicy.single_run()  # a backfill of N days is one run that merges them in order
SOURCE_TABLES = ("transacciones", "cuentas", "clientes", "calendario_pagos")


def extract_deps() -> list[dg.AssetDep]:
    """Our day depends on that day's extracts of every branch (the `fecha` dimension of the branch ETL)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # stable in practice; the branch ETL uses it too
        by_day = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="fecha")
        by_month = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="mes")
    # The tombstones detected that day too (`sucursales/bajas`): a delete re-runs the day's merge. A day older
    # than the branch window maps to no daily extract but to its closed month: re-extracting that month of
    # one branch re-merges its days.
    return [dg.AssetDep(dg.AssetKey(["sucursales", t]), partition_mapping=by_day) for t in (*SOURCE_TABLES, "bajas")
            ] + [dg.AssetDep(MESES_CERRADOS, partition_mapping=by_month)]

