"""Partition-aware freshness: is the partition that is due *now* there? (FreshnessPolicy only looks at the
latest materialization of any partition, so a late old partition would look fresh.)

- each source: after its arrival window closes, the extract of the day it covers must exist;
- the report: after 06:00, a version for yesterday must be in the outbox (partial counts as delivered).
A failure turns into a recovery as soon as the partition lands; the alert sensor sends each once.
"""

import dagster as dg

from podemos_assets.config import GO_LIVE
from podemos_assets.regulatorio.assets import REPORT_KEY, source_key
from podemos_assets.regulatorio.deadline import last_due
from podemos_assets.regulatorio.extracts import extract_key
from podemos_assets.regulatorio.registry import DEADLINE, at, load_sources
from podemos_assets.regulatorio.report import latest_manifest
from podemos_assets.resources import LakeResource
from podemos_assets.resources.clock import ClockResource

ARRIVAL_CHECK = "llegada_a_tiempo"
DELIVERY_CHECK = "entregado_a_tiempo"

_SPECS = [
    dg.AssetCheckSpec(ARRIVAL_CHECK, asset=source_key(n),
                      description=f"the extract of the last business day is in once its window closes "
                      f"({s.window[1]:%H:%M} America/Mexico_City)")
    for n, s in load_sources().items()
] + [dg.AssetCheckSpec(DELIVERY_CHECK, asset=REPORT_KEY,
                       description="a version of yesterday's report is in the outbox after 06:00 America/Mexico_City")]


def evaluate(now, lake, outbox, selected=None) -> list[dg.AssetCheckResult]:
    """The check results at `now` (also used by the simulation tests and the demo)."""
    results = []
    for name, source in load_sources().items():
        key = dg.AssetCheckKey(source_key(name), ARRIVAL_CHECK)
        if selected is not None and key not in selected:
            continue
        fecha = last_due(now, source.window[1])
        arrived = fecha < GO_LIVE or lake.exists(extract_key(name, fecha, "_control.json"))  # nothing due before go-live
        results.append(dg.AssetCheckResult(
            asset_key=key.asset_key, check_name=ARRIVAL_CHECK, passed=arrived,
            severity=dg.AssetCheckSeverity.ERROR if source.required else dg.AssetCheckSeverity.WARN,
            description=None if arrived else f"{name} for {fecha} has not arrived; its window closed at "
            f"{source.window_on(fecha)[1]:%Y-%m-%d %H:%M}",
            metadata={"fecha": fecha, "evaluado_en": now.isoformat(timespec="seconds")}))
    key = dg.AssetCheckKey(REPORT_KEY, DELIVERY_CHECK)
    if selected is None or key in selected:
        fecha = last_due(now, DEADLINE)
        manifest = latest_manifest(fecha, outbox)
        results.append(dg.AssetCheckResult(
            asset_key=REPORT_KEY, check_name=DELIVERY_CHECK, passed=manifest is not None or fecha < GO_LIVE,
            severity=dg.AssetCheckSeverity.ERROR,
            description=None if manifest else f"no report for {fecha} delivered by {at(fecha, DEADLINE):%Y-%m-%d %H:%M}",
            metadata={"fecha": fecha, "version": manifest["version"] if manifest else 0,
                      "parcial": bool(manifest and manifest["parcial"]),
                      "a_tiempo": bool(manifest and manifest["a_tiempo"]),
                      "evaluado_en": now.isoformat(timespec="seconds")}))
    return results


@dg.multi_asset_check(specs=_SPECS, can_subset=True, name="frescura_por_particion",
                      description="Partition-aware freshness of the regulatory sources and report")
def freshness_checks(context: dg.AssetCheckExecutionContext, lake: LakeResource, outbox: LakeResource,
                     clock: ClockResource):
    yield from evaluate(clock.now(), lake, outbox, set(context.selected_asset_check_keys))


FRESHNESS_JOB = dg.define_asset_job(
    "vigilancia_frescura_regulatoria",
    selection=dg.AssetSelection.checks(*[dg.AssetCheckKey(s.asset_key, s.name) for s in _SPECS]),
    description="Evaluates the partition-aware freshness checks (scheduled every 15 minutes)",
)
