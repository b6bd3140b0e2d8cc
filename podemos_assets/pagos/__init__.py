"""Capability `pagos`: the payments warehouse (pagos_historicos, quarantine, dimensions, rollups), the
critical reports (dbt, sql/) and the layout-health checks. See docs/pagos.md and DESIGN.md §3."""

import dagster as dg

from podemos_assets.pagos.assets import pagos_merge
from podemos_assets.pagos.automation import COMPACTION_JOB, compaction_sensor
from podemos_assets.pagos.bulk import consolidacion_masiva
from podemos_assets.pagos.checks import CHECKS
from podemos_assets.pagos.reports import reportes_diarios, reportes_generales

defs = dg.Definitions(assets=[pagos_merge, reportes_diarios, reportes_generales], asset_checks=CHECKS,
                      jobs=[consolidacion_masiva, COMPACTION_JOB], sensors=[compaction_sensor])
