"""The 15 source assets (one factory over the registry) and `reporte_regulatorio_diario`.

Partitions: America/Mexico_City days, the regulator's business day, kept rather than the branch ETL's
America/Cancun `BRANCH_DATE_PARTITIONS`: every file source, the deadlines and campo's `pagos_campo` (read by
`app_campo`, mapped day to day) are Mexico City days, and the two warehouse inputs could not be mapped day
to day even in the same zone: a `pagos_historicos` partition is an *extraction* day (`updated_at`), while a
report day gathers the payments of a *payment* date, which later extraction days can still change. Those
deps are therefore declared with AllPartitionMapping (lineage), and the arrival sensor decides which days
to re-read from the warehouse's content (see automation.py).
"""

import warnings
from datetime import datetime, timedelta

import dagster as dg

from podemos_assets.contracts import schema_metadata
from podemos_assets.contracts.vocabulary import report_files
from podemos_assets.regulatorio.errors import (
    CobranzaMismatch,
    ReconciliationMismatch,
    ReportNotDue,
    SourceFileRejected,
    SourceMissing,
)
from podemos_assets.regulatorio.extracts import ingest
from podemos_assets.regulatorio.partitions import REPORT_DAY_PARTITIONS
from podemos_assets.regulatorio.registry import CUTOFF, TZ_NAME, Source, at, load_sources
from podemos_assets.regulatorio.report import deliver, gather, missing_required
from podemos_assets.regulatorio.schemas import SOURCE_MODELS, SeccionCartera
from podemos_assets.resources import LakeResource, WarehouseResource
from podemos_assets.resources.clock import ClockResource

GROUP = "regulatorio"
REPORT_KEY = dg.AssetKey("reporte_regulatorio_diario")
SCHEMA_CHECK = "esquema_y_totales_de_control"
RECONCILIATION_CHECK = "conciliacion_al_centavo"
COBRANZA_CHECK = "cuadra_con_cobranza_diaria"
COBRANZA_KEY = dg.AssetKey("cobranza_diaria_sucursal")


def source_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["regulatorio", name])


def _outcome(key: dg.AssetKey, done: list[tuple[str, dict]], checks, failures: list[str], what: str):
    """All days good: one MaterializeResult (downstream steps of the run go on). Some failed: a materialization
    event per good day, the checks, then the failure naming every bad day."""
    checks = checks if isinstance(checks, list) else [checks]
    if not failures:
        metadata = done[0][1] if len(done) == 1 else {"dias": [f for f, _ in done], "por_dia": {f: {
            k: str(v) for k, v in m.items()} for f, m in done}}
        yield dg.MaterializeResult(metadata=metadata, check_results=checks)
        return
    for fecha, metadata in done:
        yield dg.AssetMaterialization(asset_key=key, partition=fecha, metadata=metadata)
    yield from checks
    raise dg.Failure(description=f"{what}: " + " | ".join(failures), allow_retries=False)


def _window_length(source: Source) -> timedelta:
    start, end = (datetime.combine(datetime.min, t) for t in source.window)
    return end - start


def build_source_asset(source: Source) -> dg.AssetsDefinition:
    """One source extract: daily partition, blocking schema + control-totals check, arrival-window freshness."""
    key = source_key(source.name)

    @dg.asset(
        key=key,
        partitions_def=REPORT_DAY_PARTITIONS,
        group_name=GROUP,
        owners=[source.owner],
        description=f"{source.description} Format {source.format}; arrives {source.window[0]:%H:%M}-"
        f"{source.window[1]:%H:%M} America/Mexico_City; {'required' if source.required else 'optional'} for the report.",
        metadata={**schema_metadata(SOURCE_MODELS[source.schema]), "podemos/formato": source.format,
                  "podemos/archivo": source.file, "podemos/requerida": source.required,
                  "podemos/totales_de_control": ["filas", *source.control]},
        # What it really reads: campo's pagos_campo day to day (same zone); pagos_historicos whole (a payment
        # date's rows come from any later extraction day).
        deps=[dg.AssetDep(dg.AssetKey(list(k)), partition_mapping=dg.AllPartitionMapping()
                          if source.format == "warehouse" else None) for k in source.upstream],
        check_specs=[dg.AssetCheckSpec(SCHEMA_CHECK, asset=key, blocking=True,
                                       description="pandera schema of every row and the sender's control totals "
                                       "(rows, Decimal sums) match what was read; a failing file is not stored")],
        freshness_policy=dg.FreshnessPolicy.cron(deadline_cron=source.deadline_cron,
                                                 lower_bound_delta=_window_length(source), timezone=TZ_NAME),
        kinds={"python", "parquet"},
        tags={"podemos/requerida": str(source.required).lower()},
        backfill_policy=dg.BackfillPolicy.single_run(),
        output_required=False,
    )
    def _source_asset(context: dg.AssetExecutionContext, sources: LakeResource, lake: LakeResource,
                      warehouse: WarehouseResource, clock: ClockResource):
        # One run may cover many days (single-run backfill): each good day is its own materialization, a
        # missing or refused day fails the run without touching the others.
        failures, rejected, done, per_day, now = [], [], [], {}, clock.now()
        for fecha in context.partition_keys:
            try:
                extract = ingest(source, fecha, sources, lake, now=now, warehouse=warehouse)
            except SourceMissing as exc:
                failures.append(f"{fecha}: {exc}")
                continue
            except SourceFileRejected as exc:
                failures.append(f"{fecha}: {exc}")
                rejected.append({"fecha": fecha, "archivo": exc.file, "fila": exc.row, "columna": exc.column,
                                 "tipo": type(exc).__name__, "error": str(exc)})
                per_day[fecha] = {"estado": "falla", "mensaje": f"{source.name} {fecha}: {exc.spanish()}"}
                continue
            c = extract.control
            per_day[fecha] = {"estado": "ok", "mensaje": f"{source.name} {fecha}: versión v{c['version']} aceptada"}
            done.append((fecha, {"dagster/row_count": extract.rows, "archivo": c["archivo"], "sha256": c["sha256"],
                                 "version": c["version"], "llegada": c["llegada"] or "",
                                 "extracto": lake.uri(c["parquet"]),
                                 **{f"suma_{k}": v for k, v in c["leido"]["sumas"].items()}}))
        check = dg.AssetCheckResult(
            check_name=SCHEMA_CHECK, passed=not rejected, severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(r["error"] for r in rejected)[:2000] or f"{len(done)} day(s): file accepted",
            metadata={"rechazados": rejected, "dias": len(context.partition_keys),
                      "por_dia": dg.MetadataValue.json(per_day)},
        )
        yield from _outcome(key, done, check, failures, source.name)

    return _source_asset


with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)  # BackfillPolicy.single_run is beta in 1.13; we rely on it
    SOURCE_ASSETS = [build_source_asset(s) for s in load_sources().values()]


REPORT_SPEC = dict(
    key=REPORT_KEY,
    partitions_def=REPORT_DAY_PARTITIONS,
    group_name=GROUP,
    description="Daily regulatory report of business day `fecha`: one CSV per section (portfolio by branch and "
    "product with PAR buckets, payments received, disbursements, PLD alerts, complaints, ledger, treasury, ...), an "
    "XLSX workbook and manifest.json, delivered atomically as a new version to the outbox by 06:00 "
    "America/Mexico_City (partial at the 05:30 cut-off when a required source is missing).",
    metadata={**schema_metadata(SeccionCartera), **report_files("outbox", "reporte_regulatorio/")},
    # cobranza_diaria_sucursal is read by the blocking check; its partitions are America/Cancun days, which
    # Dagster cannot map to Mexico City days (lineage edge only).
    deps=[*(source_key(n) for n in load_sources()),
          dg.AssetDep(COBRANZA_KEY, partition_mapping=dg.AllPartitionMapping())],
    check_specs=[dg.AssetCheckSpec(RECONCILIATION_CHECK, asset=REPORT_KEY, blocking=True,
                                   description="Every section equals its sources (read and declared) to the cent; "
                                   "a difference stops delivery"),
                 dg.AssetCheckSpec(COBRANZA_CHECK, asset=REPORT_KEY, blocking=True,
                                   description="The branch-payment section equals the dbt model "
                                   "cobranza_diaria_sucursal per branch (payments and net amount), to the cent; a "
                                   "difference stops delivery")],
    freshness_policy=dg.FreshnessPolicy.cron(deadline_cron="0 6 * * *", lower_bound_delta=timedelta(hours=4),
                                             timezone=TZ_NAME),
    kinds={"python", "csv", "xlsx"},
    backfill_policy=dg.BackfillPolicy.single_run(),
    output_required=False,
)


def _report(context: dg.AssetExecutionContext, lake: LakeResource, outbox: LakeResource, clock: ClockResource,
            warehouse: WarehouseResource):
    now, failures, done = clock.now(), [], []
    mismatches = {RECONCILIATION_CHECK: [], COBRANZA_CHECK: []}
    per_day = {RECONCILIATION_CHECK: {}, COBRANZA_CHECK: {}}
    check_failures = {RECONCILIATION_CHECK: [], COBRANZA_CHECK: []}
    for fecha in context.partition_keys:  # one run may deliver several days (catch-up, demo)
        missing = missing_required(gather(fecha, lake)[0])
        if missing and now < at(fecha, CUTOFF):
            failures.append(str(ReportNotDue(
                f"{fecha}: required sources {missing} have not arrived; a partial report is delivered only after "
                f"the cut-off {at(fecha, CUTOFF):%Y-%m-%d %H:%M} America/Mexico_City")))
            continue
        try:
            delivery = deliver(fecha, lake, outbox, now, warehouse=warehouse)
        except ReconciliationMismatch as exc:
            check = COBRANZA_CHECK if isinstance(exc, CobranzaMismatch) else RECONCILIATION_CHECK
            failures.append(f"{fecha}: {exc}")
            check_failures[check].append(f"{fecha}: {exc}")
            mismatches[check].extend({"fecha": fecha, **d} for d in exc.differences)
            per_day[check][fecha] = {"estado": "falla", "mensaje": f"{fecha}: {exc}"[:500]}
            if check == COBRANZA_CHECK:
                per_day[RECONCILIATION_CHECK][fecha] = {"estado": "ok", "mensaje": f"{fecha}: cuadra con sus fuentes"}
            continue
        m = delivery.manifest
        for check in per_day:
            per_day[check][fecha] = {"estado": "ok", "mensaje": f"{fecha}: cuadra (v{delivery.version})"}
        context.log.info(f"{fecha} v{delivery.version} {'PARTIAL ' if m['parcial'] else ''}"
                         f"{'delivered' if delivery.new else 'already delivered (same content)'}")
        done.append((fecha, {"version": delivery.version, "nueva_version": delivery.new, "parcial": m["parcial"],
                             "faltantes_requeridas": m["faltantes_requeridas"], "excepciones": len(m["excepciones"]),
                             "entregado_en": m["entregado_en"], "a_tiempo": m["a_tiempo"],
                             "contenido_sha256": m["contenido_sha256"],
                             "outbox": outbox.uri(f"reporte_regulatorio/{fecha}/v{delivery.version}/")}))
    checks = [dg.AssetCheckResult(check_name=name, passed=not mismatches[name],
                                  description=" | ".join(check_failures[name])[:2000]
                                  or f"{len(context.partition_keys)} day(s): the report reconciles to the cent",
                                  metadata={"diferencias": mismatches[name], "dias": len(context.partition_keys),
                                            "por_dia": dg.MetadataValue.json(per_day[name])})
              for name in (RECONCILIATION_CHECK, COBRANZA_CHECK)]
    yield from _outcome(REPORT_KEY, done, checks, failures, "reporte_regulatorio_diario")


with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    reporte_regulatorio_diario = dg.asset(**REPORT_SPEC)(_report)
