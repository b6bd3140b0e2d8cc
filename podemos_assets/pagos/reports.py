"""The critical payment reports: the dbt models in sql/, loaded with dagster-dbt (dbt tests become checks).

Daily models take the run's partition window as dbt vars (min_date, max_date); the broad ones read the
rollups and rebuild whole. The manifest is prepared once per content of sql/ (`make install`;
resources/dbt.py): a load only checks its digest, and parses (once, under a lock) only if sql/ changed.
"""


import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from podemos_assets.automation import after_upstream
from podemos_assets.pagos.partitions import DIARIO, UNA_CORRIDA, window_vars
from podemos_assets.resources import WAREHOUSE_POOL, WarehouseResource
from podemos_assets.resources.dbt import DBT_DIR, prepare_manifest

prepare_manifest()  # a digest check; `dbt parse` only on a clean clone or after an edit in sql/
dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)

PARTITIONED = "cobranza_diaria_sucursal cartera_en_riesgo_sucursal"
WHOLE = "resumen_mensual_sucursal historial_pagos_cliente"


class PagosTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "pagos" if dbt_resource_props["resource_type"] == "model" else super().get_group_name(dbt_resource_props)

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        return after_upstream() if dbt_resource_props["resource_type"] == "model" else None

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        return {**super().get_tags(dbt_resource_props), "podemos/audience": "analistas"}


def _vars(warehouse: WarehouseResource, extra: dict[str, str] | None = None) -> list[str]:
    values = dict(extra or {})
    if warehouse.dialect == "duckdb":
        values["warehouse_path"] = str(warehouse.duckdb_path)
    return ["--vars", json.dumps(values)]


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, select=PARTITIONED, name="reportes_diarios",
            partitions_def=DIARIO, backfill_policy=UNA_CORRIDA, pool=WAREHOUSE_POOL,
            dagster_dbt_translator=PagosTranslator())
def reportes_diarios(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Daily collections and portfolio at risk for the run's days (one dbt build for the whole range)."""
    args = ["build", *_vars(warehouse, window_vars(context.partition_keys))]
    yield from dbt.cli(args, context=context).stream()


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, select=WHOLE, name="reportes_generales",
            pool=WAREHOUSE_POOL, dagster_dbt_translator=PagosTranslator())
def reportes_generales(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Monthly summary (from the rollup) and the client-history view."""
    yield from dbt.cli(["build", *_vars(warehouse)], context=context).stream()
