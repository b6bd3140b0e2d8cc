"""The code location: merges one `defs` per capability, adds the platform rooms' sensors (automation.py,
alertas.py, estado_particiones.py) and the resources, and applies global policies. No business logic."""

from __future__ import annotations

import dagster as dg

from podemos_assets import campo, gobierno, pagos, regulatorio, sucursales
from podemos_assets.alertas import alert_sensor
from podemos_assets.automation import automation_sensor
from podemos_assets.config import load_settings
from podemos_assets.estado_particiones import status_cache_sensor
from podemos_assets.resources import build_resources


def build_definitions(settings=None) -> dg.Definitions:
    settings = settings or load_settings()
    merged = dg.Definitions.merge(sucursales.defs, pagos.defs, campo.defs, regulatorio.defs, gobierno.defs)
    platform = dg.Definitions(sensors=[automation_sensor(), alert_sensor, status_cache_sensor],
                              resources=build_resources(settings))
    return gobierno.apply_group_policies(dg.Definitions.merge(merged, platform))


defs = build_definitions()
