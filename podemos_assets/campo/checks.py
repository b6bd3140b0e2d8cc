"""The field capability's checks:

- `esquema_pandera` on every curated table, the quarantine and the metrics (blocking; computed by the run
  that writes them, over the days it wrote);
- the heartbeat: a region or device whose newest field event is older than a threshold is silent (a dead
  phone, an officer who stopped syncing, a region without signal); each failing evaluation sends one alert
  listing them."""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pandas as pd
import pandera.errors

from podemos_assets.campo import metrics
from podemos_assets.contracts import lake as paths
from podemos_assets.resources.alerts import AlertsResource
from podemos_assets.resources.lake import LakeResource


def schema_check_specs(assets) -> list[dg.AssetCheckSpec]:
    """Each curated table (the quarantine and the metrics too) carries its pandera schema as a blocking check:
    a day whose stored files break their schema stops the run before the next asset reads it."""
    return [dg.AssetCheckSpec("esquema_pandera", asset=a, blocking=True,
                              description="The partition's stored Parquet validates against its pandera model")
            for a in assets]


def schema_check(lake: LakeResource, asset_key: dg.AssetKey, model, keys: list[str]) -> dg.AssetCheckResult:
    """Validate the stored files of the run's days against `model`; the failure names table and check."""
    failures: dict[str, str] = {}
    rows = 0
    for key in keys:
        table = lake.read_parquet(key)
        rows += table.num_rows
        try:
            model.validate(table.to_pandas(types_mapper=pd.ArrowDtype), lazy=True)
        except pandera.errors.SchemaErrors as exc:
            cases = exc.failure_cases
            failures[key] = "; ".join(sorted({f"{c} failed {k}" for c, k in zip(cases["column"], cases["check"])}))
    return dg.AssetCheckResult(asset_key=asset_key, check_name="esquema_pandera", passed=not failures,
                               severity=dg.AssetCheckSeverity.ERROR,
                               description=("; ".join(f"{k}: {v}" for k, v in sorted(failures.items()))[:1000]
                                            or f"{len(keys)} file(s), {rows} row(s) match the pandera model"),
                               metadata={"files": len(keys), "rows": rows, "failures": failures})


class HeartbeatConfig(dg.Config):
    umbral_horas: float = 48.0  # silence longer than this is flagged (weekends: raise it, not the rule)
    ventana_dias: int = 14  # devices and regions seen in this many days are expected to keep talking
    ahora: str | None = None  # ISO time to evaluate at (tests, replays); default: now


def last_seen(lake: LakeResource, now: datetime, window_days: int) -> tuple[dict, dict]:
    """Newest corrected event time per device and per region over the window, from the curated index."""
    first = (now - timedelta(days=window_days)).date()
    devices: dict[str, datetime] = {}
    regions: dict[str, datetime] = {}
    for key in lake.list(paths.field_table_prefix("eventos")):
        day = date.fromisoformat(key.split("fecha_evento=")[1].split("/")[0])
        if day < first:
            continue
        table = lake.read_parquet(key).select(["device_id", "region", "hora_evento"])
        for row in table.to_pylist():
            devices[row["device_id"]] = max(devices.get(row["device_id"], row["hora_evento"]), row["hora_evento"])
            region = row["region"] or "sin_region"
            regions[region] = max(regions.get(region, row["hora_evento"]), row["hora_evento"])
    return devices, regions


@dg.asset_check(asset="metricas_campo", name="latido_campo", blocking=False,
                description="Flags every region and device silent for longer than umbral_horas (config), "
                            "and sends an alert through the alerts resource.")
def latido_campo(config: HeartbeatConfig, lake: LakeResource, alerts: AlertsResource) -> dg.AssetCheckResult:
    now = datetime.fromisoformat(config.ahora) if config.ahora else datetime.now(UTC)
    devices, regions = last_seen(lake, now, config.ventana_dias)
    silent_devices = metrics.silent(devices, now, config.umbral_horas)
    silent_regions = metrics.silent(regions, now, config.umbral_horas)
    passed = not silent_devices and not silent_regions
    if not passed:
        alerts.send(
            "failure", "campo: latido",
            f"{len(silent_regions)} region(s) and {len(silent_devices)} device(s) without field events for more "
            f"than {config.umbral_horas:g} h: regions {sorted(silent_regions)}; check signal, devices and officers.",
            regiones_silenciosas=silent_regions, dispositivos_silenciosos=silent_devices,
        )
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"every region and device sent events within {config.umbral_horas:g} h" if passed else
                     f"silent for more than {config.umbral_horas:g} h: {len(silent_regions)} region(s) "
                     f"{sorted(silent_regions)}, {len(silent_devices)} device(s)"),
        metadata={"regiones_silenciosas": silent_regions, "dispositivos_silenciosos": silent_devices,
                  "dispositivos_vistos": len(devices), "regiones_vistas": len(regions),
                  "umbral_horas": config.umbral_horas},
    )
