"""gobierno's assets: the data catalog export and the PII scan of analyst-facing outputs.

Both read the whole graph of the running repository (`context.repository_def`), never the
capabilities' modules, so a new asset is catalogued and scanned as soon as it is defined.
"""


import hashlib

import dagster as dg
import pandas as pd
import pyarrow as pa

from podemos_assets.contracts.vocabulary import Audience, report_files, schema_metadata
from podemos_assets.gobierno.automation import AFTER_THE_NIGHT
from podemos_assets.gobierno.catalog import column_rows, datazone_document, openlineage_document, to_json_bytes
from podemos_assets.gobierno.checks import SIN_PII_EXPUESTA
from podemos_assets.gobierno.gate import governance_violations
from podemos_assets.gobierno.inventory import inventory
from podemos_assets.gobierno.pii import Finding
from podemos_assets.gobierno.policies import GovernedGraph
from podemos_assets.gobierno.scan import scan_files, scan_relation
from podemos_assets.gobierno.schemas import CatalogoColumna, HallazgoPii
from podemos_assets.resources import WAREHOUSE_POOL, LakeResource, WarehouseResource
from podemos_assets.resources.lake import write_parquet_bytes

CATALOG_PREFIX = "gobierno/catalogo/"
FINDINGS_KEY = "gobierno/escaneo_pii/hallazgos.parquet"


def running_graph(context: dg.AssetExecutionContext, grafo: GovernedGraph) -> dg.Definitions | dg.RepositoryDefinition:
    """The whole graph of the running code location (never the capabilities' modules)."""
    try:
        return context.repository_def
    except Exception:  # dagster's CheckError: in-process runs carry no repository; use what the policies saw
        if grafo.definitions is None:
            raise RuntimeError("gobierno needs the definitions: build them with gobierno.apply_group_policies(...)") from None
        return grafo.definitions


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dg.asset(
    group_name="gobierno",
    description=(
        "The data catalog of every asset in the platform, exported as OpenLineage datasets (schema, "
        "column lineage, ownership, classification tags) and as a DataZone-style listing an "
        "administrator can import, plus one row per column. Also counts the governance gate's violations."
    ),
    metadata={**schema_metadata(CatalogoColumna), **report_files("lake", CATALOG_PREFIX)},
    kinds={"json", "parquet"},
    automation_condition=AFTER_THE_NIGHT,
)
def catalogo_datos(
    context: dg.AssetExecutionContext, lake: LakeResource, gobierno_grafo: dg.ResourceParam[GovernedGraph]
) -> dg.MaterializeResult:
    repository = running_graph(context, gobierno_grafo)
    assets = inventory(repository)
    files = {
        "openlineage.json": to_json_bytes(openlineage_document(assets)),
        "datazone.json": to_json_bytes(datazone_document(assets)),
        "columnas.parquet": write_parquet_bytes(
            pa.Table.from_pylist(column_rows(assets), schema=pa.schema([(n, pa.string()) for n in CatalogoColumna.to_schema().columns]))
        ),
    }
    for name, data in files.items():
        lake.write_bytes(CATALOG_PREFIX + name, data)
    violations = governance_violations(repository)
    if violations:
        context.log.warning(f"{len(violations)} governance violations; first: {violations[0]}")
    columns = [c for a in assets for c in a.columns]
    return dg.MaterializeResult(
        metadata={
            "assets": len(assets),
            "columns": len(columns),
            "pii_columns": sum(c["classification"] == "pii" for c in columns),
            "columns_with_lineage": sum(len(a.column_lineage) for a in assets),
            "governance_violations": len(violations),
            "violations": dg.MetadataValue.md("\n".join(f"- {v}" for v in violations[:50]) or "none"),
            **{f"sha256/{n}": _sha(d) for n, d in files.items()},
            "location": dg.MetadataValue.url(lake.uri(CATALOG_PREFIX)),
        }
    )


@dg.asset(
    group_name="gobierno",
    description=(
        "Scan of every analyst-facing output (assets tagged podemos/audience=analistas: warehouse "
        "relations and report files) for Mexican PII by pattern: CURP, RFC, CLABE, phone, INE voter key. "
        "One row per (output, column, kind) found, with a masked sample; the check fails on any finding."
    ),
    metadata=schema_metadata(HallazgoPii),
    pool=WAREHOUSE_POOL,
    automation_condition=AFTER_THE_NIGHT,
    kinds={"parquet"},
    check_specs=[SIN_PII_EXPUESTA],
)
def escaneo_pii(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    outbox: LakeResource,
    sources: LakeResource,
    warehouse: WarehouseResource,
    gobierno_grafo: dg.ResourceParam[GovernedGraph],
):
    lakes = {"lake": lake, "outbox": outbox, "sources": sources}
    targets = [a for a in inventory(running_graph(context, gobierno_grafo)) if a.audience == Audience.ANALISTAS.value]
    findings: list[Finding] = []
    scanned, skipped = [], []
    tables = [a for a in targets if a.layout is not None and a.layout.table]
    if tables:
        if not warehouse.embedded:  # the scan runs DuckDB's RE2 patterns in-process, over the embedded file
            skipped += [f"{a.key}: not an embedded warehouse, scanned by the Redshift job" for a in tables]
        elif not warehouse.exists():
            skipped += [f"{a.key}: warehouse not created yet" for a in tables]
        else:
            with warehouse.connect(read_only=True) as con:
                for a in tables:
                    found, exists = scan_relation(con, a.key, a.layout.table, a.pii_columns)
                    findings += found
                    (scanned if exists else skipped).append(a.layout.table if exists else f"{a.key}: not materialized")
    for a in targets:
        if a.files:
            resource, prefix = a.files
            if resource not in lakes:
                skipped.append(f"{a.key}: unknown resource {resource!r}")
                continue
            found, n, total = scan_files(lakes[resource], a.key, prefix)
            findings += found
            scanned.append(f"{resource}:{prefix} (newest {n} of {total} files)")
    for a in targets:
        if (a.layout is None or not a.layout.table) and not a.files:
            skipped.append(f"{a.key}: declares neither dagster/table_name nor podemos/files")

    rows = pd.DataFrame(
        [[f.asset, f.location, f.column, f.kind, f.matches, f.sample] for f in findings],
        columns=list(HallazgoPii.to_schema().columns),
    ).astype({"coincidencias": "int64"})
    HallazgoPii.validate(rows)
    lake.write_parquet(FINDINGS_KEY, pa.Table.from_pandas(rows, preserve_index=False))
    summary = "\n".join(f"- {f.asset} · {f.location} · {f.column}: {f.kind} x{f.matches} ({f.sample})" for f in findings)
    yield dg.MaterializeResult(
        metadata={
            "targets": len(targets),
            "findings": len(findings),
            "scanned": dg.MetadataValue.md("\n".join(f"- {s}" for s in scanned) or "none"),
            "skipped": dg.MetadataValue.md("\n".join(f"- {s}" for s in skipped) or "none"),
            "location": dg.MetadataValue.url(lake.uri(FINDINGS_KEY)),
        }
    )
    yield dg.AssetCheckResult(
        check_name="sin_pii_expuesta",
        passed=not findings,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            "no PII value reaches the analysts' tables unmasked"
            if not findings
            else "PII reaches analysts: mask these columns from their classification (gobierno.pii.mask_frame / "
            "masking_view_sql) or fix the classification."
        ),
        metadata={"findings": len(findings), "detail": dg.MetadataValue.md(summary or "none")},
    )
