"""Capability `campo`: field events from officers' devices (see docs/campo.md and shared DESIGN.md §3).

The ingestion service (`ingesta.app`, `ingesta.lambda_handler`) writes the landing zone; these definitions
build the curated tables and metrics from it. Exposes `defs`, merged by definitions.py.
"""

import dagster as dg

from podemos_assets.campo.assets import eventos_campo, metricas_campo
from podemos_assets.campo.automation import campo_landing_sensor
from podemos_assets.campo.checks import latido_campo

defs = dg.Definitions(
    assets=[eventos_campo, metricas_campo],
    asset_checks=[latido_campo],
    sensors=[campo_landing_sensor],
)
