"""`consolidacion_masiva`: the bulk re-consolidation of any range of extract days on Spark (DESIGN.md §3).

Launched by hand from the launchpad (history loads, multi-month reprocessing); no automation runs it. It
is a job of one op, not an asset: it writes the lake's `curated/pagos/{table}/desde=…/hasta=…/` that
Redshift `COPY` loads, not a table of the graph. The `spark` resource picks where the job runs
(PODEMOS_SPARK_MODE: Spark local, Glue or EMR Serverless); its counts come back through Dagster Pipes.
"""

from datetime import date

import dagster as dg
from pydantic import field_validator, model_validator

from podemos_assets.contracts import lake as paths
from podemos_assets.resources.lake import LakeResource
from podemos_assets.resources.spark import SparkJobResource


class RangeConfig(dg.Config):
    desde: str  # first extract day, YYYY-MM-DD
    hasta: str  # last extract day, inclusive

    @field_validator("desde", "hasta")
    @classmethod
    def _iso_day(cls, value: str, info) -> str:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError(f"{info.field_name}={value!r} is not a day: expected YYYY-MM-DD, "
                             "e.g. 2026-10-01") from None

    @model_validator(mode="after")
    def _ordered(self) -> "RangeConfig":
        if self.hasta < self.desde:
            raise ValueError(f"hasta={self.hasta} is before desde={self.desde}")
        return self


@dg.op(description="Consolidates the extract days [desde, hasta] into curated/pagos/ with the Spark job.")
def consolidar_rango(context: dg.OpExecutionContext, config: RangeConfig, lake: LakeResource,
                     spark: SparkJobResource) -> None:
    desde, hasta = date.fromisoformat(config.desde), date.fromisoformat(config.hasta)
    invocation = spark.run(context, lake.url, desde, hasta)
    reported = invocation.get_custom_messages()
    if not reported:
        raise dg.Failure(f"the Spark job ({spark.mode}) finished without reporting its counts through Pipes: "
                         "read its log (on Glue / EMR, CloudWatch logging must be on).")
    context.add_output_metadata({
        **reported[-1], **invocation.metadata,
        "destino": f"{lake.url}/{paths.payments_bulk('{pagos_historicos,pagos_cuarentena}', desde, hasta)}",
    })


@dg.job(tags={"podemos/motor": "spark"},  # the run queue runs these one at a time (deploy/dagster.prod.yaml)
        description="Bulk re-consolidation of a range of extract days on Spark (docs/production.md §5).")
def consolidacion_masiva():
    consolidar_rango()
