"""Partition-aware freshness, per day: every business day still open is judged, not only the one due now.

`FreshnessPolicy` looks at the asset's latest materialization of any partition, so a late old day would look
fresh; Dagster's `build_time_partition_freshness_checks` asks only "was the latest partition materialized by
its deadline", which cannot tell a complete delivery from a partial one, nor judge a day by when its *first
complete* version reached the outbox. Hence these checks, judged every minute by the sensor
`vigilancia_frescura_regulatoria` and recorded (a run) when a day's verdict changes:

- `llegada_a_tiempo` (each source): for every open day whose arrival window has closed, the day must have a
  good extract (ERROR for a required source, WARN for an optional one); it recovers when one arrives;
- `entregado_a_tiempo` (the report), for every open day whose 05:30 cut-off has passed:
  ok when a complete version was delivered by 06:00:00; WARN ("aviso") when only a partial one was on time
  (from the cut-off on: a partial is loud); ERROR ("falla") after 06:00 when nothing on time was delivered
  (late is late: a complete version at 06:00:01 never makes the day pass).
Each result carries `por_dia` metadata (day -> estado, mensaje); the platform's alert sensor
(podemos_assets/alertas.py) alerts per day from it.
"""

import dagster as dg

from podemos_assets.config import GO_LIVE
from podemos_assets.regulatorio.assets import REPORT_KEY, source_key
from podemos_assets.regulatorio.deadline import open_dates
from podemos_assets.regulatorio.extracts import extract_key
from podemos_assets.regulatorio.registry import CUTOFF, DEADLINE, at, load_sources
from podemos_assets.regulatorio.report import read_manifest, versions
from podemos_assets.resources import LakeResource
from podemos_assets.resources.clock import ClockResource

ARRIVAL_CHECK = "llegada_a_tiempo"
DELIVERY_CHECK = "entregado_a_tiempo"
OK, WARN, FAIL = "ok", "aviso", "falla"

_SPECS = [
    dg.AssetCheckSpec(ARRIVAL_CHECK, asset=source_key(n),
                      description=f"every open day has its extract once its window closes "
                      f"({s.window[1]:%H:%M} America/Mexico_City)")
    for n, s in load_sources().items()
] + [dg.AssetCheckSpec(DELIVERY_CHECK, asset=REPORT_KEY,
                       description="per open day: a complete version delivered by 06:00:00 America/Mexico_City "
                       "(warns when only a partial one was on time, fails when nothing on time)")]


def judge_delivery(fecha: str, manifests: list[dict], now) -> dict | None:
    """One day's deadline state at `now` (None: not judged yet, the cut-off has not passed)."""
    if now < at(fecha, CUTOFF):
        return None
    on_time = [m for m in manifests if m["a_tiempo"]]
    complete = next((m for m in manifests if not m["parcial"]), None)
    if any(not m["parcial"] for m in on_time):
        v = next(m for m in on_time if not m["parcial"])
        return {"estado": OK, "mensaje": f"{fecha}: completo a tiempo (v{v['version']}, {v['entregado_en']})"}
    if on_time:
        v = on_time[0]
        later = f"; completo tarde en v{complete['version']} ({complete['entregado_en']})" if complete else \
            "; aún sin versión completa"
        return {"estado": WARN, "mensaje": f"{fecha}: solo se entregó a tiempo una versión PARCIAL (v{v['version']}, "
                f"faltaban {', '.join(v['faltantes_requeridas'] + v.get('rechazadas_sin_version', []))}){later}"}
    if now <= at(fecha, DEADLINE):
        return None  # nothing yet, and 06:00 has not passed
    if manifests:
        m = complete or manifests[0]
        return {"estado": FAIL, "mensaje": f"{fecha}: entregado TARDE (primera versión v{manifests[0]['version']} a las "
                f"{manifests[0]['entregado_en']}; límite {at(fecha, DEADLINE):%Y-%m-%d %H:%M})"
                + ("" if complete is None else f"; primera completa v{m['version']}")}
    return {"estado": FAIL, "mensaje": f"{fecha}: no se entregó ninguna versión antes de las "
            f"{at(fecha, DEADLINE):%Y-%m-%d %H:%M}"}


def _result(key: dg.AssetCheckKey, per_day: dict, now, fail_severity) -> dg.AssetCheckResult:
    bad = {d: r for d, r in per_day.items() if r["estado"] != OK}
    severity = fail_severity if any(r["estado"] == FAIL for r in bad.values()) else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        asset_key=key.asset_key, check_name=key.name, passed=not bad, severity=severity,
        description=" | ".join(r["mensaje"] for r in bad.values())[:2000]
        or (f"{len(per_day)} open day(s) judged: all ok" if per_day else "no open day is due yet"),
        metadata={"por_dia": dg.MetadataValue.json(per_day), "evaluado_en": now.isoformat(timespec="seconds"),
                  "dias_con_problema": sorted(bad)})


def evaluate(now, lake, outbox, selected=None) -> list[dg.AssetCheckResult]:
    """The check results at `now`: one per check, judging every open day."""
    results, days = [], [d for d in open_dates(now) if d >= GO_LIVE]
    for name, source in load_sources().items():
        key = dg.AssetCheckKey(source_key(name), ARRIVAL_CHECK)
        if selected is not None and key not in selected:
            continue
        per_day = {}
        for fecha in days:
            closes = source.window_on(fecha)[1]
            if now < closes:
                continue
            arrived = lake.exists(extract_key(name, fecha, "_control.json"))
            per_day[fecha] = {"estado": OK, "mensaje": f"{name} {fecha}: llegó"} if arrived else {
                "estado": FAIL if source.required else WARN,
                "mensaje": f"{name} {fecha}: no ha llegado; su ventana cerró a las {closes:%Y-%m-%d %H:%M}"}
        severity = dg.AssetCheckSeverity.ERROR if source.required else dg.AssetCheckSeverity.WARN
        results.append(_result(key, per_day, now, severity))
    key = dg.AssetCheckKey(REPORT_KEY, DELIVERY_CHECK)
    if selected is None or key in selected:
        per_day = {}
        for fecha in days:
            verdict = judge_delivery(fecha, [read_manifest(fecha, v, outbox) for v in versions(fecha, outbox)], now)
            if verdict is not None:
                per_day[fecha] = verdict
        results.append(_result(key, per_day, now, dg.AssetCheckSeverity.ERROR))
    return results


@dg.multi_asset_check(specs=_SPECS, can_subset=True, name="frescura_por_particion",
                      description="Per-day freshness of the regulatory sources and report")
def freshness_checks(context: dg.AssetCheckExecutionContext, lake: LakeResource, outbox: LakeResource,
                     clock: ClockResource):
    yield from evaluate(clock.now(), lake, outbox, set(context.selected_asset_check_keys))


FRESHNESS_JOB = dg.define_asset_job(
    "vigilancia_frescura_regulatoria",
    selection=dg.AssetSelection.checks(*[dg.AssetCheckKey(s.asset_key, s.name) for s in _SPECS]),
    description="Records the per-day freshness checks (requested by its sensor when a verdict changes)",
)
