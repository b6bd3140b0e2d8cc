"""Capability `sucursales`: incremental extraction of the 200 branch databases (docs/sucursales.md)."""

import dagster as dg

from podemos_assets.sucursales.assets import extraccion_sucursales
from podemos_assets.sucursales.automation import sucursales_automatizacion
from podemos_assets.sucursales.conciliacion import conciliacion_sucursales
from podemos_assets.sucursales.meses_cerrados import meses_cerrados

defs = dg.Definitions(
    assets=[extraccion_sucursales, conciliacion_sucursales, meses_cerrados],
    sensors=[sucursales_automatizacion],
)
