"""Partitions of `pagos`: the branch-local business day, the same `fecha` as the branch extracts."""

from __future__ import annotations

import warnings

import dagster as dg

from podemos_assets.sucursales.partitions import BRANCH_DATE_PARTITIONS

# The very `fecha` dimension of the branch extracts (same zone), so the fecha -> day mapping is exact.
PAYMENT_DAY_PARTITIONS = BRANCH_DATE_PARTITIONS
SINGLE_RUN_BACKFILL = dg.BackfillPolicy.single_run()  # a backfill of N days is one run that merges them in order
SOURCE_TABLES = ("transacciones", "cuentas", "clientes", "calendario_pagos")


def extract_deps() -> list[dg.AssetDep]:
    """Our day depends on that day's extracts of every branch (the `fecha` dimension of the branch ETL)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # stable in practice; the branch ETL uses it too
        mapping = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="fecha")
    # The tombstones detected that day too (`sucursales/bajas`): a delete re-runs the day's merge.
    return [dg.AssetDep(dg.AssetKey(["sucursales", t]), partition_mapping=mapping) for t in (*SOURCE_TABLES, "bajas")]

