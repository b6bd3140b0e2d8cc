"""The critical payment reports: the dbt models in sql/, loaded with dagster-dbt (dbt tests become checks).

Daily models take the run's partition window as the environment variables PODEMOS_DBT_MIN_DATE (inclusive)
and PODEMOS_DBT_MAX_DATE (exclusive), not as `--vars`, which would make dbt re-parse the whole project on
every build (resources/dbt_cli.py); the broad ones read the rollups and rebuild whole. The manifest is prepared once per content of sql/ (`make install`;
resources/dbt.py): a load only checks its digest, and parses (once, under a lock) only if sql/ changed.
Each group gets the manifest restricted to its models and names them for the build (`dbt_group`): dagster-dbt would evaluate a `select=` with dbt-core in process, which lives in its own venv.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DbtProject, dbt_assets

from podemos_assets.contracts.dbt import GovernedDbtTranslator
from podemos_assets.pagos.automation import AFTER_THE_MERGE
from podemos_assets.pagos.partitions import PAYMENT_DAY_PARTITIONS, SINGLE_RUN_BACKFILL
from podemos_assets.resources import WAREHOUSE_POOL
from podemos_assets.resources.dbt import DBT_DIR, dbt_group, prepare_manifest
from podemos_assets.resources.dbt_cli import PodemosDbtCliResource

prepare_manifest()  # a digest check; `dbt parse` only on a clean clone or after an edit in sql/
dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)

PARTITIONED = "cobranza_diaria_sucursal cartera_en_riesgo_sucursal"
WHOLE = "resumen_mensual_sucursal historial_pagos_cliente"


class PagosTranslator(GovernedDbtTranslator):  # + classification, sort/dist key as the vocabulary says
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "pagos" if dbt_resource_props["resource_type"] == "model" else super().get_group_name(dbt_resource_props)

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        return AFTER_THE_MERGE if dbt_resource_props["resource_type"] == "model" else None

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        # The model's own words (dagster-dbt appends the raw SQL, which buries them in the UI).
        props = dbt_resource_props
        return props.get("description") or f"dbt {props['resource_type']} {props['name']}"

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        return {**super().get_tags(dbt_resource_props), "podemos/audience": "analistas"}


@dbt_assets(**dbt_group(PARTITIONED), project=dbt_project, name="reportes_diarios",
            partitions_def=PAYMENT_DAY_PARTITIONS, backfill_policy=SINGLE_RUN_BACKFILL, pool=WAREHOUSE_POOL,
            dagster_dbt_translator=PagosTranslator())
def reportes_diarios(context: dg.AssetExecutionContext, dbt: PodemosDbtCliResource):
    """Daily collections and portfolio at risk for the run's days (one dbt build for the whole range)."""
    window = context.partition_time_window  # the run's days, end exclusive, in the partitions' zone
    yield from dbt.build(context, {"PODEMOS_DBT_MIN_DATE": window.start.date().isoformat(),
                                   "PODEMOS_DBT_MAX_DATE": window.end.date().isoformat()})


@dbt_assets(**dbt_group(WHOLE), project=dbt_project, name="reportes_generales", pool=WAREHOUSE_POOL,
            dagster_dbt_translator=PagosTranslator())
def reportes_generales(context: dg.AssetExecutionContext, dbt: PodemosDbtCliResource):
    """Monthly summary (from the rollup) and the client-history view."""
    yield from dbt.build(context)
