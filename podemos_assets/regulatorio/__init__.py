"""Capability `regulatorio`: 15 source extracts, the daily regulatory report and its deadline machinery
(see docs/regulatorio.md; its failures are alerted by the platform's alert room, podemos_assets/alertas.py).
Exposes `defs`, merged by definitions.py."""

import dagster as dg

from podemos_assets.regulatorio.assets import SOURCE_ASSETS, reporte_regulatorio_diario
from podemos_assets.regulatorio.automation import (
    REPORT_JOB,
    SOURCES_JOB,
    arrival_sensor,
    delivery_sensor,
    freshness_watch,
)
from podemos_assets.regulatorio.checks import FRESHNESS_JOB, freshness_checks

defs = dg.Definitions(
    assets=[*SOURCE_ASSETS, reporte_regulatorio_diario],
    asset_checks=[freshness_checks],
    jobs=[REPORT_JOB, SOURCES_JOB, FRESHNESS_JOB],
    sensors=[arrival_sensor, delivery_sensor, freshness_watch],
)
