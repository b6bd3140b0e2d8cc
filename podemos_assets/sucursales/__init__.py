"""Capability `sucursales`: incremental extraction of the 200 branch databases (docs/sucursales.md)."""

import dagster as dg

from podemos_assets.sucursales.assets import extraccion_sucursales
from podemos_assets.sucursales.automation import JOB, SCHEDULES, sucursales_recuperacion
from podemos_assets.sucursales.bajas import bajas_sucursales

defs = dg.Definitions(
    assets=[extraccion_sucursales, bajas_sucursales],
    jobs=[JOB],
    schedules=SCHEDULES,
    sensors=[sucursales_recuperacion],
)
